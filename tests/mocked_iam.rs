//! IAM answers long lists a page at a time (IsTruncated and Marker). moto's ListEntitiesForPolicy
//! returns no marker, so paging is asserted against AWS's documented answer with aws-smithy-mocks:
//! destroy detaches a policy from every entity on every page, and empties a role on every page —
//! when IAM refuses the delete with `DeleteConflict` (409), which moto does not for a policy.

#[path = "common/offline.rs"]
mod offline;
#[path = "common/readme.rs"]
mod readme;

use std::time::Duration;

use aws_sdk_iam::operation::delete_policy::{DeletePolicyError, DeletePolicyOutput};
use aws_sdk_iam::operation::delete_role::{DeleteRoleError, DeleteRoleOutput};
use aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyOutput;
use aws_sdk_iam::operation::detach_group_policy::DetachGroupPolicyOutput;
use aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyOutput;
use aws_sdk_iam::operation::detach_user_policy::DetachUserPolicyOutput;
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
use aws_sdk_iam::operation::list_entities_for_policy::ListEntitiesForPolicyOutput;
use aws_sdk_iam::operation::list_policy_versions::ListPolicyVersionsOutput;
use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
use aws_sdk_iam::types::{AttachedPolicy, PolicyGroup, PolicyRole, PolicyUser};
use aws_sdk_iam::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use secauto::resources::{delete, Kind};

const POLICY: &str = "arn:aws:iam::123456789012:policy/s-us-east-1-automation";

/// IAM's `DeleteConflict` (HTTP 409) answer.
fn conflict(message: &str) -> aws_sdk_iam::types::error::DeleteConflictException {
    aws_sdk_iam::types::error::DeleteConflictException::builder()
        .message(message)
        .meta(
            aws_sdk_iam::error::ErrorMetadata::builder()
                .code("DeleteConflict")
                .message(message)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn mocked_iam_delete_is_one_call_when_nothing_holds_it() {
    let delete_role =
        mock!(Client::delete_role).then_output(|| DeleteRoleOutput::builder().build());
    let delete_policy =
        mock!(Client::delete_policy).then_output(|| DeletePolicyOutput::builder().build());
    let iam = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&delete_role, &delete_policy]
    );
    let mut clients = offline::clients();
    clients.iam = iam;
    let ctx = offline::ctx(clients, Duration::ZERO);
    delete(&ctx, Kind::IamRole, "s-us-east-1-lambda")
        .await
        .unwrap();
    delete(&ctx, Kind::IamPolicy, POLICY).await.unwrap();
    assert_eq!((delete_role.num_calls(), delete_policy.num_calls()), (1, 1));
}

fn roles(names: &[&str]) -> Vec<PolicyRole> {
    names
        .iter()
        .map(|n| PolicyRole::builder().role_name(*n).build())
        .collect()
}

/// A policy with one version that IAM refuses to delete (DeleteConflict, 409) while it is still
/// attached, then deletes: ListPolicyVersions and DeletePolicy.
fn refused_until_detached() -> (aws_smithy_mocks::Rule, aws_smithy_mocks::Rule) {
    let versions = mock!(Client::list_policy_versions).then_output(|| {
        ListPolicyVersionsOutput::builder()
            .is_truncated(false)
            .build()
    });
    let delete_policy = mock!(Client::delete_policy)
        .sequence()
        .error(|| {
            DeletePolicyError::DeleteConflictException(conflict(
                "Cannot delete a policy attached to entities.",
            ))
        })
        .output(|| DeletePolicyOutput::builder().build())
        .build();
    (versions, delete_policy)
}

#[tokio::test]
async fn mocked_iam_policy_delete_detaches_every_role_on_every_page() {
    let entities = mock!(Client::list_entities_for_policy)
        .sequence()
        .output(|| {
            ListEntitiesForPolicyOutput::builder()
                .set_policy_roles(Some(roles(&["a", "b"])))
                .is_truncated(true)
                .marker("page2")
                .build()
        })
        .output(|| {
            ListEntitiesForPolicyOutput::builder()
                .set_policy_roles(Some(roles(&["c"])))
                .is_truncated(false)
                .build()
        })
        .build();
    let detach =
        mock!(Client::detach_role_policy).then_output(|| DetachRolePolicyOutput::builder().build());
    let (versions, delete_policy) = refused_until_detached();
    let iam = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&entities, &detach, &versions, &delete_policy]
    );
    let mut clients = offline::clients();
    clients.iam = iam;
    let ctx = offline::ctx(clients, Duration::ZERO);
    delete(&ctx, Kind::IamPolicy, POLICY).await.unwrap();
    assert_eq!(entities.num_calls(), 2, "both pages were read");
    assert_eq!(detach.num_calls(), 3, "a, b and c (page 2) were detached");
    assert_eq!(delete_policy.num_calls(), 2, "refused, then deleted");
}

