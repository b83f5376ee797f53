//! An exclusive lock next to the state file: `<state>.lock`, created with O_EXCL, holding who took it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub command: String,
    pub since: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the state is locked by `{}` (pid {} on {}) since {}; wait for it to finish. If that process is gone, delete {path}", .holder.command, .holder.pid, .holder.host, .holder.since)]
    Held { holder: Holder, path: String },
    #[error("cannot take the lock {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// A held lock; released (the file removed) on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

fn lock_path(state: &Path) -> PathBuf {
    let mut p = state.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists() || !Path::new("/proc/self").exists()
}

impl Lock {
    /// Take the lock for `command`. A lock left by a dead process on this host is taken over.
    pub fn acquire(state: &Path, command: &str) -> Result<Lock, LockError> {
        let path = lock_path(state);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| LockError::Io {
                path: path.display().to_string(),
                source,
            })?;
        }
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let me = Holder {
            pid: std::process::id(),
            host: host.clone(),
            command: command.into(),
            since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    let body = serde_json::to_string(&me).unwrap_or_default();
                    f.write_all(body.as_bytes())
                        .and_then(|_| f.sync_all())
                        .map_err(|source| LockError::Io {
                            path: path.display().to_string(),
                            source,
                        })?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let holder: Holder = serde_json::from_str(&text).unwrap_or(Holder {
                        pid: 0,
                        host: "unknown host".into(),
                        command: "unknown command".into(),
                        since: "an unknown time".into(),
                    });
                    if holder.host == host && holder.pid != 0 && !process_alive(holder.pid) {
                        tracing::warn!(
                            "taking over the lock of `{}` (pid {}), which is no longer running",
                            holder.command,
                            holder.pid
                        );
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    return Err(LockError::Held {
                        holder,
                        path: path.display().to_string(),
                    });
                }
                Err(source) => {
                    return Err(LockError::Io {
                        path: path.display().to_string(),
                        source,
                    })
                }
            }
        }
        Err(LockError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other("lock kept reappearing"),
        })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_with_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let _held = Lock::acquire(&state, "secauto deploy").unwrap();
        let err = Lock::acquire(&state, "secauto destroy").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("secauto deploy"), "{msg}");
        assert!(msg.contains(&std::process::id().to_string()), "{msg}");
    }

    #[test]
    fn released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        drop(Lock::acquire(&state, "a").unwrap());
        Lock::acquire(&state, "b").unwrap();
    }

    #[test]
    fn stale_lock_of_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let holder = Holder {
            pid: 999_999_999,
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            command: "secauto deploy".into(),
            since: "then".into(),
        };
        std::fs::write(lock_path(&state), serde_json::to_string(&holder).unwrap()).unwrap();
        Lock::acquire(&state, "b").unwrap();
    }
}
