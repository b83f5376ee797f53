//! An exclusive lock next to the state file: `<state>.lock`, created with O_EXCL, holding who took it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    /// Names this lock for `secauto unlock`.
    #[serde(default)]
    pub id: String,
    pub pid: u32,
    pub host: String,
    pub command: String,
    pub since: String,
}

impl Holder {
    /// This process, running `command`, with a fresh lock id.
    pub fn me(command: &str) -> Holder {
        Holder {
            id: format!("{:016x}", fastrand::u64(..)),
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            command: command.into(),
            since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }

    /// A lock body; unreadable ones name an unknown holder.
    pub fn parse(body: &[u8]) -> Holder {
        serde_json::from_slice(body).unwrap_or(Holder {
            id: String::new(),
            pid: 0,
            host: "unknown host".into(),
            command: "unknown command".into(),
            since: "an unknown time".into(),
        })
    }

    /// True when the holder ran on this host and is no longer running: its lock may be taken over.
    pub fn died_here(&self) -> bool {
        self.pid != 0
            && self.host == gethostname::gethostname().to_string_lossy()
            && !process_alive(self.pid)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the state is locked by `{}` (pid {} on {}) since {}, lock id {}; wait for it to finish (--lock-timeout waits). If that run is gone, `secauto unlock {}` breaks the lock ({path})", .holder.command, .holder.pid, .holder.host, .holder.since, .holder.id, .holder.id)]
    Held { holder: Box<Holder>, path: String },
    #[error("the lock is held by `{}` (pid {} on {}) since {} with id {}, not {wanted}: nothing was unlocked", .holder.command, .holder.pid, .holder.host, .holder.since, .holder.id)]
    Mismatch { wanted: String, holder: Box<Holder> },
    #[error("the state is not locked ({path})")]
    NotLocked { path: String },
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
    id: String,
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
        let me = Holder::me(command);
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
                    return Ok(Lock { path, id: me.id });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let holder = Holder::parse(text.as_bytes());
                    if holder.died_here() {
                        tracing::warn!(
                            "taking over the lock of `{}` (pid {}), which is no longer running",
                            holder.command,
                            holder.pid
                        );
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    return Err(LockError::Held {
                        holder: Box::new(holder),
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

impl Lock {
    /// This lock's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Break the lock `id` of the state at `state` (`secauto unlock`).
    pub fn force_release(state: &Path, id: &str) -> Result<Holder, LockError> {
        let path = lock_path(state);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LockError::NotLocked {
                    path: path.display().to_string(),
                })
            }
            Err(source) => {
                return Err(LockError::Io {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        let holder = Holder::parse(&text);
        if holder.id != id {
            return Err(LockError::Mismatch {
                wanted: id.into(),
                holder: Box::new(holder),
            });
        }
        std::fs::remove_file(&path).map_err(|source| LockError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(holder)
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
            id: "dead".into(),
            pid: 999_999_999,
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            command: "secauto deploy".into(),
            since: "then".into(),
        };
        std::fs::write(lock_path(&state), serde_json::to_string(&holder).unwrap()).unwrap();
        Lock::acquire(&state, "b").unwrap();
    }

    #[test]
    fn unlock_breaks_only_the_named_lock() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let held = Lock::acquire(&state, "secauto deploy").unwrap();
        let err = Lock::force_release(&state, "0000").unwrap_err();
        assert!(err.to_string().contains(held.id()), "{err}");
        assert!(lock_path(&state).exists());
        let holder = Lock::force_release(&state, held.id()).unwrap();
        assert_eq!(holder.command, "secauto deploy");
        assert!(!lock_path(&state).exists());
        assert!(matches!(
            Lock::force_release(&state, "x"),
            Err(LockError::NotLocked { .. })
        ));
        std::mem::forget(held);
    }
}
