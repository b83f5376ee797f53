//! `[securityhub]`: automation rules and custom actions.

use serde::{Deserialize, Serialize};

/// `[securityhub]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityHubConfig {
    pub automation_rules: bool,
    pub custom_actions: bool,
    /// Prefix of the custom action ids (letters and digits, at most 11); derived from the stack name by default.
    pub action_id_prefix: Option<String>,
}

impl Default for SecurityHubConfig {
    fn default() -> Self {
        SecurityHubConfig {
            automation_rules: true,
            custom_actions: true,
            action_id_prefix: None,
        }
    }
}

impl SecurityHubConfig {
    /// Problems of `[securityhub]`.
    pub(super) fn check(&self, p: &mut Vec<String>) {
        if let Some(prefix) = &self.action_id_prefix {
            if prefix.is_empty()
                || prefix.len() > 11
                || !prefix.chars().all(|c| c.is_ascii_alphanumeric())
            {
                p.push(format!(
                    "[securityhub] action_id_prefix {prefix:?} must be 1-11 letters or digits (custom action ids are at most 20 alphanumeric characters)"
                ));
            }
        }
    }
}