/// A member stack's policy that someone attached to a user and a group: IAM refuses DeletePolicy
/// (DeleteConflict; moto does not), destroy detaches it from both, and every call it made is one
/// the README grants the member deploy role.
#[tokio::test]
async fn mocked_iam_policy_delete_detaches_users_and_groups_as_the_readme_grants() {
    let entities = mock!(Client::list_entities_for_policy).then_output(|| {
        ListEntitiesForPolicyOutput::builder()
            .policy_users(PolicyUser::builder().user_name("someone").build())
            .policy_groups(PolicyGroup::builder().group_name("some-team").build())
            .is_truncated(false)
            .build()
    });
    let user = mock!(Client::detach_user_policy)
        .match_requests(|r| r.user_name() == Some("someone") && r.policy_arn() == Some(POLICY))
        .then_output(|| DetachUserPolicyOutput::builder().build());
    let group = mock!(Client::detach_group_policy)
        .match_requests(|r| r.group_name() == Some("some-team") && r.policy_arn() == Some(POLICY))
        .then_output(|| DetachGroupPolicyOutput::builder().build());
    let (versions, delete_policy) = refused_until_detached();
    let actions = offline::Actions::default();
    let recorder = actions.clone();
    let iam = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&entities, &user, &group, &versions, &delete_policy],
        move |b: aws_sdk_iam::config::Builder| b.interceptor(recorder.clone())
    );
    let mut clients = offline::clients();
    clients.iam = iam;
    let ctx = offline::ctx(clients, Duration::ZERO);
    delete(&ctx, Kind::IamPolicy, POLICY).await.unwrap();
    assert_eq!((user.num_calls(), group.num_calls()), (1, 1));
    let called = actions.called();
    assert!(
        called.contains(&"iam:DetachUserPolicy".to_string()),
        "{called:?}"
    );
    let listed = readme::member_permissions();
    let unlisted: Vec<&String> = called.iter().filter(|a| !listed.contains(*a)).collect();
    assert!(
        unlisted.is_empty(),
        "destroy calls, but the README's member deploy role lacks: {unlisted:?}"
    );
}

#[tokio::test]
async fn mocked_iam_role_delete_empties_the_role_on_every_page() {
    let attached = mock!(Client::list_attached_role_policies)
        .sequence()
        .output(|| {
            ListAttachedRolePoliciesOutput::builder()
                .attached_policies(AttachedPolicy::builder().policy_arn("arn:p1").build())
                .is_truncated(true)
                .marker("m")
                .build()
        })
        .output(|| {
            ListAttachedRolePoliciesOutput::builder()
                .attached_policies(AttachedPolicy::builder().policy_arn("arn:p2").build())
                .is_truncated(false)
                .build()
        })
        .build();
    let inline = mock!(Client::list_role_policies)
        .sequence()
        .output(|| {
            ListRolePoliciesOutput::builder()
                .policy_names("one")
                .is_truncated(true)
                .marker("m")
                .build()
                .unwrap()
        })
        .output(|| {
            ListRolePoliciesOutput::builder()
                .policy_names("two")
                .is_truncated(false)
                .build()
                .unwrap()
        })
        .build();
    let detach =
        mock!(Client::detach_role_policy).then_output(|| DetachRolePolicyOutput::builder().build());
    let delete_inline =
        mock!(Client::delete_role_policy).then_output(|| DeleteRolePolicyOutput::builder().build());
    let delete_role = mock!(Client::delete_role)
        .sequence()
        .error(|| {
            DeleteRoleError::DeleteConflictException(conflict(
                "Cannot delete entity, must detach all policies first.",
            ))
        })
        .output(|| DeleteRoleOutput::builder().build())
        .build();
    let iam = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&attached, &inline, &detach, &delete_inline, &delete_role]
    );
    let mut clients = offline::clients();
    clients.iam = iam;
    let ctx = offline::ctx(clients, Duration::ZERO);
    delete(&ctx, Kind::IamRole, "s-us-east-1-lambda")
        .await
        .unwrap();
    assert_eq!(detach.num_calls(), 2);
    assert_eq!(delete_inline.num_calls(), 2);
    assert_eq!(delete_role.num_calls(), 2, "refused, then deleted");
}
