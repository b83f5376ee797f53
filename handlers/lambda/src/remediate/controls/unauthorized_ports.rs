//! EC2.18: world-open ingress to a TCP or UDP port other than the authorized ones — TCP 80 and
//! 443 (the control's defaults), or the `authorizedTcpPorts`/`authorizedUdpPorts` the finding's
//! `Compliance.SecurityControlParameters` carry. Like AWS Config's
//! `vpc-sg-open-only-to-authorized-ports`, it looks at TCP, UDP and every-protocol rules only: an
//! ICMP rule stays. The remediation is world-open ingress's own (`super::super::security_groups`:
//! the group and every interface and instance using it checked against protection, each rule
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

/// The ports EC2.18 lets be open to the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedPorts {
    /// TCP ports.
    pub tcp: Vec<i32>,
    /// UDP ports.
    pub udp: Vec<i32>,
}

impl Default for AuthorizedPorts {
    /// The control's defaults: TCP 80 and 443, no UDP port.
    fn default() -> Self {
        Self {
            tcp: AUTHORIZED_TCP_PORTS.to_vec(),
            udp: Vec::new(),
        }
    }
}

/// The ports of one parameter value: `"22"`, `"8000-8010"`, or several separated by commas.
fn ports(values: &[String]) -> Vec<i32> {
    let one = |s: &str| s.trim().parse::<i32>().ok();
    values
        .iter()
        .flat_map(|v| v.split(','))
        .flat_map(|item| match item.split_once('-') {
            Some((a, b)) => match (one(a), one(b)) {
                (Some(a), Some(b)) if a <= b && b <= 65535 => (a..=b).collect(),
                _ => vec![],
            },
            None => one(item).into_iter().collect(),
        })
        .collect()
}

impl AuthorizedPorts {
    /// The ports the finding's parameters authorize (`[(Name, Value)]`); a parameter not given
    /// keeps the control's default. `None` when the parameters name neither.
    pub fn from_parameters(params: &[(String, Vec<String>)]) -> Option<Self> {
        let find = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| ports(v))
        };
        let (tcp, udp) = (find("authorizedTcpPorts"), find("authorizedUdpPorts"));
        if tcp.is_none() && udp.is_none() {
            return None;
        }
        let default = Self::default();
        Some(Self {
            tcp: tcp.unwrap_or(default.tcp),
            udp: udp.unwrap_or(default.udp),
        })
    }

    /// Whether the rule opens a TCP or UDP port these do not authorize (every protocol opens
    /// them all); other protocols (ICMP) are not this control's.
    pub fn is_unauthorized(&self, p: &IpPermission) -> bool {
        let allowed = match p.ip_protocol().unwrap_or("-1") {
            "-1" => return true,
            "tcp" | "6" => &self.tcp,
            "udp" | "17" => &self.udp,
            _ => return false,
        };
        let (from, to) = (p.from_port().unwrap_or(0), p.to_port().unwrap_or(65535));
        !(from..=to).all(|port| allowed.contains(&port))
    }

    /// The authorized ports, said.
    fn describe(&self) -> String {
        let list = |ports: &[i32]| {
            ports
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.udp.is_empty() {
            true => format!("to a TCP or UDP port other than TCP {}", list(&self.tcp)),
            false => format!(
                "to a TCP or UDP port other than TCP {} and UDP {}",
                list(&self.tcp),
                list(&self.udp)
            ),
        }
    }
}

/// Whether the rule opens a TCP or UDP port but TCP 80 or 443 (the control's defaults).
pub fn is_unauthorized(p: &IpPermission) -> bool {
    AuthorizedPorts::default().is_unauthorized(p)
}

impl Executor<'_> {
    /// Revoke world-open ingress to any TCP or UDP port but TCP 80 and 443 (EC2.18).
    pub async fn restrict_unauthorized_ports(&self, id: &str) -> Result<Outcome, Failed> {
        self.restrict_to_authorized_ports(id, &AuthorizedPorts::default())
            .await
    }

    /// Revoke world-open ingress to any TCP or UDP port but `ports` (EC2.18 with the finding's
    /// parameters).
    pub async fn restrict_to_authorized_ports(
        &self,
        id: &str,
        ports: &AuthorizedPorts,
    ) -> Result<Outcome, Failed> {
        let select = |p: &IpPermission| ports.is_unauthorized(p);
        self.carry_out(&WorldIngress {
            id,
            scope: &ports.describe(),
            select: &select,
            spares_services: true,
            scope_only: true,
            spared: None,
        })
        .await
    }
}
