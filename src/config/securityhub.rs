//! `[securityhub]`: which finding feeds reach triage, automation rules and custom actions.

use serde::{Deserialize, Serialize};

/// A feed of findings Security Hub puts on the default EventBridge bus.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Feed {
    /// Security Hub CSPM's ASFF findings: detail-type "Security Hub Findings - Imported".
    Cspm,
    /// Today's Security Hub's OCSF findings: detail-type "Findings Imported V2".
    Ocsf,
}

impl Feed {
    pub fn as_str(self) -> &'static str {
        match self {
            Feed::Cspm => "cspm",
            Feed::Ocsf => "ocsf",
        }
    }
}

/// Both feeds: an account may run Security Hub CSPM, today's Security Hub, or both.
pub const FEEDS: &[Feed] = &[Feed::Cspm, Feed::Ocsf];

/// `[securityhub]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityHubConfig {
    /// The feeds the stack subscribes triage to: `cspm` (ASFF), `ocsf` (Findings Imported V2), or both.
    pub feeds: Vec<Feed>,
    pub automation_rules: bool,
    pub custom_actions: bool,
    /// Prefix of the custom action ids (letters and digits, at most 11); derived from the stack name by default.
    pub action_id_prefix: Option<String>,
}

impl Default for SecurityHubConfig {
    fn default() -> Self {
        SecurityHubConfig {
            feeds: FEEDS.to_vec(),
            automation_rules: true,
            custom_actions: true,
            action_id_prefix: None,
        }
    }
}

impl SecurityHubConfig {
    /// Whether the stack subscribes to `feed`.
    pub fn subscribes(&self, feed: Feed) -> bool {
        self.feeds.contains(&feed)
    }

    /// Problems of `[securityhub]`.
    pub(super) fn check(&self, p: &mut Vec<String>) {
        if self.feeds.is_empty() {
            p.push("[securityhub] feeds is empty, so no finding would reach triage: list \"cspm\" (Security Hub CSPM, ASFF), \"ocsf\" (Security Hub, Findings Imported V2) or both, or remove the key for both".into());
        }
        for (i, f) in self.feeds.iter().enumerate() {
            if self.feeds[..i].contains(f) {
                p.push(format!(
                    "[securityhub] feeds: {:?} is listed twice",
                    f.as_str()
                ));
            }
        }
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
