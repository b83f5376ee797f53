//! Lambda.1: a function whose resource-based policy lets anyone invoke it. Precondition: GetPolicy
//! shows statements that allow the principal `*` (or `{"AWS": "*"}`) with no condition that
//! narrows who calls (`aws:SourceAccount`, `aws:SourceArn`, `aws:SourceOwner`,
//! `aws:PrincipalOrgID`, `aws:PrincipalAccount`, `aws:PrincipalArn`); no policy at all
//! (`ResourceNotFoundException`) is compliant. Protection: the function's tags. Record: each
//! statement about to go, as JSON, in the finding's note, said first (a tag holds 256 characters,
//! a statement more). Change: RemovePermission by statement id, one by one (a statement already
//! gone, `ResourceNotFoundException`, is the state wanted). Verification: a re-read.
//! Undo: `aws lambda add-permission` with each recorded statement's principal, action and
//! conditions.

use anyhow::Result;
use serde_json::Value;

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use crate::sdk_err;

/// Conditions that narrow who may call a statement's principal `*`.
const NARROWING: [&str; 6] = [
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceowner",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
];

impl Executor<'_> {
    /// Remove the statements of the function's policy that let anyone invoke it (Lambda.1);
    /// `function` is its ARN or name.
    pub async fn remove_public_function_access(&self, function: &str) -> Result<Outcome, Failed> {
        self.carry_out(&FunctionPolicy { function }).await
    }

    /// The function's policy: `None` when it has none.
    async fn function_policy(&self, function: &str) -> Result<Option<Value>> {
        let res = self
            .lambda
            .get_policy()
            .function_name(function)
            .send()
            .await;
        match res {
            Ok(o) => Ok(Some(serde_json::from_str(o.policy().unwrap_or("{}"))?)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_err("lambda:GetPolicy", e)),
        }
    }
}

/// Whether a principal is everyone.
fn everyone(p: &Value) -> bool {
    match p {
        Value::String(s) => s == "*",
        Value::Object(o) => o.get("AWS").is_some_and(everyone),
        Value::Array(a) => a.iter().any(everyone),
        _ => false,
    }
}

/// The statements of `policy` that let anyone in: Allow, principal `*`, no narrowing condition.
pub fn public_statements(policy: &Value) -> Vec<Value> {
    let statements = match &policy["Statement"] {
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![policy["Statement"].clone()],
        _ => vec![],
    };
    statements
        .into_iter()
        .filter(|s| s["Effect"] == "Allow" && everyone(&s["Principal"]))
        .filter(|s| {
            let keys: Vec<String> = s["Condition"]
                .as_object()
                .into_iter()
                .flat_map(|ops| ops.values())
                .filter_map(Value::as_object)
                .flat_map(|kv| kv.keys().map(|k| k.to_ascii_lowercase()))
                .collect();
            !keys.iter().any(|k| NARROWING.contains(&k.as_str()))
        })
        .collect()
}

struct FunctionPolicy<'a> {
    function: &'a str,
}

/// The function as read before any change.
struct Function {
    public: Vec<Value>,
    tags: Vec<(String, String)>,
}

impl Remediation for FunctionPolicy<'_> {
    type Subject = Function;

    async fn read(&self, ex: &Executor<'_>, _: &mut Outcome) -> Result<Option<Function>> {
        let policy = ex.function_policy(self.function).await?;
        let tags = ex
            .lambda
            .list_tags()
            .resource(self.function)
            .send()
            .await
            .map_err(|e| sdk_err("lambda:ListTags", e))?;
        let tags = tags
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let public = policy.map(|p| public_statements(&p)).unwrap_or_default();
        Ok(Some(Function { public, tags }))
    }

    fn touches(&self, f: &Function) -> Vec<Touched> {
        vec![Touched {
            id: self.function.to_string(),
            tags: f.tags.clone(),
        }]
    }

    async fn record(
        &self,
        _: &Executor<'_>,
        f: &Function,
        out: &mut Outcome,
        _: bool,
    ) -> Result<()> {
        if !f.public.is_empty() {
            let said: Vec<String> = f.public.iter().map(Value::to_string).collect();
            out.caveats.push(format!(
                "the undo record is this note: the statements of {} that let anyone invoke it were {}",
                self.function,
                said.join(" ")
            ));
        }
        Ok(())
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        f: &Function,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let function = self.function;
        if f.public.is_empty() {
            out.steps.push(format!(
                "{function}'s policy lets no one in without a condition"
            ));
            return Ok(());
        }
        for s in &f.public {
            let sid = s["Sid"].as_str().unwrap_or_default().to_string();
            let what =
                format!("remove statement {sid} (anyone may invoke) from {function}'s policy");
            let call = async {
                ex.lambda
                    .remove_permission()
                    .function_name(function)
                    .statement_id(&sid)
                    .send()
                    .await
                    .map(|_| ())
                    .or_else(super::super::groups::already("ResourceNotFoundException"))
                    .map_err(|e| sdk_err("lambda:RemovePermission", e))
            };
            ex.act(out, protected, what, call).await?;
        }
        Ok(())
    }

    /// Each removal only takes access away: a failure part-way leaves the function less open
    /// than it was, nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Function, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        f: &Function,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            let after = ex.function_policy(self.function).await?;
            after.is_none_or(|p| public_statements(&p).is_empty())
        } else {
            f.public.is_empty()
        })
    }
}
