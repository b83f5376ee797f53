//! One module per resource kind. Each kind has a spec (what we want), `read` (what is there, found by its
//! deterministic name), `create`, `update` and `delete`; the engine compares [`Spec::fields`] with
//! [`Live::fields`] to decide what to do.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::aws::Clients;

pub mod cloudwatch_alarm;
pub mod cloudwatch_dashboard;
pub mod event_rule;
pub mod event_target;
pub mod iam_policy;
pub mod iam_role;
pub mod iam_role_policy_attachment;
pub mod lambda_event_invoke_config;
pub mod lambda_function;
pub mod lambda_permission;
pub mod securityhub_action_target;
pub mod securityhub_automation_rule;
pub mod sns_subscription;
pub mod sns_topic;
pub mod sqs_queue;
pub mod ssm_document;

/// The tag that proves a resource belongs to a stack.
pub const STACK_TAG: &str = "secauto:stack";

/// Everything a resource operation needs: clients and stack-wide settings.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub clients: Clients,
    pub stack: String,
    /// Every tag a taggable resource carries, `secauto:stack` included.
    pub tags: BTreeMap<String, String>,
    /// Bound of the CreateFunction retries while a new role propagates.
    pub role_wait: Duration,
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
}

/// The outcome of a create or update.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub physical_id: String,
    pub arn: Option<String>,
}

/// One field where live differs from desired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub field: String,
    pub desired: Value,
    pub live: Value,
}

macro_rules! kinds {
    ($($variant:ident => $module:ident),* $(,)?) => {
        /// Every resource kind the stack is made of.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Kind { $($variant),* }

        impl Kind {
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
    };
}

kinds! {
    IamRole => iam_role,
    IamPolicy => iam_policy,
    IamRolePolicyAttachment => iam_role_policy_attachment,
    SnsTopic => sns_topic,
    SnsSubscription => sns_subscription,
    SqsQueue => sqs_queue,
    SsmDocument => ssm_document,
    LambdaFunction => lambda_function,
    LambdaEventInvokeConfig => lambda_event_invoke_config,
    LambdaPermission => lambda_permission,
    EventRule => event_rule,
    EventTarget => event_target,
    SecurityhubAutomationRule => securityhub_automation_rule,
    SecurityhubActionTarget => securityhub_action_target,
    CloudwatchAlarm => cloudwatch_alarm,
    CloudwatchDashboard => cloudwatch_dashboard,
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

/// Split a compound physical id `a|b`.
pub fn split_id(id: &str) -> Result<(&str, &str)> {
    id.split_once('|')
        .ok_or_else(|| anyhow::anyhow!("malformed physical id {id:?} (expected \"a|b\")"))
}
