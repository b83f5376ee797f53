//! One module per resource kind. Each kind has a spec (what we want), `read` (what is there, found by its
//! deterministic name), `create`, `update` and `delete`; the engine compares [`Spec::fields`] with
//! [`Live::fields`] to decide what to do.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod ctx;
pub mod sweep;

pub mod cloudwatch_alarm;
pub mod cloudwatch_dashboard;
pub mod event_bus;
pub mod event_rule;
pub mod event_target;
pub mod iam_policy;
pub mod iam_role;
pub mod iam_role_policy_attachment;
pub mod kms_key;
pub mod lambda_event_invoke_config;
pub mod lambda_function;
pub mod lambda_permission;
pub mod securityhub_action_target;
pub mod securityhub_automation_rule;
pub mod securityhub_automation_rule_v2;
pub mod sns_subscription;
pub mod sns_topic;
pub mod sqs_queue;
pub mod ssm_document;

pub use ctx::{Ctx, FunctionLocks, KeyCache, CONCURRENCY};
pub use sweep::{Known, Leftover, Search};

/// The tag that proves a resource belongs to a stack.
pub const STACK_TAG: &str = "secauto:stack";

/// The tag that names the region of the stack that owns an account-global resource (IAM).
pub const REGION_TAG: &str = "secauto:region";

/// An SDK operation's error, as [`crate::error::aws`] takes it.
pub trait ServiceError:
    std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata + Send + Sync + 'static
{
}

impl<E> ServiceError for E where
    E: std::error::Error
        + aws_smithy_types::error::metadata::ProvideErrorMetadata
        + Send
        + Sync
        + 'static
{
}

/// An SDK operation's raw response, as [`crate::error::aws`] takes it.
pub trait RawResponse: std::fmt::Debug + Send + Sync + 'static {}

impl<R: std::fmt::Debug + Send + Sync + 'static> RawResponse for R {}

/// Security Hub answered that it is not enabled in this account and region (or the account is a
/// member that may not do this): `InvalidAccessException`.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {code}: {message}")]
pub struct SecurityHubUnavailable {
    pub operation: String,
    pub code: String,
    pub message: String,
}

/// Wrap a Security Hub error: `InvalidAccessException` becomes a [`SecurityHubUnavailable`] the
/// engine can recognise; anything else as [`crate::error::aws`] does.
pub fn securityhub_error<E, R>(
    operation: &str,
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> anyhow::Error
where
    E: ServiceError,
    R: RawResponse,
{
    if crate::error::code(&err) == Some("InvalidAccessException") {
        use aws_smithy_types::error::metadata::ProvideErrorMetadata;
        return anyhow::Error::new(SecurityHubUnavailable {
            operation: operation.to_string(),
            code: "InvalidAccessException".into(),
            message: err.message().unwrap_or("(no message)").to_string(),
        });
    }
    crate::error::aws(operation, err)
}

/// A read's answer, or `None` when AWS says there is no such resource.
pub(crate) fn found<T, E, R>(
    operation: &str,
    result: std::result::Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>,
) -> Result<Option<T>>
where
    E: ServiceError,
    R: RawResponse,
{
    match result {
        Ok(t) => Ok(Some(t)),
        Err(e) if crate::error::is_not_found(&e) => Ok(None),
        Err(e) => Err(crate::error::aws(operation, e)),
    }
}

/// "Delete, and already gone is fine": the call's result, with AWS's "no such resource" as success.
pub(crate) fn gone<T, E, R>(
    operation: &str,
    result: std::result::Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>,
) -> Result<()>
where
    E: ServiceError,
    R: RawResponse,
{
    found(operation, result).map(|_| ())
}

/// A delete that Security Hub refuses because it is not enabled: nothing of it can be there.
pub fn gone_with_securityhub(err: anyhow::Error, what: &str) -> Result<()> {
    if is_securityhub_unavailable(&err) {
        tracing::warn!("Security Hub is not enabled here, so {what} cannot exist: {err:#}");
        Ok(())
    } else {
        Err(err)
    }
}

/// True when `err` says Security Hub is not enabled here.
pub fn is_securityhub_unavailable(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<SecurityHubUnavailable>())
}

