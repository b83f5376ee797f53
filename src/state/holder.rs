//! Who holds a state lock, and when a holder is provably gone.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    /// Names this lock for `secauto unlock`; unique per run, so a run knows its own lock.
    #[serde(default)]
    pub id: String,
    pub pid: u32,
    pub host: String,
    /// The holder machine's boot (`/proc/sys/kernel/random/boot_id`): another machine or boot of
    /// the same host name is not this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// The holder's PID namespace (`readlink /proc/self/ns/pid`): containers of one host share its
    /// name and boot, not their PIDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_ns: Option<String>,
    pub command: String,
    pub since: String,
}

/// Where a process runs: what must match before a missing `/proc/<pid>` proves a holder dead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    pub host: String,
    pub boot_id: Option<String>,
    pub pid_ns: Option<String>,
}

impl Place {
    /// This process's place.
    pub fn here() -> Place {
        Place {
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            pid_ns: std::fs::read_link("/proc/self/ns/pid")
                .ok()
                .map(|p| p.to_string_lossy().into_owned()),
        }
    }
}

impl Holder {
    /// This process, running `command`, with a fresh lock id.
    pub fn me(command: &str) -> Holder {
        let here = Place::here();
        Holder {
            id: format!("{:016x}", fastrand::u64(..)),
            pid: std::process::id(),
            host: here.host,
            boot_id: here.boot_id,
            pid_ns: here.pid_ns,
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
            boot_id: None,
            pid_ns: None,
            command: "unknown command".into(),
            since: "an unknown time".into(),
        })
    }

    /// True when the holder provably ended: its lock may be taken over.
    pub fn died_here(&self) -> bool {
        self.died_at(&Place::here(), process_alive)
    }

    /// True when the holder ran at `here` (same host name, boot and PID namespace) and its pid is
    /// not `alive` there. A lock that does not say its boot and namespace (older secauto) is never
    /// judged dead: `secauto unlock` breaks it.
    pub(crate) fn died_at(&self, here: &Place, alive: impl Fn(u32) -> bool) -> bool {
        let same =
            |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a == b);
        self.pid != 0
            && self.host == here.host
            && same(&self.boot_id, &here.boot_id)
            && same(&self.pid_ns, &here.pid_ns)
            && !alive(self.pid)
    }
}

/// Without a `/proc` nothing proves a process gone: it counts as alive.
fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists() || !Path::new("/proc/self").exists()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place {
            host: "runner".into(),
            boot_id: Some("b-1".into()),
            pid_ns: Some("pid:[4026531836]".into()),
        }
    }

    fn holder_at(p: &Place) -> Holder {
        Holder {
            id: "x".into(),
            pid: 4242,
            host: p.host.clone(),
            boot_id: p.boot_id.clone(),
            pid_ns: p.pid_ns.clone(),
            command: "secauto deploy".into(),
            since: "then".into(),
        }
    }

    #[test]
    fn dead_only_when_host_boot_and_namespace_all_match() {
        let here = place();
        let gone = |_| false;
        assert!(holder_at(&here).died_at(&here, gone));
        assert!(!holder_at(&here).died_at(&here, |_| true), "a live pid");
        let mut other_ns = holder_at(&here);
        other_ns.pid_ns = Some("pid:[4026532999]".into());
        assert!(
            !other_ns.died_at(&here, gone),
            "another container with the same host name"
        );
        let mut other_boot = holder_at(&here);
        other_boot.boot_id = Some("b-2".into());
        assert!(!other_boot.died_at(&here, gone));
        let mut other_host = holder_at(&here);
        other_host.host = "elsewhere".into();
        assert!(!other_host.died_at(&here, gone));
    }

    #[test]
    fn a_lock_without_boot_or_namespace_is_never_judged_dead() {
        let here = place();
        let old: Holder = serde_json::from_str(
            r#"{"id":"5ca1ab1e","pid":4242,"host":"runner","command":"secauto deploy","since":"then"}"#,
        )
        .unwrap();
        assert!(!old.died_at(&here, |_| false));
        let mut no_ns_here = here.clone();
        no_ns_here.pid_ns = None;
        assert!(!holder_at(&no_ns_here).died_at(&no_ns_here, |_| false));
    }

    #[test]
    fn me_records_boot_and_namespace_on_linux() {
        let me = Holder::me("secauto deploy");
        if Path::new("/proc/self/ns/pid").exists() {
            assert!(me.pid_ns.as_deref().unwrap().starts_with("pid:["), "{me:?}");
            assert!(me.boot_id.is_some(), "{me:?}");
        }
        let text = serde_json::to_string(&me).unwrap();
        assert_eq!(Holder::parse(text.as_bytes()), me);
    }
}
