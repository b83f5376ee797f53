//! An exclusive lock next to a local state file: `<state>.lock`, created with O_EXCL, holding who
//! took it.
//!
//! Creating the file is atomic; replacing or removing an existing one is not, so every run that
//! replaces (takes over a dead holder's lock) or removes (release, `unlock`) a lock does it while
//! holding an advisory `flock` on the lock's directory, after reading the lock again. Nobody can
//! then change the file between that read and the write: the lock file is only ever created where
//! there is none, and replaced or removed under the guard. A takeover renames a fresh lock over
//! the dead one, so there is no moment without a lock file.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::holder::{Holder, LockError};

/// A held lock; released (the file removed, if it is still this run's) on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    id: String,
}

pub(crate) fn lock_path(state: &Path) -> PathBuf {
    let mut p = state.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> LockError + '_ {
    move |source| LockError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Write `body` to a new file at `path`, failing if one exists.
fn create_new(path: &Path, body: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(body)?;
    f.sync_all()
}

/// Replace whatever is at `path` with `body` in one step (a temporary file renamed over it).
fn replace(path: &Path, body: &[u8], id: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{id}.tmp"));
    let tmp = PathBuf::from(tmp);
    create_new(&tmp, body)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Read the lock at `path`; `None` when there is none.
fn read(path: &Path) -> Result<Option<Vec<u8>>, LockError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// The guard every replace and remove of a lock file holds: an exclusive `flock` on the lock's
/// directory, released when dropped. Taking it waits a moment (others hold it for microseconds).
struct Guard {
    #[cfg(unix)]
    _dir: std::fs::File,
}

impl Guard {
    /// `None`: another run held the guard all the while.
    #[cfg(unix)]
    fn take(lock: &Path) -> Result<Option<Guard>, LockError> {
        use rustix::fs::{flock, FlockOperation};
        let dir = lock
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let file = std::fs::File::open(dir).map_err(io_error(lock))?;
        for _ in 0..100 {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(Some(Guard { _dir: file })),
                Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Err(e) => return Err(io_error(lock)(e.into())),
            }
        }
        Ok(None)
    }

    /// Without `flock` (not Unix) there is no guard; takeovers and releases are then only as safe
    /// as a read just before the write.
    #[cfg(not(unix))]
    fn take(_lock: &Path) -> Result<Option<Guard>, LockError> {
        Ok(Some(Guard {}))
    }
}

/// Called between reading a lock and replacing or removing it; tests put another run there.
#[cfg(test)]
fn between_read_and_write() {
    let hook = tests::BETWEEN.with(|h| h.borrow_mut().take());
    if let Some(mut f) = hook {
        f();
    }
}

#[cfg(not(test))]
fn between_read_and_write() {}

impl Lock {
    /// Take the lock for `command`. A lock whose holder provably ended is taken over.
    pub fn acquire(state: &Path, command: &str) -> Result<Lock, LockError> {
        let path = lock_path(state);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_error(&path))?;
        }
        let me = Holder::me(command);
        let body = serde_json::to_vec(&me).unwrap_or_default();
        let held = |holder: Holder| LockError::Held {
            holder: Box::new(holder),
            path: path.display().to_string(),
        };
        for _ in 0..2 {
            match create_new(&path, &body) {
                Ok(()) => return Ok(Lock { path, id: me.id }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_error(&path)(e)),
            }
            let Some(_guard) = Guard::take(&path)? else {
                // Another run is taking over or releasing this very lock right now.
                return Err(held(Holder::parse(&read(&path)?.unwrap_or_default())));
            };
            let Some(current) = read(&path)? else {
                continue; // released in between: create it again
            };
            let holder = Holder::parse(&current);
            between_read_and_write();
            if !holder.died_here() {
                return Err(held(holder));
            }
            tracing::warn!(
                "taking over the lock of `{}` (pid {}), which is no longer running",
                holder.command,
                holder.pid
            );
            replace(&path, &body, &me.id).map_err(io_error(&path))?;
            return Ok(Lock { path, id: me.id });
        }
        Err(io_error(&path)(std::io::Error::other(
            "lock kept reappearing",
        )))
    }

    /// This lock's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Remove the lock at `path` if its id is `id`; otherwise say who holds it.
    fn remove_if(path: &Path, id: &str) -> Result<Holder, LockError> {
        let Some(_guard) = Guard::take(path)? else {
            return Err(io_error(path)(std::io::Error::other(
                "another run is taking over or releasing this lock right now; try again",
            )));
        };
        let Some(text) = read(path)? else {
            return Err(LockError::NotLocked {
                path: path.display().to_string(),
            });
        };
        let holder = Holder::parse(&text);
        between_read_and_write();
        if holder.id != id {
            return Err(LockError::Mismatch {
                wanted: id.into(),
                holder: Box::new(holder),
            });
        }
        std::fs::remove_file(path).map_err(io_error(path))?;
        Ok(holder)
    }

    /// Break the lock `id` of the state at `state` (`secauto unlock`).
    pub fn force_release(state: &Path, id: &str) -> Result<Holder, LockError> {
        Lock::remove_if(&lock_path(state), id)
    }
}

