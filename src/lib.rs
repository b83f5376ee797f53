//! secauto: a deployer for an event-driven AWS security-response stack.
//!
//! The program is [`main`]; the library exposes only what the integration tests drive directly
//! (single resource kinds, the engine, the state, the graph).

mod app;
pub mod aws;
pub mod bundle;
mod cli;
mod commands;
pub mod config;
mod dist;
pub mod engine;
pub mod error;
mod exit;
mod fleet;
pub mod graph;
mod interrupt;
mod logging;
mod report;
pub mod resources;
pub mod retry;
mod saved_plan;
mod session;
pub mod stack;
pub mod state;
pub mod verify;

pub use app::{main, run_args};
