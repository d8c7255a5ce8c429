//! ocd: a self-hosted, real-time dashboard for AI coding agents.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod auth;
pub mod client;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod datadir;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod linear;
pub mod notify;
pub mod percent;
pub mod routes;
pub mod service;
pub mod state;
pub mod web;
