//! Plan (desired vs live vs state) and apply (a concurrent walk of the graph that records every
//! completed operation in the state file).

mod apply;
mod destroy;
pub mod hub;
mod plan;
pub mod sweep;

/// Operations in flight at once by default (`--parallelism`).
pub use crate::resources::CONCURRENCY;
pub use apply::{apply, spec_hash, Outcome, ResourceResult};
pub use destroy::destroy;
pub use plan::{
    plan, plan_owned, securityhub_off_error, Action, Plan, Planned, ResourceStatus, Status,
};

/// Reads in flight at once while planning: reads change nothing, so every resource is read in one
/// concurrent round (the SDK backs off if a service throttles).
pub const READS: usize = 64;

/// Receives progress events; the text and JSON reporters implement it.
pub trait Progress: Send + Sync {
    /// An operation on `address` starts.
    fn begin(&self, address: &str, action: Action);
    /// It ended, with an error message if it failed.
    fn end(&self, address: &str, action: Action, error: Option<&str>);
}

/// A reporter that shows nothing (tests, JSON without a terminal).
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _: &str, _: Action) {}
    fn end(&self, _: &str, _: Action, _: Option<&str>) {}
}
