//! SIGINT and SIGTERM (a CI runner cancelling a job sends SIGTERM, then SIGKILL a little later).
//!
//! Every command exits 130 on a signal. deploy and destroy stop gracefully: the first signal stops
//! new operations from starting; those in flight finish, each completed one is written to the
//! state as always, and the lock is released. A second signal abandons the operations in flight:
//! the state holds everything that completed, and what was in flight is found by name and tag on
//! the next run. Every other command (and deploy and destroy before they hold the lock, or at
//! destroy's prompt) stops at the first signal.

use std::sync::atomic::{AtomicU8, Ordering};

use tokio::sync::Notify;

static SIGNALS: AtomicU8 = AtomicU8::new(0);
static SIGNALLED: Notify = Notify::const_new();

/// Stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it); listed with the other exit
/// codes in `exit`.
pub const EXIT_INTERRUPTED: u8 = 130;

/// A run stopped by a signal before it held its lock: nothing was changed.
#[derive(Debug, thiserror::Error)]
#[error("interrupted before anything was changed")]
pub struct Interrupted;

/// True once a signal asked the run to stop: start nothing new.
pub fn requested() -> bool {
    SIGNALS.load(Ordering::SeqCst) >= 1
}

/// Resolves at the first signal (at once if one came already).
pub async fn signalled() {
    at_least(1).await
}

/// Resolves when a second signal asks to abandon what is in flight.
pub async fn abandoned() {
    at_least(2).await
}

async fn at_least(n: u8) {
    loop {
        // Made before the check: `notify_waiters` reaches a `Notified` from its creation on.
        let next = SIGNALLED.notified();
        if SIGNALS.load(Ordering::SeqCst) >= n {
            return;
        }
        next.await;
    }
}

/// Run `work` until it ends or a signal comes; `EXIT_INTERRUPTED` then (also when `work` itself
/// stopped with [`Interrupted`]).
pub async fn or_exit<F: std::future::Future<Output = anyhow::Result<u8>>>(
    work: F,
) -> anyhow::Result<u8> {
    let r = tokio::select! {
        r = work => r,
        _ = signalled() => Ok(EXIT_INTERRUPTED),
    };
    match r {
        Err(e) if e.is::<Interrupted>() => Ok(EXIT_INTERRUPTED),
        other => other,
    }
}

/// Run `work` until it ends (`Some`) or a signal comes (`None`): for what comes before a lock is
/// held, where nothing is in flight that a state must record.
pub async fn unless_signalled<T, F: std::future::Future<Output = anyhow::Result<T>>>(
    work: F,
) -> anyhow::Result<Option<T>> {
    tokio::select! {
        r = work => r.map(Some),
        _ = signalled() => Ok(None),
    }
}

fn on_signal(name: &str) {
    let n = SIGNALS.fetch_add(1, Ordering::SeqCst).saturating_add(1);
    if n == 1 {
        eprintln!(
            "{name}: stopping — nothing new starts; a deploy or destroy lets the operations in flight finish and be recorded, then releases the lock (send it again to abandon them)"
        );
    } else {
        eprintln!("{name} again: abandoning the operations in flight");
    }
    SIGNALLED.notify_waiters();
}

/// Listen for SIGINT and SIGTERM for the rest of the process. The handlers are in place when this
/// returns (inside the runtime), so no signal after it ends the process the default way.
pub fn install() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = int.recv() => on_signal("SIGINT"),
                    _ = term.recv() => on_signal("SIGTERM"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            on_signal("interrupt");
        }
    });
}