impl Drop for Lock {
    /// Remove the lock only while it is still this run's (`unlock` and a takeover may have given it
    /// to another run since).
    fn drop(&mut self) {
        match Lock::remove_if(&self.path, &self.id) {
            Ok(_) | Err(LockError::NotLocked { .. }) => {}
            Err(LockError::Mismatch { holder, .. }) => tracing::warn!(
                "the lock {} is no longer this run's (now `{}`, id {}): left in place",
                self.path.display(),
                holder.command,
                holder.id
            ),
            Err(e) => eprintln!("warning: could not release the lock: {e}"),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::RefCell;

    thread_local! {
        pub(crate) static BETWEEN: RefCell<Option<Box<dyn FnMut()>>> = RefCell::new(None);
    }

    /// Run `f` once, the next time a lock is read before a replace or remove.
    fn between(f: impl FnMut() + 'static) {
        BETWEEN.with(|h| *h.borrow_mut() = Some(Box::new(f)));
    }

    fn dead_holder_here() -> Holder {
        Holder {
            id: "dead".into(),
            pid: 999_999_999,
            command: "secauto deploy".into(),
            since: "then".into(),
            ..Holder::me("x")
        }
    }

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
        let dead = serde_json::to_string(&dead_holder_here()).unwrap();
        std::fs::write(lock_path(&state), dead).unwrap();
        let l = Lock::acquire(&state, "b").unwrap();
        let now = Holder::parse(&std::fs::read(lock_path(&state)).unwrap());
        assert_eq!(now.id, l.id());
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

    #[test]
    fn drop_leaves_a_lock_that_changed_hands() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let a = Lock::acquire(&state, "secauto deploy").unwrap();
        Lock::force_release(&state, a.id()).unwrap();
        let b = Lock::acquire(&state, "secauto destroy").unwrap();
        drop(a);
        let now = Holder::parse(&std::fs::read(lock_path(&state)).unwrap());
        assert_eq!(now.id, b.id(), "a's release removed b's lock");
    }

    #[test]
    fn a_run_in_the_takeover_window_cannot_take_the_lock_too() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let dead = serde_json::to_string(&dead_holder_here()).unwrap();
        std::fs::write(lock_path(&state), dead).unwrap();
        // Between this run's read of the dead lock and its takeover, another run tries the same.
        let other = std::rc::Rc::new(RefCell::new(None));
        let seen = other.clone();
        let at = state.clone();
        between(move || *seen.borrow_mut() = Some(Lock::acquire(&at, "secauto destroy")));
        let mine = Lock::acquire(&state, "secauto deploy").unwrap();
        let other = other.borrow_mut().take().expect("the other run ran");
        assert!(
            matches!(other, Err(LockError::Held { .. })),
            "both runs hold the lock: {other:?}"
        );
        let now = Holder::parse(&std::fs::read(lock_path(&state)).unwrap());
        assert_eq!(now.id, mine.id());
    }

    #[test]
    fn a_takeover_in_the_release_window_is_not_undone() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let a = Lock::acquire(&state, "secauto deploy").unwrap();
        let a_id = a.id().to_string();
        // Between a's read of its lock and the removal, `unlock` and another run act.
        let other = std::rc::Rc::new(RefCell::new(None));
        let seen = other.clone();
        let at = state.clone();
        between(move || {
            let _ = Lock::force_release(&at, &a_id);
            *seen.borrow_mut() = Some(Lock::acquire(&at, "secauto destroy"));
        });
        drop(a);
        let got = other.borrow_mut().take().expect("the other run ran");
        match got {
            Ok(b) => {
                let now = read(&lock_path(&state)).unwrap();
                let now = now.map(|t| Holder::parse(&t).id);
                assert_eq!(now.as_deref(), Some(b.id()), "a's release removed b's lock");
                std::mem::forget(b);
            }
            Err(e) => assert!(matches!(e, LockError::Held { .. }), "{e}"),
        }
    }
}
