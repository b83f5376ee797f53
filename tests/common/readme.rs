//! What the README promises, parsed for the tests that hold the code to it.

/// The actions the README grants the member deploy role: every `service:Action` in its list.
pub fn member_permissions() -> std::collections::BTreeSet<String> {
    let readme = include_str!("../../README.md");
    let list = readme
        .split("**Step by step:**")
        .nth(1)
        .and_then(|s| s.split("(secauto reads and deletes nothing else").next())
        .expect("the member deploy role's permissions in the README");
    list.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            t.split_once(':').is_some_and(|(s, a)| {
                !s.is_empty()
                    && s.chars().all(|c| c.is_ascii_lowercase())
                    && !a.is_empty()
                    && a.chars().all(|c| c.is_ascii_alphanumeric())
            })
        })
        .map(str::to_string)
        .collect()
}
