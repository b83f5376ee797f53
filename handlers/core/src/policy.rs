//! The triage policy: an ordered list of rules; the first rule that matches a finding decides its
//! action. Comes from `[[triage.rules]]` in secauto.toml, or [`Policy::default`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::controls;
use crate::finding::{Finding, Severity};

pub use crate::action::Action;

/// Whether a remediation acts or only says what it would do: `[remediation] mode` for the whole
/// stack, and a rule's `mode` for the findings it decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    #[default]
    NotifyOnly,
    Enforce,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::NotifyOnly => "notify-only",
            Mode::Enforce => "enforce",
        }
    }
}

/// One rule: every non-empty criterion must match (a list matches when any of its entries does).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    pub action: Action,
    /// Severity labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severities: Vec<String>,
    /// A type starts with one of these (`TTPs/`, `Software and Configuration Checks/Vulnerabilities`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub type_prefixes: Vec<String>,
    /// A type contains one of these (`UnauthorizedAccess:EC2`, `Malware`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub type_contains: Vec<String>,
    /// The GeneratorId ends with one of these (`/S3.4` for the AFSBP S3.4 control); a control
    /// finding also matches a suffix that names its control ([`Rule::matches`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generator_suffixes: Vec<String>,
    /// Product names (`GuardDuty`, `Inspector`, `Security Hub`), case-insensitive; any of the
    /// names the product goes by ([`Finding::product_names`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    /// A resource of one of these types (`AwsEc2Instance`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_types: Vec<String>,
    /// Account ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// A resource carrying all these tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The finding checks one of these security controls (`S3.8`), whatever shape the finding
    /// names it in ([`crate::controls::of`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
    /// Act or only notify for the findings this rule decides, whatever `[remediation] mode` says;
    /// without it the stack's mode applies (a catalogued control off by default: notify-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

/// The decision for one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub action: Action,
    /// The rule that matched; `None` when none did (the fallback is notify-only).
    pub rule: Option<String>,
    /// The mode the remediation runs in; `None`: the stack's `[remediation] mode`.
    pub mode: Option<Mode>,
}

impl Decision {
    /// A decision of `action` by `rule`, in the stack's mode.
    pub fn new(action: Action, rule: Option<&str>) -> Decision {
        Decision {
            action,
            rule: rule.map(str::to_string),
            mode: None,
        }
    }
}

/// An ordered triage policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub rules: Vec<Rule>,
}

fn any_eq(list: &[String], v: &str) -> bool {
    list.iter().any(|x| x.eq_ignore_ascii_case(v))
}

impl Rule {
    /// A rule with no criteria: it matches every finding.
    pub fn new(name: &str, action: Action) -> Rule {
        Rule {
            name: name.into(),
            action,
            severities: vec![],
            type_prefixes: vec![],
            type_contains: vec![],
            generator_suffixes: vec![],
            products: vec![],
            resource_types: vec![],
            accounts: vec![],
            tags: BTreeMap::new(),
            controls: vec![],
            mode: None,
        }
    }

    /// Does this rule match? With `ignore_severity` (an analyst's forced remediation) the severity
    /// criterion is skipped.
    pub fn matches(&self, f: &Finding, ignore_severity: bool) -> bool {
        if !ignore_severity
            && !self.severities.is_empty()
            && !any_eq(&self.severities, f.severity().as_str())
        {
            return false;
        }
        if !self.type_prefixes.is_empty()
            && !f
                .all_types()
                .any(|t| self.type_prefixes.iter().any(|p| t.starts_with(p.as_str())))
        {
            return false;
        }
        if !self.type_contains.is_empty()
            && !f
                .all_types()
                .any(|t| self.type_contains.iter().any(|p| t.contains(p.as_str())))
        {
            return false;
        }
        if !self.generator_suffixes.is_empty() && !self.generator_matches(f) {
            return false;
        }
        if !self.products.is_empty() && !f.product_names().iter().any(|n| any_eq(&self.products, n))
        {
            return false;
        }
        if !self.resource_types.is_empty()
            && !f
                .resources
                .iter()
                .any(|r| any_eq(&self.resource_types, &r.kind))
        {
            return false;
        }
        if !self.accounts.is_empty()
            && !f
                .account()
                .is_some_and(|a| self.accounts.iter().any(|x| x == a))
        {
            return false;
        }
        if !self.tags.is_empty()
            && !f
                .resources
                .iter()
                .any(|r| self.tags.iter().all(|(k, v)| r.tags.get(k) == Some(v)))
        {
            return false;
        }
        if !self.controls.is_empty()
            && !f
                .control_id()
                .is_some_and(|c| self.controls.iter().any(|x| controls::ids::same(x, &c)))
        {
            return false;
        }
        true
    }

