//! JSON handlers, one file per resource; `src/routes.rs` is the complete route table.

pub mod agent_actions;
pub mod agent_tasks;
pub mod agents;
pub mod alerts;
pub mod analytics;
pub mod api_keys;
pub mod approvals;
pub mod auth;
pub mod channels;
pub mod commands;
pub mod events;
pub mod ingest;
pub mod linear;
pub mod links;
pub mod messages;
pub mod ops;
pub mod projects;
pub mod sessions;
pub mod settings;
pub mod sprints;
pub mod team;
pub mod todos;
pub mod v2;
pub mod workflow;
