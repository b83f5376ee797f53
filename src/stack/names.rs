//! The one home of physical names and ARNs. Regional resources are named `{stack}-{suffix}`;
//! account-global ones (IAM roles and policies, the dashboard) carry the region too, so one stack
//! per region of an account never collides. Custom action ids (account-global, at most 20
//! alphanumerics) carry a short hash of stack and region for the same reason.

use secauto_core::names as core;
use sha2::{Digest, Sha256};

/// Everything a name or an ARN derives from.
#[derive(Debug, Clone)]
pub struct Names {
    pub stack: String,
    pub region: String,
    pub account: String,
    pub partition: String,
}

impl Names {
    pub fn new(stack: &str, region: &str, account: &str) -> Names {
        Names {
            stack: stack.into(),
            region: region.into(),
            account: account.into(),
            partition: core::partition(region).into(),
        }
    }

    /// A regional ARN of this account.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition, self.region, self.account
        )
    }

    /// An ARN of an account-global resource (IAM, dashboards).
    pub fn global_arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}::{}:{resource}",
            self.partition, self.account
        )
    }

    /// An AWS-managed IAM policy of this partition.
    pub fn managed_policy_arn(&self, path_and_name: &str) -> String {
        format!("arn:{}:iam::aws:policy/{path_and_name}", self.partition)
    }

    /// A service principal. Lambda, EventBridge, CloudWatch and SSM use `<service>.amazonaws.com` in
    /// every partition (only older principals such as EC2's differ in China).
    pub fn service(&self, service: &str) -> String {
        format!("{service}.amazonaws.com")
    }

    /// The name of a regional resource.
    pub fn name(&self, suffix: &str) -> String {
        core::regional(&self.stack, suffix)
    }

    /// The name of an account-global resource: unique per region.
    pub fn global_name(&self, suffix: &str) -> String {
        core::global(&self.stack, &self.region, suffix)
    }

    pub fn role(&self, suffix: &str) -> String {
        self.global_name(suffix)
    }

    pub fn role_arn(&self, suffix: &str) -> String {
        self.global_arn("iam", &format!("role/{}", self.role(suffix)))
    }

    pub fn policy(&self, suffix: &str) -> String {
        self.global_name(suffix)
    }

    pub fn policy_arn(&self, suffix: &str) -> String {
        self.global_arn("iam", &format!("policy/{}", self.policy(suffix)))
    }

    pub fn dashboard(&self) -> String {
        format!("{}-{}", self.stack, self.region)
    }

    pub fn function(&self, suffix: &str) -> String {
        self.name(suffix)
    }

    pub fn function_arn(&self, suffix: &str) -> String {
        self.arn("lambda", &format!("function:{}", self.function(suffix)))
    }

    pub fn rule(&self, key: &str) -> String {
        self.name(&key.replace('_', "-"))
    }

    /// The bus a rule is on: the response rule listens on the stack's own bus (only triage may
    /// put events there); the others on the default bus, where AWS services put theirs.
    pub fn rule_bus(&self, key: &str) -> Option<String> {
        (key == "remediation").then(|| self.bus())
    }

    pub fn rule_arn(&self, key: &str) -> String {
        match self.rule_bus(key) {
            Some(bus) => self.arn("events", &format!("rule/{bus}/{}", self.rule(key))),
            None => self.arn("events", &format!("rule/{}", self.rule(key))),
        }
    }

    pub fn topic_arn(&self) -> String {
        self.arn("sns", &self.name("notifications"))
    }

    pub fn queue_arn(&self) -> String {
        self.arn("sqs", &self.name("dlq"))
    }

    pub fn document(&self) -> String {
        core::document(&self.stack)
    }

    /// The stack's own event bus: response events travel on it, and only triage may put them.
    pub fn bus(&self) -> String {
        core::bus(&self.stack)
    }

    /// The `source` of the events triage puts on the stack's bus.
    pub fn event_source(&self) -> String {
        core::event_source(&self.stack)
    }

    pub fn bus_arn(&self) -> String {
        self.arn("events", &format!("event-bus/{}", self.bus()))
    }

    pub fn key_alias(&self) -> String {
        format!("alias/{}", self.stack)
    }

    /// The default prefix of custom action ids: up to 6 letters and digits of the stack name and 5
    /// of a hash of stack and region, 11 in all (ids are account-global; two stacks whose names share
    /// their first characters, or one stack in two regions, must not collide).
    pub fn action_id_prefix(&self) -> String {
        let letters: String = self
            .stack
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(6)
            .collect();
        let digest = Sha256::digest(format!("{}/{}", self.stack, self.region));
        let hash: String = digest
            .iter()
            .take(5)
            .map(|b| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(*b % 36) as usize]))
            .collect();
        format!("{letters}{hash}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_names_differ_by_region_and_regional_ones_do_not() {
        let east = Names::new("prod", "us-east-1", "123456789012");
        let west = Names::new("prod", "us-west-2", "123456789012");
        assert_ne!(east.role("lambda"), west.role("lambda"));
        assert_ne!(east.policy_arn("automation"), west.policy_arn("automation"));
        assert_ne!(east.dashboard(), west.dashboard());
        assert_ne!(east.action_id_prefix(), west.action_id_prefix());
        assert_eq!(east.function("triage"), west.function("triage"));
    }

    #[test]
    fn action_ids_of_similar_stacks_differ() {
        let eu = Names::new("secauto-prod-eu", "eu-west-1", "123456789012");
        let us = Names::new("secauto-prod-us", "eu-west-1", "123456789012");
        assert_ne!(eu.action_id_prefix(), us.action_id_prefix());
        for n in [&eu, &us] {
            let p = n.action_id_prefix();
            assert_eq!(p.len(), 11, "{p}");
            assert!(p.chars().all(|c| c.is_ascii_alphanumeric()), "{p}");
        }
    }

    #[test]
    fn arns_follow_the_partition() {
        let iso = Names::new("s", "us-iso-east-1", "123456789012");
        assert_eq!(
            iso.topic_arn(),
            "arn:aws-iso:sns:us-iso-east-1:123456789012:s-notifications"
        );
        let cn = Names::new("s", "cn-north-1", "123456789012");
        assert!(cn
            .role_arn("lambda")
            .starts_with("arn:aws-cn:iam::123456789012:role/"));
    }
}
