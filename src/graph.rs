//! The dependency graph of a stack: cycle check, topological levels, and the walk that runs each
//! node as soon as its own dependencies are done.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use futures::stream::{FuturesUnordered, StreamExt};

/// A node's dependencies name a node that is not in the graph, or the graph has a cycle.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GraphError {
    #[error("{node} depends on {missing}, which is not part of the stack")]
    MissingDependency { node: String, missing: String },
    #[error("dependency cycle among: {}", .0.join(", "))]
    Cycle(Vec<String>),
}

/// Group nodes into levels: every node's dependencies are in earlier levels.
/// Nodes of one level are independent of each other and may run concurrently.
pub fn levels(nodes: &BTreeMap<String, Vec<String>>) -> Result<Vec<Vec<String>>, GraphError> {
    for (node, deps) in nodes {
        for d in deps {
            if !nodes.contains_key(d) {
                return Err(GraphError::MissingDependency {
                    node: node.clone(),
                    missing: d.clone(),
                });
            }
        }
    }
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    while done.len() < nodes.len() {
        let level: Vec<String> = nodes
            .iter()
            .filter(|(n, deps)| {
                !done.contains(n.as_str()) && deps.iter().all(|d| done.contains(d.as_str()))
            })
            .map(|(n, _)| n.clone())
            .collect();
        if level.is_empty() {
            let rest = nodes
                .keys()
                .filter(|n| !done.contains(n.as_str()))
                .cloned()
                .collect();
            return Err(GraphError::Cycle(rest));
        }
        for n in &level {
            let key = nodes
                .get_key_value(n)
                .map(|(k, _)| k.as_str())
                .unwrap_or_default();
            done.insert(key);
        }
        out.push(level);
    }
    Ok(out)
}

