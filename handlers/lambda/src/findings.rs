//! The findings in Security Hub: one read by id (GetFindings), and BatchUpdateFindings: workflow
//! status, a note and user-defined fields, in batches of at most 100 findings that share the same
//! update. Unprocessed findings (reported with status 200) are retried once and are then errors.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use secauto_core::Finding;

use crate::sdk_err;

/// Pages of GetFindings read at most while looking for one finding.
const MAX_PAGES: usize = 10;

/// The finding `id` of `product_arn` as Security Hub holds it now, or `None` if it has none.
///
/// GetFindings is sent through the SDK's pipeline (endpoint rules, SigV4, retries on throttling:
/// GetFindings allows 3 requests a second) but read with the handlers' own ASFF model: the SDK's
/// GetFindings deserializer covers every resource type Security Hub knows and alone made a third
/// of the bootstrap. The pipeline is that of DescribeActionTargets (read-only, the same protocol,
/// signing name and endpoint, a tiny output), whose request [`AsGetFindings`] turns into
/// GetFindings before it is signed; IAM and CloudTrail see `securityhub:GetFindings`.
///
/// The filters are exact, so the finding is on the first page; an empty page with a NextToken (as
/// paginated AWS APIs may answer) is followed, up to [`MAX_PAGES`].
pub async fn get(
    client: &aws_sdk_securityhub::Client,
    id: &str,
    product_arn: &str,
) -> Result<Option<Finding>> {
    let mut next_token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut body = serde_json::json!({
            "Filters": {
                "Id": [{"Value": id, "Comparison": "EQUALS"}],
                "ProductArn": [{"Value": product_arn, "Comparison": "EQUALS"}],
            },
        });
        if let Some(token) = next_token.take() {
            body["NextToken"] = token.into();
        }
        let page = get_page(client, body.to_string()).await?;
        // AWS filters exactly; matching again costs nothing and keeps a looser server honest.
        if let Some(f) = page
            .findings
            .into_iter()
            .find(|f| f.id == id && f.product_arn == product_arn)
        {
            return Ok(Some(f));
        }
        match page.next_token {
            Some(token) if !token.is_empty() => next_token = Some(token),
            _ => return Ok(None),
        }
    }
    anyhow::bail!(
        "securityhub:GetFindings: finding {id} not found in {MAX_PAGES} pages, and Security Hub has more"
    )
}

/// One page of GetFindings.
#[derive(serde::Deserialize)]
struct Page {
    #[serde(rename = "Findings", default)]
    findings: Vec<Finding>,
    #[serde(rename = "NextToken", default)]
    next_token: Option<String>,
}

async fn get_page(client: &aws_sdk_securityhub::Client, body: String) -> Result<Page> {
    let rewrite = AsGetFindings {
        body,
        answer: Arc::default(),
    };
    let answer = rewrite.answer.clone();
    client
        .describe_action_targets()
        .customize()
        .interceptor(rewrite)
        .send()
        .await
        .map_err(|e| sdk_err("securityhub:GetFindings", e))?;
    let body = answer
        .lock()
        .ok()
        .and_then(|mut a| a.take())
        .context("securityhub:GetFindings: no response body")?;
    serde_json::from_slice(&body)
        .context("securityhub:GetFindings: cannot read the answer as findings")
}

/// Turns a DescribeActionTargets request into GetFindings (`POST /findings` with `body`) before it
/// is signed, on every attempt, and keeps the answer of a successful one.
#[derive(Debug)]
struct AsGetFindings {
    body: String,
    answer: Arc<Mutex<Option<Vec<u8>>>>,
}

/// The path of the operation whose pipeline carries GetFindings.
const CARRIER_PATH: &str = "/actionTargets/get";

