//! Clients for mocked tests: every service points at a closed loopback port, so a test that swaps
//! in an aws-smithy-mocks client for one service can never reach another by accident.

use std::collections::BTreeMap;
use std::time::Duration;

use secauto::aws::{Clients, Connection};
use secauto::resources::Ctx;

/// Every client pointing at a closed port.
pub fn clients() -> Clients {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    Clients::new(
        &sdk,
        &Connection {
            endpoint_url: Some("http://127.0.0.1:9".into()),
            ..Connection::default()
        },
    )
}

/// A context for stack `s` in us-east-1 over `clients`.
pub fn ctx(clients: Clients, role_wait: Duration) -> Ctx {
    Ctx::new(clients, "s", "us-east-1", BTreeMap::new(), role_wait)
}
