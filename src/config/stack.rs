//! `[stack]`, `[fleet]` and `[[targets]]`: which stack, in which accounts and regions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[stack]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StackConfig {
    /// Prefix of every physical name; lowercase letters, digits and hyphens.
    pub name: String,
    pub region: Option<String>,
    /// Extra tags on every taggable resource.
    pub tags: BTreeMap<String, String>,
    /// A role to assume for every call; the stack lives in the role's account.
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for.
    pub external_id: Option<String>,
}

impl Default for StackConfig {
    fn default() -> Self {
        StackConfig {
            name: "secauto".into(),
            region: None,
            tags: BTreeMap::new(),
            role_arn: None,
            external_id: None,
        }
    }
}

/// True for `arn:<partition>:iam::<12 digits>:role/<path/><name>`.
pub fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws")
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|n| !n.is_empty() && !n.ends_with('/')))
}

/// The account of a role ARN.
pub fn role_account(arn: &str) -> Option<&str> {
    is_role_arn(arn).then(|| arn.split(':').nth(4)).flatten()
}

/// `[[targets]]`: one account of a fleet, in one or more regions.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// `administrator` (the whole stack, in its first region) or `member` (the remediation role
    /// the administrator assumes, and the isolation document).
    pub role: TargetRole,
    /// The role deploy assumes in the account; the caller's own credentials when unset.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// The external id `role_arn`'s trust policy asks for.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The regions of the account; an administrator's first region is the aggregation region.
    pub regions: Vec<String>,
}

/// What a target holds.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum TargetRole {
    Administrator,
    Member,
}

impl TargetRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetRole::Administrator => "administrator",
            TargetRole::Member => "member",
        }
    }
}

/// `[fleet]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// The external id the member roles' trust policies ask of the administrator's remediation
    /// function [default: `secauto-<stack>-<administrator account>`].
    pub external_id: Option<String>,
}

impl StackConfig {
    /// Problems of `[stack]`, each pushed to `p`.
    pub(super) fn check(&self, p: &mut Vec<String>) {
        let name = &self.name;
        if name.is_empty() {
            p.push("[stack] name is empty: set it to a short name such as \"secauto\"".to_string());
        } else if !name.starts_with(|c: char| c.is_ascii_lowercase())
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            || name.ends_with('-')
            || name.contains("--")
        {
            p.push(format!(
                "[stack] name {name:?} must start with a lowercase letter and hold only lowercase letters, digits and single hyphens"
            ));
        }
        if let Some(reserved) = ["aws", "amazon", "amzn"]
            .iter()
            .find(|r| name.to_ascii_lowercase().starts_with(*r))
        {
            p.push(format!(
                "[stack] name {name:?} starts with {reserved:?}: SSM refuses document names beginning with aws, amazon or amzn (and KMS aliases beginning with aws); choose another name"
            ));
        }
        if let Some(arn) = self.role_arn.as_deref().filter(|a| !is_role_arn(a)) {
            p.push(format!(
                "[stack] role_arn {arn:?} is not an IAM role ARN (arn:aws:iam::111111111111:role/secauto-deploy)"
            ));
        }
        if let Some(id) = &self.external_id {
            if id.len() < 2 || id.len() > 1224 || self.role_arn.is_none() {
                p.push(format!(
                    "[stack] external_id {id:?} must be 2–1224 characters and goes with role_arn"
                ));
            }
        }
        if let Some(region) = &self.region {
            if !super::is_region(region) {
                p.push(format!(
                    "[stack] region {region:?} is not an AWS region name (like \"eu-west-1\")"
                ));
            }
        }
        for (k, v) in &self.tags {
            if k.starts_with("secauto:") {
                p.push(format!(
                    "[stack] tags: {k:?} uses the reserved prefix \"secauto:\""
                ));
            }
            if k.is_empty() || k.len() > 128 || v.len() > 256 || k.starts_with("aws:") {
                p.push(format!(
                    "[stack] tags: {k:?} = {v:?} is not a valid tag (key 1-128 characters not starting with \"aws:\", value at most 256)"
                ));
            }
        }
        if self.tags.len() > 40 {
            p.push("[stack] tags: at most 40 extra tags are allowed".into());
        }
    }
}

/// Problems of a fleet: `[fleet]`, `[[targets]]`, and what does not go with them.
pub(super) fn check_fleet(c: &super::Config, p: &mut Vec<String>) {
    if c.targets.is_empty() {
        if c.fleet.external_id.is_some() {
            p.push("[fleet] external_id is for a fleet: add [[targets]] or remove it".into());
        }
        return;
    }
    let admins = c
        .targets
        .iter()
        .filter(|t| t.role == TargetRole::Administrator)
        .count();
    if admins != 1 {
        p.push(format!(
            "[[targets]] has {admins} administrators: a fleet has exactly one (role = \"administrator\"), whose remediation acts in the members"
        ));
    }
    if c.stack.role_arn.is_some() || c.stack.region.is_some() {
        p.push("[stack] role_arn and region do not go with [[targets]]: each target names its role_arn and regions".into());
    }
    if c.state.path.is_some() || c.state.key.is_some() {
        p.push("[state] path and key name one state; a fleet keeps one per target (.secauto/<stack>/<account>/<region>.json, or secauto/<stack>/<account>/<region>.json in the bucket): remove them".into());
    }
    if let Some(id) = &c.fleet.external_id {
        if id.len() < 2 || id.len() > 1224 {
            p.push(format!(
                "[fleet] external_id {id:?} must be 2–1224 characters"
            ));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, t) in c.targets.iter().enumerate() {
        let which = format!("[[targets]] #{} ({})", i + 1, t.role.as_str());
        if let Some(arn) = t.role_arn.as_deref().filter(|a| !is_role_arn(a)) {
            p.push(format!(
                "{which}: role_arn {arn:?} is not an IAM role ARN (arn:aws:iam::111111111111:role/secauto-deploy)"
            ));
        }
        if let Some(id) = &t.external_id {
            if id.len() < 2 || id.len() > 1224 || t.role_arn.is_none() {
                p.push(format!(
                    "{which}: external_id {id:?} must be 2–1224 characters and goes with role_arn"
                ));
            }
        }
        if t.regions.is_empty() {
            p.push(format!(
                "{which}: regions is empty: list at least one region"
            ));
        }
        let account = t.role_arn.as_deref().unwrap_or("the caller's account");
        for r in &t.regions {
            if !super::is_region(r) {
                p.push(format!(
                    "{which}: {r:?} is not an AWS region name (like \"eu-west-1\")"
                ));
            } else if !seen.insert((account.to_string(), r.clone())) {
                p.push(format!(
                    "{which}: {account} in {r} is listed twice; one stack per account and region"
                ));
            }
        }
    }
}
