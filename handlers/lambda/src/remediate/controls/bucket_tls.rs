//! S3.5: a bucket policy that denies requests without TLS. Precondition: no statement of the
//! policy already denies every `s3:*` request with `aws:SecureTransport` false, and the bucket
//! does not serve a static website (its endpoint speaks HTTP only: refused, the finding says so).
//! Record: `secauto:previous-bucket-policy` in the bucket's tags, `none` (no policy) or `kept`
//! (the policy stays, one statement added). Change: one statement, `Sid`
//! `secauto-deny-insecure-transport`, added to the policy as it was (an older statement with that
//! `Sid` is replaced; nothing else changes). Verification: a re-read of the policy.
//! Undo: remove that statement (delete the policy if the tag records `none`).

use anyhow::{Context, Result};
use serde_json::{json, Value};

use super::super::buckets::code;
use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use crate::sdk_err;

/// The `Sid` of the statement this remediation adds.
pub const TLS_STATEMENT_SID: &str = "secauto-deny-insecure-transport";
/// The tag recording whether the bucket had a policy.
pub const PREVIOUS_POLICY_TAG: &str = "secauto:previous-bucket-policy";
/// S3 takes bucket policies of up to 20 KB.
const MAX_POLICY_BYTES: usize = 20 * 1024;

impl Executor<'_> {
    /// Deny requests without TLS in the bucket's policy (S3.5).
    pub async fn require_bucket_tls(&self, bucket: &str) -> Result<Outcome, Failed> {
        self.carry_out(&BucketTls { bucket }).await
    }

    /// The bucket's policy document; `None` when it has none.
    async fn bucket_policy(&self, bucket: &str) -> Result<Option<Value>> {
        let res = self
            .s3
            .get_bucket_policy()
            .bucket(bucket)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await;
        match res {
            Ok(o) => {
                let text = o.policy().unwrap_or_default();
                let doc = serde_json::from_str(text)
                    .with_context(|| format!("the policy of {bucket} is not JSON"))?;
                Ok(Some(doc))
            }
            Err(e) if code(&e) == Some("NoSuchBucketPolicy") => Ok(None),
            Err(e) => Err(sdk_err("s3:GetBucketPolicy", e)),
        }
    }

    async fn put_bucket_policy(&self, bucket: &str, doc: &Value) -> Result<()> {
        let text = doc.to_string();
        anyhow::ensure!(
            text.len() <= MAX_POLICY_BYTES,
            "the policy of {bucket} with the statement added would be {} bytes, over S3's 20 KB: nothing was changed",
            text.len()
        );
        self.s3
            .put_bucket_policy()
            .bucket(bucket)
            .set_expected_bucket_owner(self.owner())
            .policy(text)
            .send()
            .await
            .map_err(|e| sdk_err("s3:PutBucketPolicy", e))?;
        Ok(())
    }

    /// `arn:<partition>:s3:::<bucket>`, the partition of the region the clients use.
    fn bucket_arn(&self, bucket: &str) -> String {
        let region = self.s3.config().region().map(|r| r.as_ref().to_string());
        let partition = secauto_core::names::partition(region.as_deref().unwrap_or("us-east-1"));
        format!("arn:{partition}:s3:::{bucket}")
    }
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => vec![],
        other => vec![other],
    }
}

fn strings(v: &Value) -> Vec<String> {
    as_list(v)
        .into_iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// Does `st` deny every S3 request without TLS, from anyone, to the bucket and its objects?
fn denies_insecure(st: &Value, arn: &str) -> bool {
    let deny = st["Effect"].as_str() == Some("Deny");
    let anyone = st["Principal"] == json!("*") || strings(&st["Principal"]["AWS"]) == ["*"];
    let every_action = strings(&st["Action"])
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case("s3:*"));
    let resources = strings(&st["Resource"]);
    let covers = |r: &str| resources.iter().any(|x| x == "*" || x == r);
    let insecure = st["Condition"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(op, _)| {
            op.eq_ignore_ascii_case("Bool") || op.eq_ignore_ascii_case("BoolIfExists")
        })
        .flat_map(|(_, keys)| keys.as_object().into_iter().flatten())
        .any(|(k, v)| {
            k.eq_ignore_ascii_case("aws:SecureTransport")
                && as_list(v)
                    .iter()
                    .any(|x| *x == &json!(false) || x.as_str() == Some("false"))
        });
    deny && anyone && every_action && covers(arn) && covers(&format!("{arn}/*")) && insecure
}

/// True when some statement of `doc` denies every request without TLS.
pub(super) fn requires_tls(doc: Option<&Value>, arn: &str) -> bool {
    doc.is_some_and(|d| {
        as_list(&d["Statement"])
            .iter()
            .any(|s| denies_insecure(s, arn))
    })
}

