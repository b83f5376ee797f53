//! Ownership of a Security Hub custom action (action target), which cannot be tagged: secauto marks
//! its description `[secauto:stack=<stack>]`, and one with our id but no marker is someone else's.
//! No emulator serves action targets, so these tests use aws-smithy-mocks.

#[path = "common/offline.rs"]
mod offline;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_securityhub::operation::create_action_target::CreateActionTargetOutput;
use aws_sdk_securityhub::operation::delete_action_target::DeleteActionTargetOutput;
use aws_sdk_securityhub::operation::describe_action_targets::DescribeActionTargetsOutput;
use aws_sdk_securityhub::operation::update_action_target::UpdateActionTargetOutput;
use aws_sdk_securityhub::types::ActionTarget;
use aws_sdk_securityhub::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use secauto::config::Config;
use secauto::engine::{self, Action, Silent};
use secauto::resources::{self, Ctx, Spec};
use secauto::stack::{self, Code, Stack};
use secauto::state::{Backend, State, Store};

const ACCOUNT: &str = "123456789012";
const ADDRESS: &str = "securityhub_action_target.trigger_remediation";

fn ctx(securityhub: Client) -> Ctx {
    let mut clients = offline::clients();
    clients.securityhub = securityhub;
    let mut tags = BTreeMap::new();
    tags.insert(resources::STACK_TAG.to_string(), "sec".to_string());
    Ctx::new(clients, "sec", "us-east-1", tags, Duration::ZERO)
}

/// The stack's one custom action "trigger_remediation", nothing else.
fn one_target() -> (Stack, String) {
    let mut c = Config::default();
    c.stack.name = "sec".into();
    let mut s = stack::build(&c, ACCOUNT, "us-east-1", Code::NotNeeded).unwrap();
    s.resources.retain(|r| r.address == ADDRESS);
    s.resources[0].deps.clear();
    let Spec::SecurityhubActionTarget(t) = &s.resources[0].spec else {
        panic!("no action target")
    };
    let arn = t.arn.clone();
    (s, arn)
}

/// Security Hub's answer: an action target with our id and `description`.
fn live(arn: &str, description: &'static str) -> Rule {
    let arn = arn.to_string();
    mock!(Client::describe_action_targets).then_output(move || {
        DescribeActionTargetsOutput::builder()
            .action_targets(
                ActionTarget::builder()
                    .action_target_arn(&arn)
                    .name("Remediate")
                    .description(description)
                    .build(),
            )
            .build()
    })
}

/// Every write secauto could make to an action target, to count.
fn writes() -> [Rule; 3] {
    [
        mock!(Client::create_action_target).then_output(|| {
            CreateActionTargetOutput::builder()
                .action_target_arn("x")
                .build()
        }),
        mock!(Client::update_action_target)
            .then_output(|| UpdateActionTargetOutput::builder().build()),
        mock!(Client::delete_action_target).then_output(|| {
            DeleteActionTargetOutput::builder()
                .action_target_arn("x")
                .build()
        }),
    ]
}

fn store(dir: &tempfile::TempDir) -> Store {
    let path = dir.path().join("state.json");
    Store::open(&Backend::parse(path.to_str().unwrap()).unwrap(), None).unwrap()
}

#[tokio::test]
async fn mocked_an_unmarked_action_target_with_our_id_is_never_changed_or_deleted() {
    let (s, arn) = one_target();
    let describe = live(&arn, "Sends findings to another team's tool");
    let [create, update, delete] = writes();
    let client = mock_client!(
        aws_sdk_securityhub,
        RuleMode::MatchAny,
        [&describe, &create, &update, &delete]
    );
    let ctx = ctx(client);
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let state = State::new("sec", "us-east-1", ACCOUNT);

    let plan = engine::plan(&ctx, &s, &state, false).await.unwrap();
    let p = plan.get(ADDRESS).unwrap();
    assert_eq!(p.action, Action::Conflict);
    let reason = p.reason.clone().unwrap();
    assert!(
        reason.contains("secauto:stack=sec") && reason.contains("--adopt"),
        "{reason}"
    );
    let (outcome, state) = engine::apply(&ctx, &s, &plan, state, &store, &Silent).await;
    assert!(
        outcome.errors.iter().any(|e| e.contains(ADDRESS)),
        "{:?}",
        outcome.errors
    );
    let (_, state) = engine::destroy(&ctx, &s, &plan, vec![], state, &store, &Silent).await;
    assert!(state.resources.is_empty());
    for w in [&create, &update, &delete] {
        assert_eq!(w.num_calls(), 0, "deploy and destroy leave it alone");
    }
}

#[tokio::test]
async fn mocked_adopt_marks_an_unmarked_action_target_and_another_stacks_stays_a_conflict() {
    let (s, arn) = one_target();
    let state = State::new("sec", "us-east-1", ACCOUNT);

    let describe = live(&arn, "Sends findings to another team's tool");
    let [create, _, delete] = writes();
    let update = mock!(Client::update_action_target)
        .match_requests(|r| {
            r.description()
                .is_some_and(|d| d.ends_with(" [secauto:stack=sec]"))
        })
        .then_output(|| UpdateActionTargetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_securityhub,
        RuleMode::MatchAny,
        [&describe, &create, &update, &delete]
    );
    let c = ctx(client);
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let plan = engine::plan(&c, &s, &state, true).await.unwrap();
    assert_eq!(plan.get(ADDRESS).unwrap().action, Action::Update);
    let (outcome, _) = engine::apply(&c, &s, &plan, state.clone(), &store, &Silent).await;
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(update.num_calls(), 1, "the marker was written");

    let theirs = live(&arn, "Remediate findings [secauto:stack=other]");
    let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&theirs]);
    let plan = engine::plan(&ctx(client), &s, &state, true).await.unwrap();
    let p = plan.get(ADDRESS).unwrap();
    assert_eq!(
        p.action,
        Action::Conflict,
        "--adopt never takes another stack's"
    );
    assert!(p.reason.as_deref().unwrap().contains("\"other\""), "{p:?}");

    let ours = live(&arn, "Remediate findings [secauto:stack=sec]");
    let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&ours]);
    let plan = engine::plan(&ctx(client), &s, &state, false).await.unwrap();
    assert_ne!(plan.get(ADDRESS).unwrap().action, Action::Conflict);
}
