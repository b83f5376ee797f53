//! EC2.19: world-open ingress to a port Security Hub calls high-risk. The remediation is
//! world-open ingress's own (`super::super::security_groups`: the group and every interface and
//! instance using it checked against protection, each rule recorded in a tag of its own before it
//! is revoked, a re-read decides), with the rules this control picks: TCP or UDP rules whose range
//! reaches one of [`HIGH_RISK_PORTS`], and every-protocol rules. As EC2.18, a group another
//! service's interfaces use (a load balancer's, an endpoint's) is left as it is, the finding says
//! so. A TCP range that also serves the web (80 or 443: `80-443` reaches 110, 135 and 143) is not
//! revoked — that would take the website offline — and the finding stays NOTIFIED saying why; the
//! group's other high-risk rules still go. Undo: authorize again each rule the group's
//! `secauto:revoked:` tags name.

use anyhow::Result;
use aws_sdk_ec2::types::IpPermission;

use super::super::security_groups::WorldIngress;
use super::super::{Executor, Failed, Outcome};

/// The ports EC2.19 checks (Security Hub's list for the control).
pub const HIGH_RISK_PORTS: [i32; 24] = [
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500,
    5601, 8080, 8088, 8888, 9200, 9300,
];

/// Why a range that serves the web is left open.
const WEB_RANGE: &str = "a port range that also serves the web (80 or 443) is not revoked, since that would take the website offline with it: narrow the rule to the ports the service needs (then EC2.19 revokes nothing it uses)";

/// Whether the rule reaches a high-risk port: every protocol, or TCP/UDP over one of them.
pub fn reaches_high_risk_port(p: &IpPermission) -> bool {
    match p.ip_protocol().unwrap_or("-1") {
        "-1" => true,
        "tcp" | "udp" | "6" | "17" => {
            let (from, to) = (p.from_port().unwrap_or(0), p.to_port().unwrap_or(65535));
            HIGH_RISK_PORTS
                .iter()
                .any(|port| from <= *port && *port <= to)
        }
        _ => false,
    }
}

/// Whether the rule is a TCP port range (not every port) that reaches a high-risk port and also
/// 80 or 443: EC2.19 leaves it (see the module's documentation).
pub fn serves_the_web_too(p: &IpPermission) -> bool {
    let tcp = matches!(p.ip_protocol(), Some("tcp" | "6"));
    let (from, to) = (p.from_port().unwrap_or(0), p.to_port().unwrap_or(65535));
    let every_port = from <= 0 && to >= 65535;
    tcp && !every_port
        && reaches_high_risk_port(p)
        && [80, 443].iter().any(|web| from <= *web && *web <= to)
}

/// The rules EC2.19 revokes.
fn revoked(p: &IpPermission) -> bool {
    reaches_high_risk_port(p) && !serves_the_web_too(p)
}

impl Executor<'_> {
    /// Revoke world-open ingress reaching a high-risk port (EC2.19).
    pub async fn close_high_risk_ports(&self, id: &str) -> Result<Outcome, Failed> {
        self.carry_out(&WorldIngress {
            id,
            scope: "to a high-risk port",
            select: &revoked,
            spares_services: true,
            scope_only: true,
            spared: Some((&serves_the_web_too, WEB_RANGE)),
        })
        .await
    }
}