/// `doc` (or a new policy) with the TLS statement added, an older statement of that `Sid` replaced.
fn with_tls_statement(doc: Option<&Value>, arn: &str) -> Value {
    let statement = json!({
        "Sid": TLS_STATEMENT_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, format!("{arn}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    });
    let mut doc = doc
        .cloned()
        .unwrap_or_else(|| json!({"Version": "2012-10-17"}));
    let mut statements: Vec<Value> = as_list(&doc["Statement"])
        .into_iter()
        .filter(|s| s["Sid"].as_str() != Some(TLS_STATEMENT_SID))
        .cloned()
        .collect();
    statements.push(statement);
    doc["Statement"] = Value::Array(statements);
    doc
}

struct BucketTls<'a> {
    bucket: &'a str,
}

/// The bucket as read before any change.
struct Bucket {
    tags: Vec<(String, String)>,
    policy: Option<Value>,
    arn: String,
}

impl Remediation for BucketTls<'_> {
    type Subject = Bucket;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Bucket>> {
        let bucket = self.bucket;
        let b = Bucket {
            tags: ex.bucket_tags(bucket).await?,
            policy: ex.bucket_policy(bucket).await?,
            arn: ex.bucket_arn(bucket),
        };
        if !requires_tls(b.policy.as_ref(), &b.arn) && ex.serves_website(bucket).await? {
            let why = super::website_refusal(bucket, "denying requests without TLS");
            out.steps.push(why.clone());
            out.refused = Some(why);
            return Ok(None);
        }
        Ok(Some(b))
    }

    fn touches(&self, b: &Bucket) -> Vec<Touched> {
        vec![Touched {
            id: self.bucket.to_string(),
            tags: b.tags.clone(),
        }]
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        b: &Bucket,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if requires_tls(b.policy.as_ref(), &b.arn) {
            return Ok(());
        }
        let had = if b.policy.is_some() { "kept" } else { "none" };
        let record = vec![(PREVIOUS_POLICY_TAG, had.to_string())];
        ex.record_in_bucket_tags(self.bucket, &b.tags, record, out, protected)
            .await
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        b: &Bucket,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let bucket = self.bucket;
        if requires_tls(b.policy.as_ref(), &b.arn) {
            out.steps.push(format!(
                "{bucket}'s policy already denies requests without TLS"
            ));
            return Ok(());
        }
        let doc = with_tls_statement(b.policy.as_ref(), &b.arn);
        let what = format!(
            "add the statement {TLS_STATEMENT_SID} to {bucket}'s policy (deny every s3:* request without TLS){}",
            if b.policy.is_some() { ", its other statements kept" } else { "" }
        );
        ex.act(out, protected, what, ex.put_bucket_policy(bucket, &doc))
            .await?;
        Ok(())
    }

    /// One PutBucketPolicy that either takes the whole new policy or not: nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Bucket, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        b: &Bucket,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            requires_tls(ex.bucket_policy(self.bucket).await?.as_ref(), &b.arn)
        } else {
            requires_tls(b.policy.as_ref(), &b.arn)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:s3:::b";

    #[test]
    fn the_statement_is_added_once_and_others_kept() {
        let other = json!({"Version": "2012-10-17", "Statement": {"Sid": "Read", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}});
        assert!(!requires_tls(Some(&other), ARN));
        let doc = with_tls_statement(Some(&other), ARN);
        assert!(requires_tls(Some(&doc), ARN));
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(doc["Statement"][0]["Sid"], "Read");
        let again = with_tls_statement(Some(&doc), ARN);
        assert_eq!(again["Statement"].as_array().unwrap().len(), 2);
        assert!(requires_tls(Some(&with_tls_statement(None, ARN)), ARN));
    }

    #[test]
    fn what_counts_as_denying_requests_without_tls() {
        let st = |action: &str, resource: Value, cond: Value| {
            json!({"Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": action,
                "Resource": resource, "Condition": cond}]})
        };
        let both = json!([ARN, format!("{ARN}/*")]);
        let insecure = json!({"Bool": {"aws:SecureTransport": false}});
        assert!(requires_tls(
            Some(&st("s3:*", both.clone(), insecure.clone())),
            ARN
        ));
        assert!(requires_tls(
            Some(&st(
                "*",
                json!("*"),
                json!({"BoolIfExists": {"aws:securetransport": ["false"]}})
            )),
            ARN
        ));
        assert!(!requires_tls(
            Some(&st("s3:GetObject", both.clone(), insecure.clone())),
            ARN
        ));
        assert!(!requires_tls(Some(&st("s3:*", json!(ARN), insecure)), ARN));
        assert!(!requires_tls(
            Some(&st(
                "s3:*",
                both,
                json!({"Bool": {"aws:SecureTransport": "true"}})
            )),
            ARN
        ));
        assert!(!requires_tls(None, ARN));
    }
}
