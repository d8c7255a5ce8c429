//! The integration suite: the real server over HTTP, on SQLite and on PostgreSQL (decisions.md#both-backends).

mod harness;

mod auth_helpers;
mod browser;
mod chrome;
mod fake_anthropic;
mod fake_github;
mod fake_model;
mod fake_receiver;

mod agents;
mod alerting;
mod analytics;
mod channels;
mod claude_code;
mod claude_code_e2e;
mod commands;
mod events_messages;
mod fuzz;
mod hardening;
mod hook_cli;
mod hooks;
mod ingest;
mod keys;
mod lifecycle;
mod matrix;
mod opencode_e2e;
mod ops;
mod otlp;
mod pages;
mod people;
mod process;
mod procs;
mod progress;
mod projects;
mod replicas;
mod security;
mod sprints;
mod stream;
mod todos;
mod v2;
mod web_analytics;
mod web_browser;
mod web_sprints;
mod workflow;
mod writer;