    /// A generator suffix matches the end of one of the finding's generator ids
    /// ([`Finding::generator_ids`]), or names the finding's control in one of Security Hub's forms
    /// (`security-control/S3.8`, `aws-foundational-security-best-practices/v/1.0.0/S3.8`,
    /// `…/cis-aws-foundations-benchmark/v/1.2.0/rule/2.1`): the ASFF and the OCSF copy of one
    /// control finding name it differently, and both match.
    fn generator_matches(&self, f: &Finding) -> bool {
        let ids = f.generator_ids();
        let control = f.control_id();
        self.generator_suffixes.iter().any(|s| {
            ids.iter().any(|g| g.ends_with(s.as_str()))
                || control.as_deref().is_some_and(|c| {
                    controls::from_reference(s).is_some_and(|named| controls::ids::same(&named, c))
                })
        })
    }

    /// This rule's decision for `f`, which it matches: its action (`remediate-control`: the
    /// catalogue's for the finding's control, `None` when the control has no entry or the finding
    /// names no resource it acts on) in its mode — without a mode of its own, a catalogued control
    /// off by default stays notify-only.
    pub fn decision(&self, f: &Finding) -> Option<Decision> {
        let entry = f.control_id().and_then(|c| controls::entry(&c));
        let action = match self.action {
            Action::RemediateControl => {
                let e = entry?;
                let kind = e.action.resource_type()?;
                if !f.resources.iter().any(|r| r.kind == kind) {
                    return None;
                }
                e.action
            }
            a => a,
        };
        let off = entry.is_some_and(|e| e.action == action && !e.on);
        Some(Decision {
            action,
            rule: Some(self.name.clone()),
            mode: self.mode.or(off.then_some(Mode::NotifyOnly)),
        })
    }
}

impl Default for Policy {
    /// The recipe's intent, made precise: a failed control of the catalogue gets its catalogued
    /// remediation (in its default mode: [`crate::controls::CATALOGUE`]); compromised or
    /// malware-hit instances are isolated or quarantined; world-reachable security groups are
    /// closed; unencrypted buckets are encrypted; informational findings are ignored; everything
    /// else is notified.
    fn default() -> Self {
        let mut controls = Rule::new("remediate-catalogued-controls", Action::RemediateControl);
        controls.severities = vec![
            "LOW".into(),
            "MEDIUM".into(),
            "HIGH".into(),
            "CRITICAL".into(),
        ];

        let mut isolate = Rule::new("isolate-compromised-instance", Action::IsolateInstance);
        isolate.severities = vec!["HIGH".into(), "CRITICAL".into()];
        isolate.type_contains = vec![
            "UnauthorizedAPICall".into(),
            "UnauthorizedAccess:EC2".into(),
            "Backdoor:EC2".into(),
            "CryptoCurrency:EC2".into(),
        ];
        isolate.resource_types = vec!["AwsEc2Instance".into()];

        let mut quarantine = Rule::new("quarantine-malware-instance", Action::QuarantineInstance);
        quarantine.severities = vec!["HIGH".into(), "CRITICAL".into()];
        quarantine.type_contains = vec!["Malware".into(), "Trojan:EC2".into()];
        quarantine.resource_types = vec!["AwsEc2Instance".into()];

        let mut block = Rule::new("block-world-reachable-network", Action::BlockNetwork);
        block.severities = vec!["HIGH".into(), "CRITICAL".into()];
        block.type_contains = vec!["NetworkReachability".into(), "Network Reachability".into()];
        block.resource_types = vec!["AwsEc2SecurityGroup".into()];

        let mut fix_sg = Rule::new("fix-open-security-group", Action::FixSecurityGroup);
        fix_sg.severities = vec!["MEDIUM".into(), "HIGH".into(), "CRITICAL".into()];
        fix_sg.resource_types = vec!["AwsEc2SecurityGroup".into()];

        let mut encrypt = Rule::new("encrypt-bucket", Action::EnableBucketEncryption);
        encrypt.severities = vec!["MEDIUM".into(), "HIGH".into(), "CRITICAL".into()];
        encrypt.type_contains = vec![
            "UnencryptedStorage".into(),
            "Data Protection".into(),
            "Encryption".into(),
        ];
        encrypt.resource_types = vec!["AwsS3Bucket".into()];

        let mut ignore = Rule::new("ignore-informational", Action::Ignore);
        ignore.severities = vec!["INFORMATIONAL".into()];

        let notify = Rule::new("notify-everything-else", Action::NotifyOnly);
        Policy {
            rules: vec![
                controls, isolate, quarantine, block, fix_sg, encrypt, ignore, notify,
            ],
        }
    }
}

