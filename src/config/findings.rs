//! `[findings]` and `[triage]`: which findings reach triage, and how triage decides.

use serde::{Deserialize, Serialize};

/// Severity labels of the AWS Security Finding Format.
pub const SEVERITIES: &[&str] = &["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

/// `[findings]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FindingsConfig {
    /// Severity labels the findings rule sends to triage.
    pub severities: Vec<String>,
}

impl Default for FindingsConfig {
    fn default() -> Self {
        FindingsConfig {
            severities: vec!["MEDIUM".into(), "HIGH".into(), "CRITICAL".into()],
        }
    }
}

/// `[triage]`: the ordered policy (`[[triage.rules]]`); the built-in default policy when absent.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TriageConfig {
    pub rules: Option<Vec<secauto_core::Rule>>,
}

impl TriageConfig {
    /// The policy triage runs.
    pub fn policy(&self) -> secauto_core::Policy {
        match &self.rules {
            Some(rules) => secauto_core::Policy {
                rules: rules.clone(),
            },
            None => secauto_core::Policy::default(),
        }
    }

    /// The policy as the compact JSON passed to the triage function.
    pub fn policy_json(&self) -> String {
        serde_json::to_string(&self.policy()).unwrap_or_default()
    }
}

impl FindingsConfig {
    /// Problems of `[findings]`.
    pub(super) fn check(&self, p: &mut Vec<String>) {
        if self.severities.is_empty() {
            p.push(format!(
                "[findings] severities is empty: list at least one of {}",
                SEVERITIES.join(", ")
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.severities {
            if !SEVERITIES.contains(&s.as_str()) {
                p.push(format!(
                    "[findings] severities: {s:?} is not a severity label; use {}",
                    SEVERITIES.join(", ")
                ));
            } else if !seen.insert(s) {
                p.push(format!("[findings] severities: {s:?} is listed twice"));
            }
        }
    }
}

impl TriageConfig {
    /// Problems of `[triage]`, the policy's own among them.
    pub(super) fn check(&self, p: &mut Vec<String>) {
        if self.rules.as_ref().is_some_and(Vec::is_empty) {
            p.push("[triage] rules is empty: remove it to use the default policy, or add [[triage.rules]] entries".into());
        }
        // Its size counts in triage's whole environment (stack::check_environment).
        p.extend(self.policy().validate());
    }
}
