//! EC2.18: world-open ingress to any port but the authorized ones, TCP 80 and 443 (the control's
//! defaults). The remediation is world-open ingress's own (`super::super::security_groups`: the
//! group and every interface and instance using it checked against protection, each rule
//! recorded in a tag of its own before it is revoked, a re-read decides), with the rules this
//! control picks. A group another service's interfaces use (a load balancer's, an endpoint's) is
//! left as it is and the finding says so: such a group may be meant to be open. Undo: authorize
//! again each rule the group's `secauto:revoked:` tags name.

use anyhow::Result;
use aws_sdk_ec2::types::IpPermission;

use super::super::security_groups::WorldIngress;
use super::super::{Executor, Failed, Outcome};

/// The ports EC2.18 allows open to the world by default (TCP).
pub const AUTHORIZED_TCP_PORTS: [i32; 2] = [80, 443];

/// Whether the rule opens anything but TCP 80 or 443 alone.
pub fn is_unauthorized(p: &IpPermission) -> bool {
    let tcp = matches!(p.ip_protocol(), Some("tcp" | "6"));
    let single = p.from_port().is_some() && p.from_port() == p.to_port();
    !(tcp && single && AUTHORIZED_TCP_PORTS.contains(&p.from_port().unwrap_or(-1)))
}

impl Executor<'_> {
    /// Revoke world-open ingress to any port but TCP 80 and 443 (EC2.18).
    pub async fn restrict_unauthorized_ports(&self, id: &str) -> Result<Outcome, Failed> {
        self.carry_out(&WorldIngress {
            id,
            scope: "to a port other than 80 and 443",
            select: is_unauthorized,
            spares_services: true,
            scope_only: true,
        })
        .await
    }
}