impl Intercept for AsGetFindings {
    fn name(&self) -> &'static str {
        "AsGetFindings"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let uri = request.uri().to_string();
        let (path, query) = uri.split_once('?').unwrap_or((&uri, ""));
        let Some(base) = path.strip_suffix(CARRIER_PATH) else {
            return Err(format!("unexpected DescribeActionTargets request {uri}").into());
        };
        if request.method() != "POST" || !query.is_empty() {
            return Err(format!("unexpected DescribeActionTargets request {uri}").into());
        }
        request.set_uri(format!("{base}/findings"))?;
        request
            .headers_mut()
            .insert("content-length", self.body.len().to_string());
        *request.body_mut() = SdkBody::from(self.body.clone());
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        if response.status().is_success() {
            if let (Some(bytes), Ok(mut answer)) = (response.body().bytes(), self.answer.lock()) {
                *answer = Some(bytes.to_vec());
            }
        }
        Ok(())
    }
}

/// BatchUpdateFindings takes at most 100 findings per call.
pub const MAX_PER_CALL: usize = 100;

/// One finding to update.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub id: String,
    pub product_arn: String,
}

/// The update to apply.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Update {
    /// NEW, NOTIFIED, RESOLVED or SUPPRESSED (there is no IN_PROGRESS).
    pub workflow: &'static str,
    pub note: String,
    pub user_defined_fields: BTreeMap<String, String>,
}

/// Apply updates; findings that share an update go in one call (up to 100).
pub async fn update(
    client: &aws_sdk_securityhub::Client,
    updates: Vec<(Target, Update)>,
) -> Result<usize> {
    let mut groups: BTreeMap<Update, Vec<Target>> = BTreeMap::new();
    for (t, u) in updates {
        groups.entry(u).or_default().push(t);
    }
    let mut done = 0;
    let mut errors = Vec::new();
    for (u, targets) in groups {
        for chunk in targets.chunks(MAX_PER_CALL) {
            let mut pending: Vec<Target> = chunk.to_vec();
            for attempt in 0..2 {
                let failed = send(client, &u, &pending).await?;
                done += pending.len() - failed.len();
                if failed.is_empty() {
                    pending.clear();
                    break;
                }
                if attempt == 1 {
                    errors.extend(failed.iter().map(|(t, why)| format!("{}: {why}", t.id)));
                }
                pending = failed.into_iter().map(|(t, _)| t).collect();
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
    if !errors.is_empty() {
        anyhow::bail!(
            "securityhub:BatchUpdateFindings left {} finding(s) unprocessed: {}",
            errors.len(),
            errors.join("; ")
        );
    }
    Ok(done)
}

async fn send(
    client: &aws_sdk_securityhub::Client,
    u: &Update,
    targets: &[Target],
) -> Result<Vec<(Target, String)>> {
    let ids = targets
        .iter()
        .map(|t| {
            AwsSecurityFindingIdentifier::builder()
                .id(&t.id)
                .product_arn(&t.product_arn)
                .build()
        })
        .collect::<Vec<_>>();
    let out = client
        .batch_update_findings()
        .set_finding_identifiers(Some(ids))
        .workflow(
            WorkflowUpdate::builder()
                .status(WorkflowStatus::from(u.workflow))
                .build(),
        )
        .note(
            NoteUpdate::builder()
                .text(u.note.chars().take(512).collect::<String>())
                .updated_by("secauto")
                .build(),
        )
        .set_user_defined_fields(if u.user_defined_fields.is_empty() {
            None
        } else {
            Some(u.user_defined_fields.clone().into_iter().collect())
        })
        .send()
        .await
        .map_err(|e| sdk_err("securityhub:BatchUpdateFindings", e))?;
    Ok(out
        .unprocessed_findings()
        .iter()
        .filter_map(|f| {
            let id = f.finding_identifier()?;
            Some((
                Target {
                    id: id.id().unwrap_or_default().to_string(),
                    product_arn: id.product_arn().unwrap_or_default().to_string(),
                },
                format!(
                    "{} {}",
                    f.error_code().unwrap_or("?"),
                    f.error_message().unwrap_or_default()
                ),
            ))
        })
        .collect())
}
