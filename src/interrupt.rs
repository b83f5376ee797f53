//! SIGINT and SIGTERM (a CI runner cancelling a job sends SIGTERM, then SIGKILL a little later).
//!
//! The first signal stops new operations from starting; those in flight finish, each completed one
//! is written to the state as always, and the lock is released. A second signal abandons the
//! operations in flight: the state holds everything that completed, and what was in flight is found
//! by name and tag on the next run.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use tokio::sync::Notify;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicU8 = AtomicU8::new(0);
static ABANDON: Notify = Notify::const_new();

/// Exit code after an interruption (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// True once a signal asked the run to stop: start nothing new.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Resolves when a second signal asks to abandon what is in flight.
pub async fn abandoned() {
    loop {
        if SIGNALS.load(Ordering::SeqCst) >= 2 {
            return;
        }
        ABANDON.notified().await;
    }
}

fn on_signal(name: &str) {
    let n = SIGNALS.fetch_add(1, Ordering::SeqCst) + 1;
    REQUESTED.store(true, Ordering::SeqCst);
    if n == 1 {
        eprintln!(
            "{name}: stopping — nothing new starts; operations in flight finish and are recorded, then the lock is released (send it again to abandon them)"
        );
    } else {
        eprintln!("{name} again: abandoning the operations in flight");
        ABANDON.notify_waiters();
    }
}

/// Listen for SIGINT and SIGTERM for the rest of the process.
pub fn install() {
    tokio::spawn(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            loop {
                tokio::select! {
                    _ = int.recv() => on_signal("SIGINT"),
                    _ = term.recv() => on_signal("SIGTERM"),
                }
            }
        }
        #[cfg(not(unix))]
        while tokio::signal::ctrl_c().await.is_ok() {
            on_signal("interrupt");
        }
    });
}
