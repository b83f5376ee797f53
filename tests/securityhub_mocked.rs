//! Security Hub answers the Security Hub emulator cannot give (an unprocessed batch delete, a
//! refusal in the middle of a destroy), with the SDK's own mocking support (aws-smithy-mocks), and
//! the exact requests secauto sends. The behaviour on a real service (create, drift, destroy,
//! Security Hub off) is tested on the emulator in tests/securityhub.rs.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_securityhub::operation::batch_delete_automation_rules::BatchDeleteAutomationRulesOutput;
use aws_sdk_securityhub::operation::batch_get_automation_rules::BatchGetAutomationRulesOutput;
use aws_sdk_securityhub::operation::batch_update_automation_rules::BatchUpdateAutomationRulesOutput;
use aws_sdk_securityhub::operation::create_action_target::CreateActionTargetOutput;
use aws_sdk_securityhub::operation::create_automation_rule::CreateAutomationRuleOutput;
use aws_sdk_securityhub::operation::delete_action_target::DeleteActionTargetOutput;
use aws_sdk_securityhub::operation::describe_action_targets::{
    DescribeActionTargetsError, DescribeActionTargetsOutput,
};
use aws_sdk_securityhub::operation::list_automation_rules::ListAutomationRulesOutput;
use aws_sdk_securityhub::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_securityhub::operation::update_action_target::UpdateActionTargetOutput;
use aws_sdk_securityhub::types::{
    ActionTarget, AutomationRulesConfig, AutomationRulesMetadata, RuleStatus,
    UnprocessedAutomationRule,
};
use aws_sdk_securityhub::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use secauto::aws::{Clients, Connection};
use secauto::config::Config;
use secauto::resources::{self, Ctx, Spec};
use secauto::stack::{self, Code};

const ACCOUNT: &str = "123456789012";
const RULE_ARN: &str = "arn:aws:securityhub:us-east-1:123456789012:automation-rule/11111111-2222-3333-4444-555555555555";

/// A context whose Security Hub client is `securityhub`; every other client points at a closed port
/// (these tests must never reach them).
fn ctx(securityhub: Client) -> Ctx {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let conn = Connection {
        endpoint_url: Some("http://127.0.0.1:9".into()),
        ..Connection::default()
    };
    let mut clients = Clients::new(&sdk, &conn);
    clients.securityhub = securityhub;
    let mut tags = BTreeMap::new();
    tags.insert(resources::STACK_TAG.to_string(), "sec".to_string());
    Ctx::new(clients, "sec", "us-east-1", tags, Duration::from_secs(0))
}

fn desired() -> stack::Stack {
    let mut c = Config::default();
    c.stack.name = "sec".into();
    stack::build(&c, ACCOUNT, "us-east-1", Code::NotNeeded).unwrap()
}

fn spec(address: &str) -> Spec {
    desired().get(address).unwrap().spec.clone()
}

fn high_rule_config(s: &resources::securityhub_automation_rule::Spec) -> AutomationRulesConfig {
    AutomationRulesConfig::builder()
        .rule_arn(RULE_ARN)
        .rule_name(&s.name)
        .description(&s.description)
        .rule_order(s.rule_order)
        .rule_status(RuleStatus::Enabled)
        .criteria(s.criteria())
        .actions(s.actions().unwrap())
        .build()
}

