//! `[notifications]`: who is told, and the key that protects what they are told.

use serde::{Deserialize, Serialize};

/// `[notifications]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// Email addresses subscribed to the topic (each must confirm by mail).
    pub emails: Vec<String>,
    /// HTTPS endpoints subscribed to the topic.
    pub https: Vec<String>,
    /// SQS queue ARNs subscribed to the topic (their queue policy must let the topic send).
    pub sqs: Vec<String>,
    /// KMS key for the topic and the functions' environment: an alias, key id or ARN; the stack's
    /// own key when unset; `alias/aws/sns` opts out to the AWS-managed keys (alarms cannot notify).
    pub kms_key: Option<String>,
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
        && !domain.contains('@')
}

impl NotificationsConfig {
    /// Problems of `[notifications]`.
    pub(super) fn check(&self, p: &mut Vec<String>) {
        if let Some(key) = &self.kms_key {
            let is_alias = key.starts_with("alias/") && key.len() > "alias/".len();
            let is_arn = key.starts_with("arn:") && key.split(':').nth(2) == Some("kms");
            let is_id = key.len() >= 32
                && key
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == '-' || c == 'm' || c == 'r' || c == 'k');
            if !(is_alias || is_arn || is_id) {
                p.push(format!(
                    "[notifications] kms_key {key:?} is not a KMS key: use an alias (\"alias/my-key\"), a key ARN or a key id; remove it to use the stack's own key"
                ));
            }
        }
        for e in &self.emails {
            if !is_email(e) {
                p.push(format!(
                    "[notifications] emails: {e:?} is not an email address"
                ));
            }
        }
        for u in &self.https {
            if !u.starts_with("https://") || u.len() <= "https://".len() || u.contains(' ') {
                p.push(format!(
                    "[notifications] https: {u:?} must be an https:// URL"
                ));
            }
        }
        for a in &self.sqs {
            let parts: Vec<&str> = a.split(':').collect();
            if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[5].is_empty() {
                p.push(format!(
                    "[notifications] sqs: {a:?} must be a queue ARN (arn:aws:sqs:<region>:<account>:<name>)"
                ));
            }
        }
    }
}
