//! Why a hop did not happen: each check reads one resource the hop goes through and names it —
//! the rule (missing, disabled, without the function as target), the function (missing, not
//! Active), its resource policy (the rule may not invoke it), a message about the test finding in
//! the stack's dead-letter queue, an alarm of the stack in ALARM.

use aws_sdk_eventbridge::types::RuleState;
use aws_sdk_sqs::types::MessageSystemAttributeName;

use crate::aws::Clients;
use crate::stack::Names;

/// The path a hop takes: a rule (on the stack's bus or the default one) invoking a function.
pub struct Path<'a> {
    /// The rule's config key (`findings`, `remediation`).
    pub rule: &'a str,
    /// The function's name suffix (`triage`, `remediation`, `notification`).
    pub function: &'a str,
}

/// Every problem found on `path`, the first one most telling; empty when none is seen.
pub async fn problems(c: &Clients, n: &Names, path: &Path<'_>, finding: &str) -> Vec<String> {
    let mut found = Vec::new();
    found.extend(rule(c, n, path).await);
    found.extend(function(c, n, path).await);
    found.extend(dead_letters(c, n, finding).await);
    found.extend(alarms(c, n).await);
    found
}

async fn rule(c: &Clients, n: &Names, path: &Path<'_>) -> Option<String> {
    let name = n.rule(path.rule);
    let bus = n.rule_bus(path.rule);
    let out = c
        .events
        .describe_rule()
        .name(&name)
        .set_event_bus_name(bus.clone())
        .send()
        .await;
    match out {
        Err(e) if crate::error::is_not_found(&e) => {
            return Some(format!("rule {name} is missing: run `secauto deploy`"))
        }
        Err(e) => {
            return Some(cannot_check(
                &format!("rule {name}"),
                "events:DescribeRule",
                e,
            ))
        }
        Ok(r) if r.state() == Some(&RuleState::Disabled) => {
            return Some(format!(
                "rule {name} is DISABLED: it never fires (`secauto deploy` enables it again)"
            ))
        }
        Ok(_) => {}
    }
    let function = n.function_arn(path.function);
    let targets = c
        .events
        .list_targets_by_rule()
        .rule(&name)
        .set_event_bus_name(bus)
        .send()
        .await;
    match targets {
        Ok(t) if !t.targets().iter().any(|t| t.arn() == function) => Some(format!(
            "rule {name} has no target {function}: run `secauto deploy`"
        )),
        Ok(_) => None,
        Err(e) => Some(cannot_check(
            &format!("rule {name}'s targets"),
            "events:ListTargetsByRule",
            e,
        )),
    }
}

async fn function(c: &Clients, n: &Names, path: &Path<'_>) -> Option<String> {
    let name = n.function(path.function);
    match c.lambda.get_function().function_name(&name).send().await {
        Err(e) if crate::error::is_not_found(&e) => {
            return Some(format!("function {name} is missing: run `secauto deploy`"))
        }
        Err(e) => {
            return Some(cannot_check(
                &format!("function {name}"),
                "lambda:GetFunction",
                e,
            ))
        }
        Ok(f) => {
            let state = f.configuration().and_then(|c| c.state());
            if let Some(s) = state.filter(|s| s.as_str() != "Active") {
                return Some(format!("function {name} is {}, not Active", s.as_str()));
            }
        }
    }
    let rule = n.rule_arn(path.rule);
    let allows = match c.lambda.get_policy().function_name(&name).send().await {
        Ok(p) => p.policy().is_some_and(|p| lets_invoke(p, &rule)),
        // No resource policy at all: nothing may invoke it.
        Err(e) if crate::error::is_not_found(&e) => false,
        Err(e) => {
            let what = format!("function {name}'s resource policy");
            return Some(cannot_check(&what, "lambda:GetPolicy", e));
        }
    };
    (!allows).then(|| {
        format!("function {name}'s resource policy does not let rule {rule} invoke it (lambda:InvokeFunction for events.amazonaws.com): run `secauto deploy`")
    })
}

