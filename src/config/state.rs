//! `[state]`: where the record of what the stack owns is kept.

use serde::{Deserialize, Serialize};

/// `[state]`: where the record of what the stack owns is kept.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// `local` (a file; the default) or `s3` (shared by every CI runner, locked by conditional writes).
    pub backend: StateBackend,
    /// Local: the file [default: `.secauto/<stack>/<region>.json`].
    pub path: Option<String>,
    /// S3: the bucket (versioning on is recommended).
    pub bucket: Option<String>,
    /// S3: the object key [default: `secauto/<stack>/<region>.json`].
    pub key: Option<String>,
    /// S3: the bucket's region when it is not the stack's.
    pub region: Option<String>,
    /// S3: encrypt the state and its lock with SSE-KMS under this key (id, ARN or alias)
    /// [default: none sent; the bucket's default encryption applies].
    pub kms_key: Option<String>,
}

/// `[state] backend`
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StateBackend {
    #[default]
    Local,
    S3,
}

impl StateConfig {
    /// Problems of `[state]`.
    pub(super) fn check(&self, p: &mut Vec<String>) {
        let st = self;
        match st.backend {
            StateBackend::S3 => {
                match &st.bucket {
                    None => p.push("[state] backend = \"s3\" needs bucket = \"<bucket name>\"".into()),
                    Some(b)
                        if b.len() < 3
                            || b.len() > 63
                            || !b.chars().all(|c| {
                                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
                            }) =>
                    {
                        p.push(format!("[state] bucket {b:?} is not an S3 bucket name (3–63 lowercase letters, digits, hyphens, dots)"))
                    }
                    Some(_) => {}
                }
                if st.path.is_some() {
                    p.push("[state] path is for backend = \"local\"; the S3 backend takes bucket and key".into());
                }
                if st
                    .key
                    .as_deref()
                    .is_some_and(|k| k.is_empty() || k.ends_with('/'))
                {
                    p.push(
                        "[state] key must name an object, like \"secauto/prod/us-east-1.json\""
                            .into(),
                    );
                }
                if let Some(r) = st.region.as_deref().filter(|r| !super::is_region(r)) {
                    p.push(format!("[state] region {r:?} is not an AWS region name"));
                }
                if st.kms_key.as_deref().is_some_and(|k| k.trim().is_empty()) {
                    p.push("[state] kms_key is empty: name a KMS key (id, ARN or alias/<name>), or remove it to use the bucket's default encryption".into());
                }
            }
            StateBackend::Local => {
                for (field, set) in [
                    ("bucket", st.bucket.is_some()),
                    ("key", st.key.is_some()),
                    ("region", st.region.is_some()),
                    ("kms_key", st.kms_key.is_some()),
                ] {
                    if set {
                        p.push(format!("[state] {field} is for backend = \"s3\"; set backend = \"s3\" or remove it"));
                    }
                }
            }
        }
    }
}