/// What the state says of an address whose live resource is being judged.
#[derive(Debug, Clone, Copy, Default)]
pub struct Claim<'a> {
    /// The physical id the state records at this address, if it records one.
    pub recorded: Option<&'a str>,
    /// `--adopt`: a live resource with our name but without our tag (or marker) is taken over.
    pub adopt: bool,
}

/// Ownership, judged before any write: why a live resource found by our name is not this stack's
/// to change or delete. Tagged kinds keep the default (the `secauto:stack` and `secauto:region`
/// tags); kinds that cannot be tagged mark ownership another way and say so here.
pub trait Ownership {
    /// `None` when `live` is this stack's; otherwise why not, and what to do.
    fn conflict(&self, ctx: &Ctx, live: &Live, claim: Claim<'_>) -> Option<String> {
        tagged_conflict(ctx, live, claim)
    }
}

/// The ownership rule of taggable kinds: another stack's tag (or region) is a conflict; no tag is
/// one too unless the state records the address or `--adopt` takes it over. Kinds without tags
/// (`tags: None`) are ours by name here.
pub fn tagged_conflict(ctx: &Ctx, live: &Live, claim: Claim<'_>) -> Option<String> {
    match (&live.tags, live.owner()) {
        (Some(_), Some(owner)) if owner != ctx.stack => Some(format!(
            "exists and belongs to stack {owner:?} (tag {STACK_TAG}={owner})"
        )),
        (Some(_), Some(_)) if live.owner_region().is_some_and(|r| r != ctx.region) => Some(format!(
            "exists and belongs to stack {:?} of region {} (tag {REGION_TAG}): one stack per region never shares a resource",
            ctx.stack,
            live.owner_region().unwrap_or_default(),
        )),
        (Some(_), None) if claim.recorded.is_none() && !claim.adopt => Some(unowned(ctx, "the tag")),
        _ => None,
    }
}

/// "exists without {what} secauto:stack=<stack>: …", the conflict of a resource nobody marked ours.
pub fn unowned(ctx: &Ctx, what: &str) -> String {
    format!(
        "exists without {what} {STACK_TAG}={}: it is not this stack's. Rename or remove it, or run `secauto deploy --adopt` to take it over",
        ctx.stack
    )
}

/// What a live resource looks like, reduced to the fields secauto manages.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    /// The id `delete` needs (a name, a URL, an ARN, or `a|b` for compound ids).
    pub physical_id: String,
    pub arn: Option<String>,
    pub fields: Map<String, Value>,
    /// The resource's tags, or `None` for kinds that cannot be tagged.
    pub tags: Option<BTreeMap<String, String>>,
}

impl Live {
    /// The stack that owns this resource by tag, if any.
    pub fn owner(&self) -> Option<&str> {
        self.tags.as_ref()?.get(STACK_TAG).map(String::as_str)
    }

    /// The region of the owning stack, for resources that carry it.
    pub fn owner_region(&self) -> Option<&str> {
        self.tags.as_ref()?.get(REGION_TAG).map(String::as_str)
    }
}

/// The outcome of a create or update.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub physical_id: String,
    pub arn: Option<String>,
}

/// One field where live differs from desired.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Difference {
    pub field: String,
    pub desired: Value,
    pub live: Value,
}

/// A kind's own sweep (`[sweep]` in [`kinds!`]), or nothing for a kind found through another.
macro_rules! sweep_of {
    ($module:ident sweep, $ctx:expr, $search:expr) => {
        $module::sweep($ctx, $search).await
    };
    ($module:ident, $ctx:expr, $search:expr) => {
        Ok(Vec::new())
    };
}