/// Whether a function's resource policy has a statement whose condition names exactly `rule`
/// (`AWS:SourceArn`): a rule whose ARN merely starts the same (`…-findings` and `…-findings-ocsf`)
/// is not it.
fn lets_invoke(policy: &str, rule: &str) -> bool {
    let doc: serde_json::Value = serde_json::from_str(policy).unwrap_or_default();
    let names = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s == rule,
        serde_json::Value::Array(a) => a.iter().any(|x| x == rule),
        _ => false,
    };
    doc["Statement"].as_array().is_some_and(|statements| {
        statements.iter().any(|st| {
            st["Effect"] == "Allow"
                && st["Condition"].as_object().is_some_and(|c| {
                    c.values()
                        .any(|keys| keys.as_object().is_some_and(|k| k.values().any(names)))
                })
        })
    })
}

/// A check verify could not make: when the identity running verify was refused, that is said as
/// verify's own missing permission, never as a fault of the stack.
fn cannot_check<E, R>(
    what: &str,
    action: &str,
    e: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> String
where
    E: std::error::Error
        + aws_smithy_types::error::metadata::ProvideErrorMetadata
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let denied = crate::error::code(&e).is_some_and(|c| DENIED.contains(&c));
    let err = crate::error::aws(action, e);
    match denied {
        true => format!("cannot check {what}: the identity running verify may not call {action} (see the README's verify permissions): {err:#}"),
        false => format!("cannot check {what}: {err:#}"),
    }
}

/// The codes AWS answers a call the caller's policies do not allow with.
const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
];

/// The stack's dead-letter queue's messages about `finding`, read without taking them (visibility
/// timeout 0): EventBridge's attributes say which rule and target failed, and why.
async fn dead_letters(c: &Clients, n: &Names, finding: &str) -> Vec<String> {
    let name = n.name("dlq");
    let Ok(url) = c.sqs.get_queue_url().queue_name(&name).send().await else {
        return vec![];
    };
    let url = url.queue_url().unwrap_or_default();
    let mut found = Vec::new();
    for _ in 0..3 {
        let Ok(out) = c
            .sqs
            .receive_message()
            .queue_url(url)
            .visibility_timeout(0)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
        else {
            break;
        };
        for m in out.messages() {
            if !m.body().unwrap_or_default().contains(finding) {
                continue;
            }
            let attr = |k: &str| {
                m.message_attributes()
                    .and_then(|a| a.get(k))
                    .and_then(|v| v.string_value())
                    .unwrap_or("?")
                    .to_string()
            };
            let line = format!(
                "dead-letter queue {name} holds the event: rule {} could not deliver it to {}: {} {}",
                attr("RULE_ARN"),
                attr("TARGET_ARN"),
                attr("ERROR_CODE"),
                attr("ERROR_MESSAGE")
            );
            if !found.contains(&line) {
                found.push(line);
            }
        }
        if !found.is_empty() {
            break;
        }
    }
    found
}

async fn alarms(c: &Clients, n: &Names) -> Vec<String> {
    let Ok(out) = c
        .cloudwatch
        .describe_alarms()
        .alarm_name_prefix(format!("{}-", n.stack))
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .send()
        .await
    else {
        return vec![];
    };
    out.metric_alarms()
        .iter()
        .map(|a| {
            format!(
                "alarm {} is in ALARM: {}",
                a.alarm_name().unwrap_or_default(),
                a.state_reason().unwrap_or_default()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::lets_invoke;

    #[test]
    fn a_permission_is_the_rules_exactly_not_one_whose_arn_starts_the_same() {
        let rule = "arn:aws:events:us-east-1:1:rule/vfy-findings";
        let ocsf_only = r#"{"Statement":[{"Effect":"Allow","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:events:us-east-1:1:rule/vfy-findings-ocsf"}}}]}"#;
        assert!(!lets_invoke(ocsf_only, rule));
        let both = r#"{"Statement":[{"Effect":"Allow","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:events:us-east-1:1:rule/vfy-findings-ocsf"}}},{"Effect":"Allow","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:events:us-east-1:1:rule/vfy-findings"}}}]}"#;
        assert!(lets_invoke(both, rule));
        assert!(!lets_invoke("not json", rule));
    }
}
