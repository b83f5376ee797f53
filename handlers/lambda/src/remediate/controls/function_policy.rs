//! Lambda.1: a function whose resource-based policy lets anyone invoke it. Precondition: GetPolicy
//! shows statements that are public as AWS Config's `lambda-function-public-access-prohibited`
//! (Security Hub's check) counts them: an Allow to the principal `*` (or `{"AWS": "*"}`, or an
//! AWS principal with a wildcard) with no condition that narrows who calls (`aws:SourceAccount`,
//! `aws:SourceArn`, `aws:SourceOwner`, `aws:PrincipalOrgID`, `aws:PrincipalAccount`,
//! `aws:PrincipalArn`); and an Allow to a service principal (`s3.amazonaws.com`) with no
//! `AWS:SourceAccount`/`AWS:SourceArn` condition — any account's bucket could invoke it. A
//! condition narrows only with fixed values: one with a wildcard (`*`, `?`) or a policy variable,
//! a negated or `…IfExists` operator, narrows nothing. No policy at all
//! (`ResourceNotFoundException`) is compliant. Protection: the function's tags. Record: each
//! statement about to go, as JSON, in the finding's note, said first (a tag holds 256 characters,
//! a statement more); a record that would not fit the note refuses the change. Change:
//! RemovePermission by statement id, one by one (a statement already gone,
//! `ResourceNotFoundException`, is the state wanted). Verification: a re-read.
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

/// Conditions that narrow a service principal to the caller's own resources (AWS Config's rule
/// names `AWS:SourceAccount`; a source ARN names the one resource).
const SERVICE_NARROWING: [&str; 2] = ["aws:sourceaccount", "aws:sourcearn"];

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

/// Whether a principal is everyone: `*`, or an AWS principal with a wildcard.
fn everyone(p: &Value) -> bool {
    match p {
        Value::String(s) => s.contains(['*', '?']),
        Value::Object(o) => o.get("AWS").is_some_and(everyone),
        Value::Array(a) => a.iter().any(everyone),
        _ => false,
    }
}

/// Whether a principal is Amazon S3's service principal (`{"Service": "s3.amazonaws.com"}`): the
/// one service AWS Config's rule names — a bucket of any account could invoke the function. Other
/// services' permissions (API Gateway's, with a wildcard in its source ARN) are not counted public.
fn s3_service(p: &Value) -> bool {
    let is_s3 = |v: &Value| v.as_str() == Some("s3.amazonaws.com");
    match p.get("Service") {
        Some(Value::Array(a)) => a.iter().any(is_s3),
        Some(v) => is_s3(v),
        None => false,
    }
}

/// Whether a condition value is fixed: no wildcard, no policy variable (AWS Config's note: "To be
/// considered non-public, a Lambda resource-based policy must grant access only to fixed values").
fn fixed(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.contains(['*', '?']) && !s.contains("${"),
        Value::Array(a) => !a.is_empty() && a.iter().all(fixed),
        Value::Number(_) | Value::Bool(_) => true,
        _ => false,
    }
}

/// The condition keys of statement `s` that narrow with fixed values (lowercase).
fn narrowing_keys(s: &Value) -> Vec<String> {
    s["Condition"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(op, _)| {
            let op = op.to_ascii_lowercase();
            !op.contains("not") && !op.ends_with("ifexists")
        })
        .filter_map(|(_, kv)| kv.as_object())
        .flatten()
        .filter(|(_, v)| fixed(v))
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect()
}

/// The statements of `policy` that let anyone in, as AWS Config's
/// `lambda-function-public-access-prohibited` counts them
/// (<https://docs.aws.amazon.com/config/latest/developerguide/lambda-function-public-access-prohibited.html>):
/// an Allow to everyone with no fixed narrowing condition, or to Amazon S3's service principal with
/// no fixed `AWS:SourceAccount`/`AWS:SourceArn` ("NON_COMPLIANT if a Lambda function is invoked from
/// Amazon S3, and the policy doesn't include a condition to limit public access, such as
/// AWS:SourceAccount").
pub fn public_statements(policy: &Value) -> Vec<Value> {
    let statements = match &policy["Statement"] {
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![policy["Statement"].clone()],
        _ => vec![],
    };
    statements
        .into_iter()
        .filter(|s| s["Effect"] == "Allow")
        .filter(|s| {
            let keys = narrowing_keys(s);
            let narrowed = |by: &[&str]| keys.iter().any(|k| by.contains(&k.as_str()));
            let p = &s["Principal"];
            (everyone(p) && !narrowed(&NARROWING))
                || (s3_service(p) && !narrowed(&SERVICE_NARROWING))
        })
        .collect()
}