/// The kind table: each kind's variant and module; `[sweep]` when the module finds the stack's
/// resources of its kind that nobody declared (`sweep(ctx, search)`, see [`sweep`]).
macro_rules! kinds {
    ($($variant:ident => $module:ident $([$sweep:ident])?),* $(,)?) => {
        /// Every resource kind the stack is made of.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Kind { $($variant),* }

        impl Kind {
            /// Every kind, in the table's order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            /// The kind's name, as in addresses and the state file.
            pub fn as_str(self) -> &'static str {
                match self { $(Kind::$variant => stringify!($module)),* }
            }
        }

        /// A resource's desired configuration, one variant per kind.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum Spec { $($variant($module::Spec)),* }

        impl Spec {
            pub fn kind(&self) -> Kind {
                match self { $(Spec::$variant(_) => Kind::$variant),* }
            }

            /// The fields that `read` reports and `diff` compares.
            pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
                match self { $(Spec::$variant(s) => s.fields(ctx)),* }
            }

            /// Read the live resource by its deterministic name; `None` when it does not exist.
            pub async fn read(&self, ctx: &Ctx) -> Result<Option<Live>> {
                match self { $(Spec::$variant(s) => $module::read(ctx, s).await),* }
            }

            /// Why `live`, found by this spec's name, is not this stack's ([`Ownership`]).
            pub fn conflict(&self, ctx: &Ctx, live: &Live, claim: Claim<'_>) -> Option<String> {
                match self { $(Spec::$variant(s) => s.conflict(ctx, live, claim)),* }
            }

            pub async fn create(&self, ctx: &Ctx) -> Result<Applied> {
                match self { $(Spec::$variant(s) => $module::create(ctx, s).await),* }
            }

            pub async fn update(&self, ctx: &Ctx, live: &Live, diff: &[Difference]) -> Result<Applied> {
                match self { $(Spec::$variant(s) => $module::update(ctx, s, live, diff).await),* }
            }
        }

        /// Delete a resource by kind and physical id; deleting what is already gone succeeds.
        pub async fn delete(ctx: &Ctx, kind: Kind, physical_id: &str) -> Result<()> {
            match kind { $(Kind::$variant => $module::delete(ctx, physical_id).await),* }
        }

        /// The live resources of `kind` the stack owns (by tag, or by name or parent where tags do
        /// not exist) that `search.known` does not declare; none for kinds found through another.
        pub async fn sweep_kind(ctx: &Ctx, kind: Kind, search: &Search<'_>) -> Result<Vec<Leftover>> {
            match kind { $(Kind::$variant => sweep_of!($module $($sweep)?, ctx, search)),* }
        }
    };
}

kinds! {
    KmsKey => kms_key [sweep],
    IamRole => iam_role [sweep],
    IamPolicy => iam_policy [sweep],
    IamRolePolicyAttachment => iam_role_policy_attachment,
    SnsTopic => sns_topic [sweep],
    SnsSubscription => sns_subscription,
    SqsQueue => sqs_queue [sweep],
    SsmDocument => ssm_document [sweep],
    LambdaFunction => lambda_function [sweep],
    LambdaEventInvokeConfig => lambda_event_invoke_config,
    LambdaPermission => lambda_permission [sweep],
    EventBus => event_bus [sweep],
    EventRule => event_rule [sweep],
    EventTarget => event_target,
    SecurityhubAutomationRule => securityhub_automation_rule,
    SecurityhubAutomationRuleV2 => securityhub_automation_rule_v2,
    SecurityhubActionTarget => securityhub_action_target,
    CloudwatchAlarm => cloudwatch_alarm [sweep],
    CloudwatchDashboard => cloudwatch_dashboard [sweep],
}

