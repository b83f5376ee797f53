//! The logic of secauto's Lambda handlers, with no AWS SDK in it: parsing findings (ASFF and OCSF)
//! and EventBridge envelopes, the ordered triage policy, the response events triage emits,
//! remediation plans and the notification messages. The `bootstrap` binary wires this to the AWS APIs.
//! (The `sdk` feature adds the one retry rule the CLI's and the handlers' SDK clients share.)

pub mod action;
pub mod calls;
pub mod controls;
pub mod envelope;
pub mod finding;
pub mod fleet;
pub mod message;
pub mod names;
pub mod ocsf;
pub mod policy;
pub mod response;
#[cfg(feature = "sdk")]
pub mod retry;
pub mod triage;
pub mod verify;

pub use envelope::{parse_input, Input, InputError};
pub use finding::{Finding, OcsfIdentity, Severity};
pub use policy::{Action, Decision, Mode, Policy, Rule};
pub use response::ResponseEvent;

/// How long remediation follows the isolation automation unless told otherwise: the default of
/// `[remediation] automation_wait_seconds`, and the handler's when `AUTOMATION_WAIT_SECONDS` is unset.
pub const DEFAULT_AUTOMATION_WAIT_SECONDS: u64 = 45;

/// The least timeout deploy gives the remediation function, whatever `[lambda] timeout_seconds`
/// says: isolation passes an interface through the all-traffic group only with 65 s left to
/// repair a failed move and close the group, retrying through EC2's throttling.
pub const REMEDIATION_MIN_TIMEOUT_SECONDS: i32 = 120;
