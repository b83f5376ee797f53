//! The dependency graph of a stack: cycle check and topological levels.

use std::collections::{BTreeMap, BTreeSet};

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

    #[test]
    fn reverse_ignores_outside_nodes() {
        let l = reverse_levels(&g(&[("b", &["a", "outside"]), ("a", &[])])).unwrap();
        assert_eq!(l, vec![vec!["b"], vec!["a"]]);
    }
}