#[tokio::test]
async fn mocked_securityhub_automation_rule_create_sends_exact_request() {
    let Spec::SecurityhubAutomationRule(s) = spec("securityhub_automation_rule.high") else {
        panic!("no high rule")
    };
    let list = mock!(Client::list_automation_rules)
        .then_output(|| ListAutomationRulesOutput::builder().build());
    let expected = s.clone();
    let create = mock!(Client::create_automation_rule)
        .match_requests(move |r| {
            let c = r.criteria().unwrap();
            let a = &r.actions()[0];
            let update = a.finding_fields_update().unwrap();
            r.rule_name() == Some("sec-high-severity")
                && r.rule_order() == Some(1)
                && r.rule_status() == Some(&RuleStatus::Enabled)
                && c.severity_label()[0].value() == Some("HIGH")
                && c.workflow_status()[0].value() == Some("NEW")
                && c.record_state()[0].value() == Some("ACTIVE")
                && a.r#type().map(|t| t.as_str()) == Some("FINDING_FIELDS_UPDATE")
                // Never a workflow change: the NEW-only findings rule must still see the finding.
                && update.workflow().is_none()
                && update.note().and_then(|n| n.text()) == Some(expected.note.as_str())
                && update.user_defined_fields().and_then(|u| u.get("secauto:priority")).map(String::as_str) == Some("high")
                && r.tags().and_then(|t| t.get("secauto:stack")).map(String::as_str) == Some("sec")
        })
        .then_output(|| CreateAutomationRuleOutput::builder().rule_arn(RULE_ARN).build());
    let client = mock_client!(aws_sdk_securityhub, RuleMode::Sequential, [&list, &create]);
    let ctx = ctx(client);
    let sp = Spec::SecurityhubAutomationRule(s);
    assert!(sp.read(&ctx).await.unwrap().is_none());
    let applied = sp.create(&ctx).await.unwrap();
    assert_eq!(applied.physical_id, RULE_ARN);
    assert_eq!(list.num_calls(), 1);
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test]
async fn mocked_securityhub_automation_rule_read_in_sync_then_drift_update_and_delete() {
    let Spec::SecurityhubAutomationRule(s) = spec("securityhub_automation_rule.high") else {
        panic!()
    };
    let name = s.name.clone();
    let list = mock!(Client::list_automation_rules).then_output(move || {
        ListAutomationRulesOutput::builder()
            .automation_rules_metadata(
                AutomationRulesMetadata::builder()
                    .rule_name("someone-elses-rule")
                    .rule_arn("arn:other")
                    .build(),
            )
            .automation_rules_metadata(
                AutomationRulesMetadata::builder()
                    .rule_name(&name)
                    .rule_arn(RULE_ARN)
                    .build(),
            )
            .build()
    });
    let live_in_sync = high_rule_config(&s);
    let mut drifted_desc = s.clone();
    drifted_desc.description = "edited in the console".into();
    let live_drifted = high_rule_config(&drifted_desc);
    let get = mock!(Client::batch_get_automation_rules)
        .match_requests(|r| r.automation_rules_arns() == [RULE_ARN])
        .sequence()
        .output(move || {
            BatchGetAutomationRulesOutput::builder()
                .rules(live_in_sync.clone())
                .build()
        })
        .output(move || {
            BatchGetAutomationRulesOutput::builder()
                .rules(live_drifted.clone())
                .build()
        })
        .build();
    let tags = mock!(Client::list_tags_for_resource)
        .match_requests(|r| r.resource_arn() == Some(RULE_ARN))
        .then_output(|| {
            ListTagsForResourceOutput::builder()
                .tags("secauto:stack", "sec")
                .build()
        });
    let expected_desc = s.description.clone();
    let update = mock!(Client::batch_update_automation_rules)
        .match_requests(move |r| {
            let items = r.update_automation_rules_request_items();
            items.len() == 1
                && items[0].rule_arn() == Some(RULE_ARN)
                && items[0].description() == Some(expected_desc.as_str())
                && items[0].criteria().is_some()
        })
        .then_output(|| {
            BatchUpdateAutomationRulesOutput::builder()
                .processed_automation_rules(RULE_ARN)
                .build()
        });
    let delete = mock!(Client::batch_delete_automation_rules)
        .match_requests(|r| r.automation_rules_arns() == [RULE_ARN])
        .then_output(|| {
            BatchDeleteAutomationRulesOutput::builder()
                .processed_automation_rules(RULE_ARN)
                .build()
        });
    let client = mock_client!(
        aws_sdk_securityhub,
        RuleMode::MatchAny,
        [&list, &get, &tags, &update, &delete]
    );
    let ctx = ctx(client);
    let sp = Spec::SecurityhubAutomationRule(s);

    let live = sp.read(&ctx).await.unwrap().expect("found by name");
    assert_eq!(live.owner(), Some("sec"));
    assert!(
        resources::diff(&sp.fields(&ctx), &live).is_empty(),
        "in sync"
    );

    let live = sp.read(&ctx).await.unwrap().unwrap();
    let d = resources::diff(&sp.fields(&ctx), &live);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].field, "description");
    sp.update(&ctx, &live, &d).await.unwrap();
    assert_eq!(update.num_calls(), 1);

    resources::delete(&ctx, resources::Kind::SecurityhubAutomationRule, RULE_ARN)
        .await
        .unwrap();
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn mocked_securityhub_automation_rule_unprocessed_delete_is_an_error() {
    let delete = mock!(Client::batch_delete_automation_rules).then_output(|| {
        BatchDeleteAutomationRulesOutput::builder()
            .unprocessed_automation_rules(
                UnprocessedAutomationRule::builder()
                    .rule_arn(RULE_ARN)
                    .error_code(500)
                    .error_message("InternalException")
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_securityhub, [&delete]);
    let err = resources::delete(
        &ctx(client),
        resources::Kind::SecurityhubAutomationRule,
        RULE_ARN,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("did not delete"), "{err}");
}

#[tokio::test]
async fn mocked_securityhub_action_targets_create_read_update_delete() {
    let Spec::SecurityhubActionTarget(t) = spec("securityhub_action_target.trigger_remediation")
    else {
        panic!()
    };
    let prefix = stack::Names::new("sec", "us-east-1", ACCOUNT).action_id_prefix();
    assert_eq!(t.id, format!("{prefix}Remediate"));
    assert!(t.id.len() <= 20 && t.name.len() <= 20);
    let arn = format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:action/custom/{prefix}Remediate");
    assert_eq!(t.arn, arn);

    let a1 = arn.clone();
    let missing = mock!(Client::describe_action_targets)
        .match_requests(move |r| r.action_target_arns() == [a1.clone()])
        .then_error(|| {
            DescribeActionTargetsError::ResourceNotFoundException(
                aws_sdk_securityhub::types::error::ResourceNotFoundException::builder()
                    .message("not found")
                    .meta(
                        aws_sdk_securityhub::error::ErrorMetadata::builder()
                            .code("ResourceNotFoundException")
                            .message("not found")
                            .build(),
                    )
                    .build(),
            )
        });
    let (id, name) = (t.id.clone(), t.name.clone());
    let desc = format!("{} [secauto:stack=sec]", t.description);
    let a2 = arn.clone();
    let create = mock!(Client::create_action_target)
        .match_requests(move |r| {
            r.id() == Some(id.as_str())
                && r.name() == Some(name.as_str())
                && r.description() == Some(desc.as_str())
        })
        .then_output(move || {
            CreateActionTargetOutput::builder()
                .action_target_arn(a2.clone())
                .build()
        });
    let a3 = arn.clone();
    let found = mock!(Client::describe_action_targets).then_output(move || {
        DescribeActionTargetsOutput::builder()
            .action_targets(
                ActionTarget::builder()
                    .action_target_arn(a3.clone())
                    .name("Old name")
                    .description("old")
                    .build(),
            )
            .build()
    });
    let a4 = arn.clone();
    let new_name = t.name.clone();
    let update = mock!(Client::update_action_target)
        .match_requests(move |r| {
            r.action_target_arn() == Some(a4.as_str()) && r.name() == Some(new_name.as_str())
        })
        .then_output(|| UpdateActionTargetOutput::builder().build());
    let a5 = arn.clone();
    let delete = mock!(Client::delete_action_target)
        .match_requests(move |r| r.action_target_arn() == Some(a5.as_str()))
        .then_output(|| {
            DeleteActionTargetOutput::builder()
                .action_target_arn("x")
                .build()
        });
    let client = mock_client!(
        aws_sdk_securityhub,
        RuleMode::Sequential,
        [&missing, &create, &found, &update, &delete]
    );
    let ctx = ctx(client);
    let sp = Spec::SecurityhubActionTarget(t);
    assert!(sp.read(&ctx).await.unwrap().is_none());
    assert_eq!(sp.create(&ctx).await.unwrap().physical_id, arn);
    let live = sp.read(&ctx).await.unwrap().unwrap();
    let d = resources::diff(&sp.fields(&ctx), &live);
    assert_eq!(
        d.iter().map(|d| d.field.as_str()).collect::<Vec<_>>(),
        ["name", "description"]
    );
    sp.update(&ctx, &live, &d).await.unwrap();
    resources::delete(&ctx, resources::Kind::SecurityhubActionTarget, &arn)
        .await
        .unwrap();
    for r in [&missing, &create, &found, &update, &delete] {
        assert_eq!(r.num_calls(), 1);
    }
}

const NOT_SUBSCRIBED: &str = "Account 123456789012 is not subscribed to AWS Security Hub";

fn invalid_access() -> aws_sdk_securityhub::types::error::InvalidAccessException {
    aws_sdk_securityhub::types::error::InvalidAccessException::builder()
        .message(NOT_SUBSCRIBED)
        .meta(
            aws_sdk_securityhub::error::ErrorMetadata::builder()
                .code("InvalidAccessException")
                .message(NOT_SUBSCRIBED)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn mocked_securityhub_not_enabled_lets_destroy_go_on() {
    use aws_sdk_securityhub::operation::batch_delete_automation_rules::BatchDeleteAutomationRulesError as B;
    use aws_sdk_securityhub::operation::delete_action_target::DeleteActionTargetError as D;
    let del_rule = mock!(Client::batch_delete_automation_rules)
        .then_error(|| B::InvalidAccessException(invalid_access()));
    let del_target = mock!(Client::delete_action_target)
        .then_error(|| D::InvalidAccessException(invalid_access()));
    let client = mock_client!(
        aws_sdk_securityhub,
        RuleMode::MatchAny,
        [&del_rule, &del_target]
    );
    let ctx = ctx(client);
    resources::delete(&ctx, resources::Kind::SecurityhubAutomationRule, RULE_ARN)
        .await
        .unwrap();
    resources::delete(
        &ctx,
        resources::Kind::SecurityhubActionTarget,
        "arn:aws:securityhub:us-east-1:123456789012:action/custom/x",
    )
    .await
    .unwrap();
    assert_eq!(del_rule.num_calls() + del_target.num_calls(), 2);
}

#[test]
fn custom_actions_rule_matches_this_stacks_action_targets() {
    let s = desired();
    let Spec::EventRule(rule) = &s.get("event_rule.custom_actions").unwrap().spec else {
        panic!()
    };
    let prefix = stack::Names::new("sec", "us-east-1", ACCOUNT).action_id_prefix();
    assert_eq!(
        rule.event_pattern["resources"],
        serde_json::json!([
            format!("arn:aws:securityhub:us-east-1:123456789012:action/custom/{prefix}Remediate"),
            format!("arn:aws:securityhub:us-east-1:123456789012:action/custom/{prefix}Escalate")
        ])
    );
}
