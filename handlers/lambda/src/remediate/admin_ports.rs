//! The world-open rules fix-security-group answers for (EC2.13: SSH, EC2.14: RDP, on by default):
//! a TCP or UDP rule opening port 22 or port 3389 and nothing else is revoked. A rule that opens
//! one of them among more — every protocol, or a range such as `0-65535`, `1024-65535` or
//! `3000-4000` — is left: revoking it would close everything else it opens (a website, an API, a
//! passive-FTP range), and a fix on by default must not take a workload offline. The finding stays
//! NOTIFIED naming the rule and how to narrow it. AWS's runbook for these controls
//! (`AWS-DisablePublicAccessForSecurityGroup`) likewise revokes only SSH and RDP rules.
//! block-network, and EC2.19 once a rule turns it on, revoke wide rules whole.

use aws_sdk_ec2::types::IpPermission;

/// Why fix-security-group leaves a rule that opens SSH or RDP among more.
pub const AMONG_MORE: &str = "it opens SSH or RDP among more (every protocol, every port, or a wider range), and revoking it would close all of that: narrow it to the ports the service needs, or put a policy rule with action block-network and mode = \"enforce\" ahead of the one that chose fix-security-group to have such rules revoked whole";

/// The ports the rule opens, for a TCP or UDP rule (no ports given: every port); `None` for every
/// protocol and any other.
fn tcp_or_udp_ports(p: &IpPermission) -> Option<(i32, i32)> {
    matches!(p.ip_protocol(), Some("tcp" | "udp" | "6" | "17"))
        .then(|| (p.from_port().unwrap_or(0), p.to_port().unwrap_or(65535)))
}

/// A TCP or UDP rule opening SSH (22) or RDP (3389) and no other port: what fix-security-group
/// revokes.
pub fn admin_port_alone(p: &IpPermission) -> bool {
    matches!(tcp_or_udp_ports(p), Some((from, to)) if from == to && (from == 22 || from == 3389))
}

/// A rule that opens SSH or RDP among more: every protocol, or a TCP or UDP range reaching 22 or
/// 3389 and other ports too. fix-security-group leaves it ([`AMONG_MORE`]).
pub fn admin_port_among_more(p: &IpPermission) -> bool {
    if p.ip_protocol().unwrap_or("-1") == "-1" {
        return true;
    }
    let reaches = |(from, to): (i32, i32)| [22, 3389].iter().any(|a| from <= *a && *a <= to);
    tcp_or_udp_ports(p).is_some_and(reaches) && !admin_port_alone(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(proto: &str, from: i32, to: i32) -> IpPermission {
        IpPermission::builder()
            .ip_protocol(proto)
            .from_port(from)
            .to_port(to)
            .build()
    }

    #[test]
    fn ssh_or_rdp_alone_is_revoked_and_among_more_is_left() {
        for alone in [
            perm("tcp", 22, 22),
            perm("tcp", 3389, 3389),
            perm("udp", 3389, 3389),
            perm("6", 22, 22),
        ] {
            assert!(
                admin_port_alone(&alone) && !admin_port_among_more(&alone),
                "{alone:?}"
            );
        }
        for more in [
            perm("-1", -1, -1),
            perm("tcp", 0, 65535),
            perm("tcp", 1024, 65535),
            perm("udp", 20, 443),
            perm("tcp", 21, 23),
        ] {
            assert!(
                admin_port_among_more(&more) && !admin_port_alone(&more),
                "{more:?}"
            );
        }
        for neither in [
            perm("tcp", 443, 443),
            perm("icmp", -1, -1),
            perm("50", 0, 65535),
            perm("tcp", 3390, 8080),
        ] {
            assert!(
                !admin_port_alone(&neither) && !admin_port_among_more(&neither),
                "{neither:?}"
            );
        }
    }
}
