//! A statement of a function's resource policy letting one EventBridge rule invoke it: principal
//! events.amazonaws.com, the rule's ARN as SourceArn, the account as SourceAccount.

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::sweep::{keep, Leftover, Search};
use super::{found, split_id, Applied, Ctx, Difference, Kind, Live};
use crate::error::{aws, is_not_found};
use crate::retry::{retry_when, Budget, Transient};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub function: String,
    pub statement_id: String,
    pub principal: String,
    pub source_arn: String,
    pub source_account: String,
}

impl Spec {
    pub fn fields(&self, _ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("action".into(), json!("lambda:InvokeFunction"));
        m.insert("principal".into(), json!(self.principal));
        m.insert("source_arn".into(), json!(self.source_arn));
        m.insert("source_account".into(), json!(self.source_account));
        m
    }

    fn id(&self) -> String {
        format!("{}|{}", self.function, self.statement_id)
    }
}

/// Find a condition value whatever its operator and key case (`AWS:SourceArn`, `aws:SourceArn`).
fn condition(stmt: &Value, key: &str) -> Value {
    if let Some(ops) = stmt.get("Condition").and_then(Value::as_object) {
        for op in ops.values() {
            if let Some(m) = op.as_object() {
                for (k, v) in m {
                    if k.eq_ignore_ascii_case(key) {
                        return match v {
                            Value::Array(a) if a.len() == 1 => a[0].clone(),
                            other => other.clone(),
                        };
                    }
                }
            }
        }
    }
    Value::Null
}

fn principal(stmt: &Value) -> Value {
    match stmt.get("Principal") {
        Some(Value::Object(m)) => m.get("Service").cloned().unwrap_or(Value::Null),
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

/// The statements of a function's resource policy document.
fn statements(policy: &str) -> Vec<Value> {
    let policy: Value = serde_json::from_str(policy).unwrap_or(Value::Null);
    match policy.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => vec![],
    }
}

/// The statement ids (Sid) of a function's resource policy document.
pub fn statement_ids(policy: &str) -> Vec<String> {
    statements(policy)
        .iter()
        .filter_map(|s| s.get("Sid").and_then(Value::as_str).map(String::from))
        .collect()
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let out = match ctx
        .clients
        .lambda
        .get_policy()
        .function_name(&spec.function)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws("lambda:GetPolicy", e)),
    };
    let statements = statements(out.policy().unwrap_or("{}"));
    let Some(stmt) = statements
        .iter()
        .find(|s| s.get("Sid").and_then(Value::as_str) == Some(spec.statement_id.as_str()))
    else {
        return Ok(None);
    };
    let mut fields = Map::new();
    fields.insert(
        "action".into(),
        stmt.get("Action").cloned().unwrap_or(Value::Null),
    );
    fields.insert("principal".into(), principal(stmt));
    fields.insert("source_arn".into(), condition(stmt, "AWS:SourceArn"));
    fields.insert(
        "source_account".into(),
        condition(stmt, "AWS:SourceAccount"),
    );
    Ok(Some(Live {
        physical_id: spec.id(),
        arn: None,
        fields,
        tags: None,
    }))
}

/// A concurrent change of the same function's policy: AWS answers ResourceConflictException
/// ("The function could not be updated due to a concurrent update operation"); not the "statement
/// id … already exists" of the same exception.
pub const CONCURRENT_UPDATE: Transient = Transient {
    when: super::lambda_function::in_progress,
    hint: "another change of the function's resource policy was in progress",
};

fn budget(ctx: &Ctx) -> Budget {
    Budget::new(ctx.role_wait.max(Duration::from_secs(30)))
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let _serialised = ctx.function_locks.lock(&spec.function).await;
    let lambda = &ctx.clients.lambda;
    retry_when(
        "lambda:AddPermission",
        budget(ctx),
        &CONCURRENT_UPDATE,
        || {
            lambda
                .add_permission()
                .function_name(&spec.function)
                .statement_id(&spec.statement_id)
                .action("lambda:InvokeFunction")
                .principal(&spec.principal)
                .source_arn(&spec.source_arn)
                .source_account(&spec.source_account)
                .send()
        },
    )
    .await?;
    Ok(Applied {
        physical_id: spec.id(),
        arn: None,
    })
}

/// Statements cannot be edited: remove and add again.
pub async fn update(ctx: &Ctx, spec: &Spec, _live: &Live, _diff: &[Difference]) -> Result<Applied> {
    delete(ctx, &spec.id()).await?;
    create(ctx, spec).await
}

pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    let (function, sid) = split_id(id)?;
    let _serialised = ctx.function_locks.lock(function).await;
    let lambda = &ctx.clients.lambda;
    retry_when(
        "lambda:RemovePermission",
        budget(ctx),
        &CONCURRENT_UPDATE,
        || async {
            match lambda
                .remove_permission()
                .function_name(function)
                .statement_id(sid)
                .send()
                .await
            {
                Err(e) if is_not_found(&e) => Ok(None),
                other => other.map(Some),
            }
        },
    )
    .await
    .map(|_| ())
}

impl super::Ownership for Spec {}

/// Statements of the stack's functions' resource policies that the stack did not make (someone
/// let another principal invoke a function): drift, which deploy removes by its Sid.
pub(crate) async fn sweep(ctx: &Ctx, search: &Search<'_>) -> Result<Vec<Leftover>> {
    let functions: Vec<_> = search.known.statements.iter().collect();
    keep(functions, |(function, sids)| async move {
        let read = ctx.clients.lambda.get_policy().function_name(function).send().await;
        let Some(out) = found("lambda:GetPolicy", read)? else {
            return Ok(vec![]);
        };
        Ok(statement_ids(out.policy().unwrap_or("{}"))
            .into_iter()
            .filter(|sid| !sids.contains(sid))
            .map(|sid| Leftover {
                kind: Kind::LambdaPermission,
                physical_id: format!("{function}|{sid}"),
                reason: Some(format!(
                    "statement {sid:?} of function {function}'s resource policy was not made by this stack: deploy removes it"
                )),
            })
            .collect())
    })
    .await
}