impl Policy {
    /// The first matching rule decides; none matching means notify-only.
    pub fn decide(&self, f: &Finding) -> Decision {
        self.rules
            .iter()
            .filter(|r| r.matches(f, false))
            .find_map(|r| r.decision(f))
            .unwrap_or(Decision::new(Action::NotifyOnly, None))
    }

    /// An analyst asked for remediation: the first rule with a remediating action that matches on
    /// everything but severity decides; notify-only when none does.
    pub fn decide_forced(&self, f: &Finding) -> Decision {
        self.rules
            .iter()
            .filter(|r| r.action.remediates() && r.matches(f, true))
            .find_map(|r| r.decision(f))
            .unwrap_or(Decision::new(Action::NotifyOnly, None))
    }

    /// Every problem with the policy, each naming the rule and the fix.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for (i, r) in self.rules.iter().enumerate() {
            let at = format!("[[triage.rules]] #{} ({:?})", i + 1, r.name);
            if r.name.trim().is_empty() {
                p.push(format!("[[triage.rules]] #{}: name is empty", i + 1));
            } else if !names.insert(r.name.as_str()) {
                p.push(format!("{at}: the name is used twice"));
            }
            for s in &r.severities {
                if Severity::parse(s).is_none() {
                    p.push(format!(
                        "{at}: severity {s:?} is not one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL"
                    ));
                }
            }
            r.action_problems(&at, &mut p);
            for a in &r.accounts {
                if a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()) {
                    p.push(format!("{at}: account {a:?} is not a 12-digit account id"));
                }
            }
        }
        p
    }
}