/// What `aws lambda add-permission` needs of a statement, as JSON: its id, principal, action and
/// conditions — and its resource only when it names a version or alias (`function:name:qualifier`):
/// the note holds 512 characters.
fn undo_needs(s: &Value) -> String {
    let mut kept = serde_json::Map::new();
    for key in ["Sid", "Principal", "Action", "Condition"] {
        if !s[key].is_null() {
            kept.insert(key.to_string(), s[key].clone());
        }
    }
    let qualified = s["Resource"]
        .as_str()
        .is_some_and(|r| r.split(':').count() > 7);
    if qualified {
        kept.insert("Resource".into(), s["Resource"].clone());
    }
    Value::Object(kept).to_string()
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

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Function>> {
        if ex.other_accounts_resource(self.function, out) {
            return Ok(None);
        }
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
            let said: Vec<String> = f.public.iter().map(undo_needs).collect();
            let record = format!(
                "the statements of its policy that let anyone invoke it were {}",
                said.join(" ")
            );
            super::record_in_note(out, record);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sids(statements: Value) -> Vec<String> {
        public_statements(&json!({ "Statement": statements }))
            .iter()
            .map(|s| s["Sid"].as_str().unwrap().to_string())
            .collect()
    }

    /// Public as AWS Config's rule counts it: a wildcard principal or a service principal without
    /// a fixed source account or ARN; a condition with a wildcard, a variable, a negated or an
    /// `IfExists` operator narrows nothing.
    #[test]
    fn public_as_aws_config_counts_it() {
        let allow = |sid: &str, principal: Value, condition: Value| {
            json!({"Sid": sid, "Effect": "Allow", "Principal": principal,
                   "Action": "lambda:InvokeFunction", "Condition": condition})
        };
        let s3 = json!({"Service": "s3.amazonaws.com"});
        let statements = json!([
            allow("star", json!("*"), Value::Null),
            allow("any-root", json!({"AWS": "arn:aws:iam::*:root"}), Value::Null),
            allow("s3-bare", s3.clone(), Value::Null),
            allow("s3-wild-arn", s3.clone(), json!({"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::*"}})),
            allow("s3-q-account", s3.clone(), json!({"StringEquals": {"AWS:SourceAccount": "12345678901?"}})),
            allow("star-var", json!("*"), json!({"StringEquals": {"aws:PrincipalAccount": "${aws:username}"}})),
            allow("star-not", json!("*"), json!({"StringNotEquals": {"aws:SourceAccount": "123456789012"}})),
            allow("star-ifexists", json!("*"), json!({"StringEqualsIfExists": {"aws:SourceAccount": "123456789012"}})),
            allow("star-org", json!("*"), json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}})),
            allow("s3-account", s3.clone(), json!({"StringEquals": {"AWS:SourceAccount": "123456789012"}})),
            allow("s3-bucket", s3, json!({"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::logs"}})),
            allow("account", json!({"AWS": "arn:aws:iam::123456789012:root"}), Value::Null),
            {"Sid": "deny", "Effect": "Deny", "Principal": "*", "Action": "lambda:InvokeFunction"},
        ]);
        assert_eq!(
            sids(statements),
            [
                "star",
                "any-root",
                "s3-bare",
                "s3-wild-arn",
                "s3-q-account",
                "star-var",
                "star-not",
                "star-ifexists"
            ]
        );
    }

    /// The record keeps what add-permission needs, and the resource only when it is qualified.
    #[test]
    fn the_record_keeps_what_undo_needs() {
        let s = json!({"Sid": "a", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction",
                       "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f"});
        let kept: Value = serde_json::from_str(&undo_needs(&s)).unwrap();
        assert_eq!(
            kept,
            json!({"Sid": "a", "Principal": "*", "Action": "lambda:InvokeFunction"})
        );
        let q = json!({"Sid": "a", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f:live"});
        assert!(undo_needs(&q).contains(":function:f:live"));
    }
}
