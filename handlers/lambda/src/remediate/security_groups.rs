//! World-open ingress: block-network revokes every ingress rule open to 0.0.0.0/0 or ::/0;
//! fix-security-group only those to SSH (22), RDP (3389), every port or every protocol.
//! Undo: the revoked rules are listed in the outcome (the finding's note and the SNS message).
//! The group is re-read afterwards: a finding is RESOLVED only when the re-read shows no world-open
//! ingress within the action's scope; world-open ingress outside it (fix-security-group leaves 443
//! open) is named in the note, and when nothing was in scope at all the finding stays NOTIFIED.

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, SecurityGroup};

use super::{finish, Executor, Failed, Outcome};
use crate::sdk_err;

/// World-open ranges of a permission.
pub(super) fn world_ranges(p: &IpPermission) -> (Vec<IpRange>, Vec<Ipv6Range>) {
    (
        p.ip_ranges()
            .iter()
            .filter(|r| r.cidr_ip() == Some("0.0.0.0/0"))
            .cloned()
            .collect(),
        p.ipv6_ranges()
            .iter()
            .filter(|r| r.cidr_ipv6() == Some("::/0"))
            .cloned()
            .collect(),
    )
}

/// Admin ports (22, 3389), every port, or every protocol.
pub fn is_admin_or_any_port(p: &IpPermission) -> bool {
    let proto = p.ip_protocol().unwrap_or("-1");
    if proto == "-1" {
        return true;
    }
    let (from, to) = (p.from_port().unwrap_or(0), p.to_port().unwrap_or(65535));
    let covers = |port: i32| from <= port && port <= to;
    (from <= 0 && to >= 65535) || covers(22) || covers(3389)
}

pub(super) fn describe(p: &IpPermission) -> String {
    match p.ip_protocol().unwrap_or("-1") {
        "-1" => "all traffic".to_string(),
        other => match (p.from_port(), p.to_port()) {
            (Some(f), Some(t)) if f == t => format!("{other} {f}"),
            (Some(f), Some(t)) => format!("{other} {f}-{t}"),
            _ => other.to_string(),
        },
    }
}

/// The world-open ingress of a group that `select` picks, described.
fn world_open(g: &SecurityGroup, select: fn(&IpPermission) -> bool) -> Vec<String> {
    g.ip_permissions()
        .iter()
        .filter(|p| {
            let (v4, v6) = world_ranges(p);
            (!v4.is_empty() || !v6.is_empty()) && select(p)
        })
        .map(describe)
        .collect()
}

impl Executor<'_> {
    pub(super) async fn group(&self, id: &str) -> Result<SecurityGroup> {
        let out = self
            .ec2
            .describe_security_groups()
            .group_ids(id)
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeSecurityGroups", e))?;
        out.security_groups()
            .first()
            .cloned()
            .with_context(|| format!("security group {id} not found"))
    }

    /// Revoke world-open (0.0.0.0/0, ::/0) ingress of the permissions `select` picks.
    async fn revoke_world(
        &self,
        id: &str,
        scope: &str,
        select: fn(&IpPermission) -> bool,
        out: &mut Outcome,
    ) -> Result<()> {
        let g = self.group(id).await?;
        let protected = self.guard(
            out,
            id,
            g.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))),
        );
        let mut matched = false;
        for p in g.ip_permissions() {
            let (v4, v6) = world_ranges(p);
            if (v4.is_empty() && v6.is_empty()) || !select(p) {
                continue;
            }
            matched = true;
            let cidrs: Vec<&str> = v4
                .iter()
                .filter_map(|r| r.cidr_ip())
                .chain(v6.iter().filter_map(|r| r.cidr_ipv6()))
                .collect();
            self.step(
                out,
                protected,
                format!("revoke {} from {} on {id}", describe(p), cidrs.join(", ")),
            );
            if self.acting(protected) {
                let perm = IpPermission::builder()
                    .set_ip_protocol(p.ip_protocol().map(str::to_string))
                    .set_from_port(p.from_port())
                    .set_to_port(p.to_port())
                    .set_ip_ranges(if v4.is_empty() { None } else { Some(v4) })
                    .set_ipv6_ranges(if v6.is_empty() { None } else { Some(v6) })
                    .build();
                self.ec2
                    .revoke_security_group_ingress()
                    .group_id(id)
                    .ip_permissions(perm)
                    .send()
                    .await
                    .map_err(|e| sdk_err("ec2:RevokeSecurityGroupIngress", e))?;
            }
        }
        if !matched {
            out.steps
                .push(format!("{id} has no world-open ingress {scope}"));
        }
        // Re-read: what is still open to the world decides whether the finding can be closed.
        let after = if self.acting(protected) && matched {
            self.group(id).await?
        } else {
            g
        };
        // Verification by the re-read: compliant when nothing this action answers for is open to
        // the world; what else is open is said, and decides only when nothing was in scope.
        let left = world_open(&after, select);
        let other = world_open(&after, |_| true);
        out.compliant = left.is_empty() && (matched || other.is_empty());
        if !left.is_empty() && self.acting(protected) {
            out.steps.push(format!(
                "re-read: {id} is still open to the world {scope} on {}",
                left.join(", ")
            ));
        } else if matched && !other.is_empty() {
            out.steps.push(format!(
                "{id} stays open to the world on {} (outside this action: review it)",
                other.join(", ")
            ));
        }
        if !matched && !other.is_empty() && !protected && !self.dry_run {
            out.refused = Some(format!(
                "nothing to revoke {scope}, and {id} is still open to the world on {}: review it by hand",
                other.join(", ")
            ));
        }
        Ok(())
    }

    /// Revoke every ingress rule open to the world.
    pub async fn block_network(&self, id: &str) -> Result<Outcome, Failed> {
        let mut out = Outcome::default();
        let res = self
            .revoke_world(id, "(any port)", |_| true, &mut out)
            .await;
        finish(out, res)
    }

    /// Revoke world-open ingress to SSH (22), RDP (3389), every port, or every protocol.
    pub async fn fix_security_group(&self, id: &str) -> Result<Outcome, Failed> {
        let mut out = Outcome::default();
        let res = self
            .revoke_world(
                id,
                "to SSH, RDP, every port or every protocol",
                is_admin_or_any_port,
                &mut out,
            )
            .await;
        finish(out, res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(proto: &str, from: i32, to: i32) -> IpPermission {
        IpPermission::builder()
            .ip_protocol(proto)
            .from_port(from)
            .to_port(to)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build()
    }

    #[test]
    fn admin_ports_and_any_port() {
        assert!(is_admin_or_any_port(&perm("tcp", 22, 22)));
        assert!(is_admin_or_any_port(&perm("tcp", 3000, 4000)));
        assert!(is_admin_or_any_port(&perm("-1", 0, 0)));
        assert!(is_admin_or_any_port(&perm("tcp", 0, 65535)));
        assert!(!is_admin_or_any_port(&perm("tcp", 443, 443)));
    }
}