/// Levels for deletion: dependents before their dependencies. Dependencies on nodes outside the
/// set are ignored (they are not being deleted).
pub fn reverse_levels(
    nodes: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<Vec<String>>, GraphError> {
    let pruned: BTreeMap<String, Vec<String>> = nodes
        .iter()
        .map(|(n, deps)| {
            (
                n.clone(),
                deps.iter()
                    .filter(|d| nodes.contains_key(*d))
                    .cloned()
                    .collect(),
            )
        })
        .collect();
    let mut l = levels(&pruned)?;
    l.reverse();
    Ok(l)
}

/// The same graph with every edge turned around (dependents first): for deletion. Edges to nodes
/// outside the graph are dropped.
pub fn reversed(nodes: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> =
        nodes.keys().map(|n| (n.clone(), Vec::new())).collect();
    for (n, deps) in nodes {
        for d in deps.iter().filter(|d| nodes.contains_key(*d)) {
            if let Some(v) = out.get_mut(d) {
                v.push(n.clone());
            }
        }
    }
    out
}

/// Each node's height: the number of nodes on the longest chain from it to a node nothing depends
/// on (1 for such a node). A cycle counts its nodes once.
pub fn heights(nodes: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, usize> {
    fn height(
        n: &str,
        dependents: &BTreeMap<String, Vec<String>>,
        memo: &mut BTreeMap<String, usize>,
        visiting: &mut BTreeSet<String>,
    ) -> usize {
        if let Some(h) = memo.get(n) {
            return *h;
        }
        if !visiting.insert(n.to_string()) {
            return 0;
        }
        let h = 1 + dependents
            .get(n)
            .map(|ds| {
                ds.iter()
                    .map(|d| height(d, dependents, memo, visiting))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        visiting.remove(n);
        memo.insert(n.to_string(), h);
        h
    }
    let dependents = reversed(nodes);
    let mut memo = BTreeMap::new();
    for n in nodes.keys() {
        height(n, &dependents, &mut memo, &mut BTreeSet::new());
    }
    memo
}

/// Run `op` on every node as soon as all of its dependencies succeeded, at most `parallelism` at a
/// time — not level by level, so a node never waits for an unrelated slow one. When more are ready
/// than may run, the ones with the longest chain still behind them go first (the critical path
/// never queues behind a leaf). `op` answers whether
/// the node succeeded, and its output; a node with a failed dependency is not run: `skip` gets it and
/// the failed dependencies instead (and it counts as failed for its own dependents). Dependencies on
/// nodes outside the graph count as done. Outputs come in completion order; the caller sorts them.
pub async fn walk<T, F, Fut, S>(
    nodes: &BTreeMap<String, Vec<String>>,
    parallelism: usize,
    op: F,
    mut skip: S,
) -> Vec<T>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = (bool, T)>,
    S: FnMut(String, Vec<String>) -> T,
{
    let deps = |n: &str| -> Vec<&String> {
        nodes
            .get(n)
            .map(|d| d.iter().filter(|d| nodes.contains_key(*d)).collect())
            .unwrap_or_default()
    };
    let mut ok: BTreeSet<String> = BTreeSet::new();
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let mut started: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    let mut running = FuturesUnordered::new();
    let height = heights(nodes);
    let mut order: Vec<&String> = nodes.keys().collect();
    order.sort_by_key(|n| std::cmp::Reverse(height.get(*n).copied().unwrap_or(0)));
    loop {
        // Settle what can be settled: skip nodes whose dependencies failed, start the ready ones.
        let mut progressed = true;
        while progressed {
            progressed = false;
            for n in order.iter().copied() {
                if started.contains(n) {
                    continue;
                }
                let d = deps(n);
                let bad: Vec<String> = d
                    .iter()
                    .filter(|d| failed.contains(**d))
                    .map(|d| d.to_string())
                    .collect();
                if !bad.is_empty() {
                    started.insert(n.clone());
                    failed.insert(n.clone());
                    out.push(skip(n.clone(), bad));
                    progressed = true;
                } else if running.len() < parallelism.max(1) && d.iter().all(|d| ok.contains(*d)) {
                    started.insert(n.clone());
                    let name = n.clone();
                    let fut = op(n.clone());
                    running.push(async move { (name, fut.await) });
                    progressed = true;
                }
            }
        }
        match running.next().await {
            Some((name, (success, t))) => {
                if success {
                    ok.insert(name);
                } else {
                    failed.insert(name);
                }
                out.push(t);
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(n, d)| (n.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn levels_respect_dependencies() {
        let l = levels(&g(&[
            ("c", &["b"]),
            ("b", &["a"]),
            ("a", &[]),
            ("d", &["a"]),
        ]))
        .unwrap();
        assert_eq!(l, vec![vec!["a"], vec!["b", "d"], vec!["c"]]);
    }

    #[test]
    fn cycle_is_reported() {
        let err = levels(&g(&[("a", &["b"]), ("b", &["a"]), ("c", &[])])).unwrap_err();
        assert_eq!(err, GraphError::Cycle(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn missing_dependency_is_reported() {
        let err = levels(&g(&[("a", &["zz"])])).unwrap_err();
        assert!(matches!(err, GraphError::MissingDependency { .. }));
    }

    #[tokio::test]
    async fn the_longest_chain_goes_first_when_slots_are_short() {
        // One slot; "z" leads a chain of three, "a" and "b" are leaves: z first, then y (x is a
        // leaf like a and b).
        let graph = g(&[
            ("a", &[]),
            ("b", &[]),
            ("z", &[]),
            ("y", &["z"]),
            ("x", &["y"]),
        ]);
        assert_eq!(heights(&graph)["z"], 3);
        assert_eq!(heights(&graph)["a"], 1);
        let order = std::sync::Mutex::new(Vec::new());
        walk(
            &graph,
            1,
            |n| {
                order.lock().unwrap().push(n);
                async { (true, ()) }
            },
            |_, _| (),
        )
        .await;
        assert_eq!(order.into_inner().unwrap(), vec!["z", "y", "a", "b", "x"]);
    }

    #[tokio::test]
    async fn walk_starts_each_node_when_its_own_dependencies_are_done() {
        use std::sync::{Arc, Mutex};
        use std::time::Duration;
        // a (slow) → c; b (fast) → d: d must not wait for a.
        let graph = g(&[("a", &[]), ("b", &[]), ("c", &["a"]), ("d", &["b"])]);
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let l = log.clone();
        walk(
            &graph,
            8,
            move |n| {
                let l = l.clone();
                async move {
                    let ms = if n == "a" { 200 } else { 10 };
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    l.lock().unwrap().push(n.clone());
                    (true, ())
                }
            },
            |_, _| (),
        )
        .await;
        let order = log.lock().unwrap().clone();
        let pos = |x: &str| order.iter().position(|n| n == x).unwrap();
        assert!(
            pos("d") < pos("a"),
            "d ran while a was still running: {order:?}"
        );
        assert!(pos("c") > pos("a"), "{order:?}");
    }

    #[tokio::test]
    async fn walk_skips_what_depends_on_a_failure_and_respects_parallelism() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let graph = g(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c", &["b"]),
            ("x", &[]),
            ("y", &[]),
            ("z", &[]),
        ]);
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (n2, m2) = (now.clone(), most.clone());
        let out = walk(
            &graph,
            2,
            move |n| {
                let (now, most) = (n2.clone(), m2.clone());
                async move {
                    let c = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(c, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    (n != "a", format!("ran {n}"))
                }
            },
            |n, bad| format!("skipped {n} ({})", bad.join(",")),
        )
        .await;
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert!(out.contains(&"skipped b (a)".to_string()), "{out:?}");
        assert!(out.contains(&"skipped c (b)".to_string()), "{out:?}");
        assert_eq!(
            out.iter().filter(|o| o.starts_with("ran")).count(),
            4,
            "{out:?}"
        );
    }

    #[test]
    fn reversed_turns_edges_around() {
        let r = reversed(&g(&[("b", &["a", "outside"]), ("a", &[])]));
        assert_eq!(r["a"], vec!["b".to_string()]);
        assert!(r["b"].is_empty());
    }

    #[test]
    fn reverse_ignores_outside_nodes() {
        let l = reverse_levels(&g(&[("b", &["a", "outside"]), ("a", &[])])).unwrap();
        assert_eq!(l, vec![vec!["b"], vec!["a"]]);
    }
}