impl Rule {
    /// Problems of the rule's action, controls and mode, each naming the fix.
    fn action_problems(&self, at: &str, p: &mut Vec<String>) {
        let mut catalogued = Vec::new();
        for c in &self.controls {
            match controls::check(c) {
                Ok(id) => catalogued.push((id.clone(), controls::entry(&id))),
                Err(why) => p.push(format!("{at}: controls: {why}")),
            }
        }
        if self.mode.is_some() && !self.action.remediates() {
            p.push(format!(
                "{at}: mode applies to remediations only, not to action {}: remove it",
                self.action.as_str()
            ));
        }
        if self.action == Action::RemediateControl {
            let missing: Vec<&str> = catalogued
                .iter()
                .filter(|(_, e)| e.is_none())
                .map(|(id, _)| id.as_str())
                .collect();
            if !missing.is_empty() {
                let known: Vec<&str> = controls::CATALOGUE.iter().map(|e| e.control).collect();
                p.push(format!(
                    "{at}: {} {} no remediation in the catalogue ({}): give the rule a concrete action with resource_types, or notify-only",
                    missing.join(", "),
                    if missing.len() == 1 { "has" } else { "have" },
                    known.join(", ")
                ));
            }
            return;
        }
        let Some(t) = self.action.resource_type() else {
            return;
        };
        let by_controls = !catalogued.is_empty()
            && catalogued
                .iter()
                .all(|(_, e)| e.and_then(|e| e.action.resource_type()) == Some(t));
        for (id, e) in &catalogued {
            if let Some(e) = e.filter(|e| e.action.resource_type() != Some(t)) {
                p.push(format!(
                    "{at}: {id} is about a {}, which action {} cannot change: use action = \"{}\" (or \"remediate-control\")",
                    e.action.resource_type().unwrap_or("resource"),
                    self.action.as_str(),
                    e.action.as_str()
                ));
            }
        }
        if self.resource_types.is_empty() && !by_controls {
            p.push(format!(
                "{at}: action {} changes resources of type {t}; add resource_types = [\"{t}\"]",
                self.action.as_str()
            ));
        } else if self.resource_types.iter().any(|x| x != t) {
            p.push(format!(
                "{at}: action {} only works on {t}, not {}",
                self.action.as_str(),
                self.resource_types.join(", ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Resource, SeverityField};

    fn finding(sev: &str, types: &[&str], resource: &str) -> Finding {
        Finding {
            id: "f".into(),
            severity: Some(SeverityField {
                label: Some(sev.into()),
                normalized: None,
            }),
            types: types.iter().map(|s| s.to_string()).collect(),
            resources: vec![Resource {
                kind: resource.into(),
                id: "r".into(),
                ..Resource::default()
            }],
            ..Finding::default()
        }
    }

    #[test]
    fn default_policy_is_valid_and_first_match_wins() {
        let p = Policy::default();
        assert!(p.validate().is_empty(), "{:?}", p.validate());
        let d = p.decide(&finding(
            "HIGH",
            &["TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce"],
            "AwsEc2Instance",
        ));
        assert_eq!(d.action, Action::IsolateInstance);
        assert_eq!(d.rule.as_deref(), Some("isolate-compromised-instance"));
        let d = p.decide(&finding("LOW", &["x"], "AwsEc2Instance"));
        assert_eq!(d.action, Action::NotifyOnly);
        let d = p.decide(&finding("INFORMATIONAL", &["x"], "AwsS3Bucket"));
        assert_eq!(d.action, Action::Ignore);
    }

    #[test]
    fn forced_ignores_severity_and_non_remediating_rules() {
        let p = Policy::default();
        let d = p.decide_forced(&finding("LOW", &["x"], "AwsEc2SecurityGroup"));
        assert_eq!(d.action, Action::FixSecurityGroup);
        let d = p.decide_forced(&finding("INFORMATIONAL", &["x"], "AwsIamUser"));
        assert_eq!(d.action, Action::NotifyOnly);
    }

    #[test]
    fn validation_names_the_rule_and_fix() {
        let mut r = Rule::new("bad", Action::IsolateInstance);
        r.severities = vec!["SEVERE".into()];
        let p = Policy {
            rules: vec![r.clone(), r],
        };
        let errs = p.validate().join("\n");
        assert!(errs.contains("SEVERE"), "{errs}");
        assert!(
            errs.contains("resource_types = [\"AwsEc2Instance\"]"),
            "{errs}"
        );
        assert!(errs.contains("used twice"), "{errs}");
    }

    #[test]
    fn tags_and_accounts_match() {
        let mut r = Rule::new("prod", Action::NotifyOnly);
        r.tags.insert("env".into(), "prod".into());
        r.accounts = vec!["123456789012".into()];
        let mut f = finding("LOW", &[], "AwsEc2Instance");
        assert!(!r.matches(&f, false));
        f.aws_account_id = Some("123456789012".into());
        f.resources[0].tags.insert("env".into(), "prod".into());
        assert!(r.matches(&f, false));
    }
}
