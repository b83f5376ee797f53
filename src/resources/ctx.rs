//! The context every resource operation takes: clients and stack-wide settings.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::aws::Clients;

/// Operations in flight at once by default (`--parallelism`): enough to overlap round trips, few
/// enough not to trip the control planes' rate limits.
pub const CONCURRENCY: usize = 8;

/// Everything a resource operation needs: clients and stack-wide settings.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub clients: Clients,
    pub stack: String,
    /// The stack's region: account-global resources of another region's stack are not ours.
    pub region: String,
    /// Every tag a taggable resource carries, `secauto:stack` and `secauto:region` included.
    pub tags: BTreeMap<String, String>,
    /// Bound of the retries while IAM propagates a new role (Lambda, KMS).
    pub role_wait: Duration,
    /// One lock per function: AWS loses statements of concurrent AddPermission/RemovePermission
    /// calls on one function, so they are serialised (as the Terraform AWS provider does).
    pub function_locks: FunctionLocks,
    /// Operations in flight at once (`--parallelism`).
    pub parallelism: usize,
    /// A fleet's member stack: it holds IAM and SSM resources only, and reads and deletes nothing
    /// else (its deploy role needs no other service).
    pub member: bool,
    /// What the run learnt about keys: ARNs by alias (a function's key, named by the alias the
    /// run itself just made, needs no DescribeKey) and the unnamed keys of the stack (searched
    /// once, while the plan reads).
    pub keys: KeyCache,
}

/// See [`Ctx::keys`]; shared by every clone of a [`Ctx`].
#[derive(Clone, Debug, Default)]
pub struct KeyCache {
    pub arns: Arc<std::sync::Mutex<BTreeMap<String, String>>>,
    pub orphans: Arc<tokio::sync::OnceCell<Vec<String>>>,
}

impl Ctx {
    /// A context for `stack` in `region`, tagging with `tags`, retrying IAM propagation for `role_wait`.
    pub fn new(
        clients: Clients,
        stack: &str,
        region: &str,
        tags: BTreeMap<String, String>,
        role_wait: Duration,
    ) -> Ctx {
        Ctx {
            clients,
            stack: stack.into(),
            region: region.into(),
            tags,
            role_wait,
            function_locks: FunctionLocks::default(),
            parallelism: CONCURRENCY,
            member: false,
            keys: KeyCache::default(),
        }
    }
}

/// Per-function mutexes, shared by every clone of a [`Ctx`].
#[derive(Clone, Debug, Default)]
pub struct FunctionLocks(Arc<std::sync::Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>>);

impl FunctionLocks {
    /// Hold the lock of `function` for as long as the guard lives.
    pub async fn lock(&self, function: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let m = {
            let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(function.to_string()).or_default().clone()
        };
        m.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_on_one_function_never_overlap() {
        let locks = FunctionLocks::default();
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (locks, inside, most) = (locks.clone(), inside.clone(), most.clone());
                tokio::spawn(async move {
                    let name = if i % 2 == 0 { "a" } else { "b" };
                    let _g = locks.lock(name).await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // Two functions may proceed side by side, never two calls on one function.
        assert!(most.load(Ordering::SeqCst) <= 2);
    }
}