/// Whether `parent` may be deleted only once `child`, which depends on it, is gone: where AWS
/// refuses the delete otherwise (a rule with targets, a bus with rules, a role or policy still
/// attached). Everything else goes at once — a function takes its permissions and invoke
/// configuration with it, a topic its subscriptions; a topic, a queue, a role or a key (only
/// scheduled for deletion) may go while something still names it — so a destroy is as deep as
/// those few chains, not as the graph.
pub fn delete_after(child: Kind, parent: Kind) -> bool {
    matches!(
        (child, parent),
        (Kind::EventTarget, Kind::EventRule)
            | (Kind::EventRule, Kind::EventBus)
            | (Kind::IamRolePolicyAttachment, Kind::IamRole)
            | (Kind::IamRolePolicyAttachment, Kind::IamPolicy)
    )
}

/// Whether AWS deletes `child` with `parent` (a function's permissions and invoke configuration, a
/// topic's subscriptions): then it costs no call of its own. `depends` says whether the child was
/// recorded as depending on the parent.
pub fn goes_with(
    child: Kind,
    child_id: &str,
    parent: Kind,
    parent_id: &str,
    depends: bool,
) -> bool {
    match (child, parent) {
        (Kind::LambdaPermission, Kind::LambdaFunction) => {
            child_id.split('|').next() == Some(parent_id)
        }
        (Kind::LambdaEventInvokeConfig, Kind::LambdaFunction) => child_id == parent_id,
        (Kind::SnsSubscription, Kind::SnsTopic) => depends,
        _ => false,
    }
}

impl Kind {
    /// Whether a fleet member's stack holds this kind: IAM and SSM only.
    pub fn in_member(self) -> bool {
        matches!(
            self,
            Kind::IamRole | Kind::IamPolicy | Kind::IamRolePolicyAttachment | Kind::SsmDocument
        )
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compare desired with live fields. Tags compare as "desired ⊆ live": tags someone else added are theirs.
pub fn diff(desired: &Map<String, Value>, live: &Live) -> Vec<Difference> {
    let mut out = Vec::new();
    for (field, want) in desired {
        let have = live.fields.get(field).cloned().unwrap_or(Value::Null);
        let same = if field == "tags" {
            match (want, &have) {
                (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, v)| h.get(k) == Some(v)),
                _ => want == &have,
            }
        } else {
            want == &have
        };
        if !same {
            out.push(Difference {
                field: field.clone(),
                desired: want.clone(),
                live: have,
            });
        }
    }
    out
}

/// Tags as a JSON object, for `fields`.
pub fn tags_value(tags: &BTreeMap<String, String>) -> Value {
    Value::Object(
        tags.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Parse a policy document that may be URL-encoded (IAM returns it that way) into JSON.
pub fn parse_policy(doc: &str) -> Value {
    let decoded = if doc.trim_start().starts_with('{') {
        doc.to_string()
    } else {
        percent_encoding::percent_decode_str(doc)
            .decode_utf8_lossy()
            .into_owned()
    };
    serde_json::from_str(&decoded).unwrap_or(Value::String(decoded))
}

/// True when the diff names `field`.
pub fn touches(diff: &[Difference], field: &str) -> bool {
    diff.iter().any(|d| d.field == field)
}

/// A rule's id: `name` on the default bus, `bus/name` on another (rule names hold no `/`).
pub fn rule_id(bus: Option<&str>, name: &str) -> String {
    match bus {
        Some(b) => format!("{b}/{name}"),
        None => name.to_string(),
    }
}

/// The bus (if not the default) and the name of a rule id.
pub fn split_rule_id(id: &str) -> (Option<&str>, &str) {
    match id.split_once('/') {
        Some((bus, name)) => (Some(bus), name),
        None => (None, id),
    }
}

/// Split a compound physical id `a|b`.
pub fn split_id(id: &str) -> Result<(&str, &str)> {
    id.split_once('|')
        .ok_or_else(|| anyhow::anyhow!("malformed physical id {id:?} (expected \"a|b\")"))
}
