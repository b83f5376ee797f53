//! The state file: what the stack owns (address → kind, physical id, ARN, spec hash, dependencies).
//! Written atomically after every completed operation; guarded by a lock file.

mod holder;
mod local;
mod s3;
mod store;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::resources::Kind;

pub use holder::{Holder, LockError};
pub use local::Lock;
pub use store::{Backend, S3Lock, StateLock, Store};

/// The state file format version this build writes and reads.
pub const VERSION: u32 = 1;

/// One owned resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub kind: Kind,
    pub physical_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// SHA-256 of the spec last applied.
    pub spec_hash: String,
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// The whole state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub stack: String,
    pub region: String,
    pub account: String,
    pub resources: BTreeMap<String, Record>,
}

impl State {
    pub fn new(stack: &str, region: &str, account: &str) -> Self {
        State {
            version: VERSION,
            stack: stack.into(),
            region: region.into(),
            account: account.into(),
            resources: BTreeMap::new(),
        }
    }

    /// Read a state file; a missing file is an empty state.
    pub fn load(path: &Path, stack: &str, region: &str, account: &str) -> Result<State> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State::new(stack, region, account))
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read state file {}", path.display()))
            }
        };
        State::parse(&text, &path.display().to_string(), stack, region, account)
    }

    /// Parse a state document read from `origin` and check it is this stack's.
    pub fn parse(
        text: &str,
        origin: &str,
        stack: &str,
        region: &str,
        account: &str,
    ) -> Result<State> {
        let state: State = serde_json::from_str(text).with_context(|| {
            format!(
                "state {origin} is not valid secauto state; restore it from your backup (or the bucket's previous version) or move it away (live resources are found by name and tag on the next run)"
            )
        })?;
        if state.version != VERSION {
            anyhow::bail!(
                "state {origin} has version {}; this secauto reads version {VERSION}",
                state.version
            );
        }
        if state.stack != stack || state.account != account || state.region != region {
            anyhow::bail!(
                "state {origin} belongs to stack {:?} in account {} region {}, not stack {stack:?} in account {account} region {region}: pass --state for this stack",
                state.stack,
                state.account,
                state.region
            );
        }
        Ok(state)
    }

    /// Write atomically: a temporary file in the same directory (mode 0600), fsync, rename.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create state directory {}", dir.display()))?;
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
            std::process::id()
        ));
        let mut body = serde_json::to_vec_pretty(self)?;
        body.push(b'\n');
        {
            let mut f = open_private(&tmp)
                .with_context(|| format!("cannot write state file {}", tmp.display()))?;
            f.write_all(&body)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot replace state file {}", path.display()))?;
        Ok(())
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

/// The default state path of a stack.
/// The default state file: `.secauto/<stack>/<region>.json`, one per region, since one stack per
/// region of an account is the normal setup.
pub fn default_path(stack: &str, region: &str) -> PathBuf {
    PathBuf::from(".secauto")
        .join(stack)
        .join(format!("{region}.json"))
}

/// The state file of a stack in an assumed role's account: `.secauto/<stack>/<account>/<region>.json`.
pub fn account_path(stack: &str, account: &str, region: &str) -> PathBuf {
    PathBuf::from(".secauto")
        .join(stack)
        .join(account)
        .join(format!("{region}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_roundtrip_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/s.json");
        let mut s = State::new("a", "us-east-1", "123456789012");
        s.resources.insert(
            "iam_role.lambda".into(),
            Record {
                kind: Kind::IamRole,
                physical_id: "a-lambda".into(),
                arn: None,
                spec_hash: "x".into(),
                depends_on: vec![],
            },
        );
        s.save(&path).unwrap();
        assert_eq!(
            State::load(&path, "a", "us-east-1", "123456789012").unwrap(),
            s
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn wrong_stack_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        State::new("a", "us-east-1", "123456789012")
            .save(&path)
            .unwrap();
        let err = State::load(&path, "b", "us-east-1", "123456789012").unwrap_err();
        assert!(err.to_string().contains("--state"), "{err}");
    }

    #[test]
    fn corrupt_state_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = State::load(&path, "a", "us-east-1", "123456789012").unwrap_err();
        assert!(err.to_string().contains("not valid secauto state"), "{err}");
    }
}
