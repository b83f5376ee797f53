//! secauto: a deployer for an event-driven AWS security-response stack.
//!
//! The binary's commands live in `commands`; the library exposes the pieces so the integration tests
//! can drive single resource kinds (Security Hub ones through aws-smithy-mocks).

pub mod aws;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dist;
pub mod engine;
pub mod error;
pub mod fleet;
pub mod graph;
pub mod interrupt;
pub mod report;
pub mod resources;
pub mod retry;
pub mod saved_plan;
pub mod simulate;
pub mod stack;
pub mod state;
