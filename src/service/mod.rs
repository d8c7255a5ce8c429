//! The service layer: each operation of a capability, with its rules, in one write unit —
//! called by HTTP handlers, pages, the scheduler and (later) ingest, alerting and Linear, so
//! no rule is written twice. Pure rules stay in `domain/`, SQL in `db/`.

pub mod agent_views;
pub mod agents;
pub mod alert_rules;
pub mod alerting;
pub mod analytics;
pub mod approval_links;
pub mod approvals;
pub mod channels;
pub mod commands;
pub mod keys;
pub mod lifecycle;
pub mod linear;
pub mod messages;
pub mod people;
pub mod planner;
pub mod projects;
pub mod registry;
pub mod sessions;
pub mod sprints;
pub mod sweep;
pub mod tasks;
pub mod todos;
pub mod usage;
pub mod workflows;
