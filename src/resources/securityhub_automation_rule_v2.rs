//! Security Hub (V2, OCSF) automation rule: the OCSF twin of [`super::securityhub_automation_rule`].
//! Its id is made by the server, so it is found by name (ListAutomationRulesV2) and proven ours by
//! its `secauto:stack` / `secauto:region` tags. It comments on matching New findings and never
//! changes their `status_id`, so the OCSF findings rule (New only) still sends them to triage.
//!
//! Limits, from the API reference's CreateAutomationRuleV2
//! (<https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_CreateAutomationRuleV2.html>):
//! RuleName and Description 1–256 characters, RuleOrder 1.0–1000.0, Criteria an
//! `OcsfFindingCriteria`, and a FINDING_FIELDS_UPDATE action whose Comment is 1–512 characters
//! (AutomationRulesFindingFieldsUpdateV2).

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_securityhub::types::{
    AllowedOperators, AutomationRulesActionTypeV2, AutomationRulesActionV2,
    AutomationRulesFindingFieldsUpdateV2, CompositeFilter, Criteria, NumberFilter,
    OcsfFindingFilters, OcsfNumberField, OcsfNumberFilter, OcsfStringField, OcsfStringFilter,
    RuleStatusV2, StringFilter, StringFilterComparison,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{tags_value, touches, Applied, Ctx, Difference, Live};
use crate::error::{aws, code, is_not_found};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    pub description: String,
    pub rule_order: f32,
    /// Findings of these OCSF `severity_id`s (and `status_id` 1, New) match.
    pub severity_ids: Vec<i32>,
    /// And findings of `severity_id` 0 (Unknown) or 99 (Other) whose `severity` is one of these
    /// (triage reads the text for those ids): V2 string filters compare exactly, so these are
    /// the OCSF captions (`High`).
    pub severity_texts: Vec<String>,
    /// Written to the finding's `comment`.
    pub comment: String,
}

/// Security Hub (V2) refused a read because it is not enabled here.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {code}: {message}")]
pub struct Unavailable {
    pub operation: String,
    pub code: String,
    pub message: String,
}

/// True when `err` says Security Hub (V2) is not enabled here.
pub fn is_unavailable(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<Unavailable>())
}

fn v2_error<E, R>(
    operation: &str,
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> anyhow::Error
where
    E: super::ServiceError,
    R: super::RawResponse,
{
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    match code(&err) {
        Some(c @ ("AccessDeniedException" | "ResourceNotFoundException")) => {
            anyhow::Error::new(Unavailable {
                operation: operation.into(),
                code: c.into(),
                message: err.message().unwrap_or("(no message)").into(),
            })
        }
        _ => aws(operation, err),
    }
}

impl Spec {
    /// What the API reference allows, all problems at once.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let len = |what: &str, v: &str, max: usize, p: &mut Vec<String>| {
            if v.is_empty() || v.chars().count() > max {
                p.push(format!(
                    "V2 automation rule {what} {v:?} must be 1-{max} characters"
                ));
            }
        };
        len("RuleName", &self.name, 256, &mut p);
        len("Description", &self.description, 256, &mut p);
        len("Comment", &self.comment, 512, &mut p);
        if !(1.0..=1000.0).contains(&self.rule_order) {
            p.push(format!(
                "V2 automation rule RuleOrder {} must be 1.0-1000.0",
                self.rule_order
            ));
        }
        p
    }

    fn number(field: OcsfNumberField, v: i32) -> OcsfNumberFilter {
        OcsfNumberFilter::builder()
            .field_name(field)
            .filter(NumberFilter::builder().eq(f64::from(v)).build())
            .build()
    }

    fn text(field: OcsfStringField, v: &str) -> OcsfStringFilter {
        OcsfStringFilter::builder()
            .field_name(field)
            .filter(
                StringFilter::builder()
                    .value(v)
                    .comparison(StringFilterComparison::Equals)
                    .build(),
            )
            .build()
    }

    /// New findings of the severity ids, or of an id naming no level (0, 99) with one of the texts
    /// (a nested filter each: the id and the text).
    pub fn criteria(&self) -> Criteria {
        let mut severity = CompositeFilter::builder().operator(AllowedOperators::Or);
        for id in &self.severity_ids {
            severity = severity.number_filters(Self::number(OcsfNumberField::SeverityId, *id));
        }
        for id in secauto_core::ocsf::UNSURE_SEVERITY_IDS {
            for text in &self.severity_texts {
                severity = severity.nested_composite_filters(
                    CompositeFilter::builder()
                        .operator(AllowedOperators::And)
                        .number_filters(Self::number(OcsfNumberField::SeverityId, id as i32))
                        .string_filters(Self::text(OcsfStringField::Severity, text))
                        .build(),
                );
            }
        }
        let new = CompositeFilter::builder()
            .number_filters(Self::number(OcsfNumberField::StatusId, 1))
            .operator(AllowedOperators::And)
            .build();
        Criteria::OcsfFindingCriteria(
            OcsfFindingFilters::builder()
                .composite_filters(severity.build())
                .composite_filters(new)
                .composite_operator(AllowedOperators::And)
                .build(),
        )
    }

    pub fn actions(&self) -> AutomationRulesActionV2 {
        AutomationRulesActionV2::builder()
            .r#type(AutomationRulesActionTypeV2::FindingFieldsUpdate)
            .finding_fields_update(
                AutomationRulesFindingFieldsUpdateV2::builder()
                    .comment(&self.comment)
                    .build(),
            )
            .build()
    }

    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("description".into(), json!(self.description));
        m.insert("rule_order".into(), json!(self.rule_order));
        m.insert("rule_status".into(), json!("ENABLED"));
        m.insert("criteria".into(), criteria_json(Some(&self.criteria())));
        m.insert("actions".into(), actions_json(&[self.actions()]));
        m.insert("tags".into(), tags_value(&ctx.tags));
        m
    }
}

/// The criteria as comparable JSON: per composite filter (in a stable order), its operator, its
/// number filters (field and every bound), its string filters (field comparison "value") and any other filter (date,
/// boolean, map, IP, nested), so that a filter added behind secauto's back shows as drift.
fn criteria_json(c: Option<&Criteria>) -> Value {
    let Some(Criteria::OcsfFindingCriteria(f)) = c else {
        return Value::Null;
    };
    // In a stable order: AWS may return the composite filters in another.
    let mut comps: Vec<Value> = f.composite_filters().iter().map(composite_json).collect();
    comps.sort_by_key(|c| c.to_string());
    json!({"operator": f.composite_operator().map(|o| o.as_str()), "filters": comps})
}

fn composite_json(c: &CompositeFilter) -> Value {
    let mut numbers: Vec<String> = c
        .number_filters()
        .iter()
        .map(|n| {
            let field = n.field_name().map(|f| f.as_str()).unwrap_or_default();
            let f = n.filter();
            let bounds = [
                ("=", f.and_then(|f| f.eq())),
                (">=", f.and_then(|f| f.gte())),
                ("<=", f.and_then(|f| f.lte())),
                (">", f.and_then(|f| f.gt())),
                ("<", f.and_then(|f| f.lt())),
            ];
            let said: Vec<String> = bounds
                .iter()
                .filter_map(|(op, v)| v.map(|v| format!("{op} {v}")))
                .collect();
            format!("{field} {}", said.join(" "))
        })
        .collect();
    numbers.sort();
    let mut strings: Vec<String> = c
        .string_filters()
        .iter()
        .map(|s| {
            let field = s.field_name().map(|f| f.as_str()).unwrap_or_default();
            let f = s.filter();
            let how = f.and_then(|f| f.comparison()).map(|c| c.as_str());
            let value = f.and_then(|f| f.value()).unwrap_or_default();
            format!("{field} {} {value:?}", how.unwrap_or("?"))
        })
        .collect();
    strings.sort();
    let mut others: Vec<String> = c
        .date_filters()
        .iter()
        .map(|d| format!("{d:?}"))
        .chain(c.boolean_filters().iter().map(|b| format!("{b:?}")))
        .chain(c.map_filters().iter().map(|m| format!("{m:?}")))
        .chain(c.ip_filters().iter().map(|i| format!("{i:?}")))
        .chain(
            c.nested_composite_filters()
                .iter()
                .map(|n| composite_json(n).to_string()),
        )
        .collect();
    others.sort();
    let mut v = json!({"operator": c.operator().map(|o| o.as_str()), "numbers": numbers});
    if !strings.is_empty() {
        v["strings"] = json!(strings);
    }
    if !others.is_empty() {
        v["others"] = json!(others);
    }
    v
}

fn actions_json(actions: &[AutomationRulesActionV2]) -> Value {
    Value::Array(
        actions
            .iter()
            .map(|a| {
                let u = a.finding_fields_update();
                json!({
                    "type": a.r#type().map(|t| t.as_str()),
                    "comment": u.and_then(|u| u.comment()),
                    "status_id": u.and_then(|u| u.status_id()),
                    "severity_id": u.and_then(|u| u.severity_id()),
                })
            })
            .collect(),
    )
}

/// Find the rule's ARN by name.
async fn find_arn(ctx: &Ctx, name: &str) -> Result<Option<String>> {
    let mut token = None;
    loop {
        let out = ctx
            .clients
            .securityhub
            .list_automation_rules_v2()
            .set_next_token(token)
            .max_results(100)
            .send()
            .await
            .map_err(|e| v2_error("securityhub:ListAutomationRulesV2", e))?;
        for r in out.rules() {
            if r.rule_name() == Some(name) {
                return Ok(r.rule_arn().map(str::to_string));
            }
        }
        token = out.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(None);
        }
    }
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let Some(arn) = find_arn(ctx, &spec.name).await? else {
        return Ok(None);
    };
    let sh = &ctx.clients.securityhub;
    let r = match sh.get_automation_rule_v2().identifier(&arn).send().await {
        Ok(r) => r,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(v2_error("securityhub:GetAutomationRuleV2", e)),
    };
    let tags: BTreeMap<String, String> = sh
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| aws("securityhub:ListTagsForResource", e))?
        .tags
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut m = Map::new();
    m.insert(
        "description".into(),
        json!(r.description().unwrap_or_default()),
    );
    m.insert("rule_order".into(), json!(r.rule_order()));
    m.insert(
        "rule_status".into(),
        json!(r.rule_status().map(|s| s.as_str()).unwrap_or_default()),
    );
    m.insert("criteria".into(), criteria_json(r.criteria()));
    m.insert("actions".into(), actions_json(r.actions()));
    m.insert("tags".into(), tags_value(&tags));
    Ok(Some(Live {
        physical_id: arn.clone(),
        arn: Some(arn),
        fields: m,
        tags: Some(tags),
    }))
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let out = ctx
        .clients
        .securityhub
        .create_automation_rule_v2()
        .rule_name(&spec.name)
        .description(&spec.description)
        .rule_order(spec.rule_order)
        .rule_status(RuleStatusV2::Enabled)
        .criteria(spec.criteria())
        .actions(spec.actions())
        .set_tags(Some(ctx.tags.clone().into_iter().collect()))
        .send()
        .await
        .map_err(|e| v2_error("securityhub:CreateAutomationRuleV2", e))?;
    let arn = out
        .rule_arn
        .ok_or_else(|| anyhow::anyhow!("securityhub:CreateAutomationRuleV2 returned no RuleArn"))?;
    Ok(Applied {
        physical_id: arn.clone(),
        arn: Some(arn),
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, live: &Live, diff: &[Difference]) -> Result<Applied> {
    let sh = &ctx.clients.securityhub;
    let arn = live.physical_id.clone();
    if diff.iter().any(|d| d.field != "tags") {
        sh.update_automation_rule_v2()
            .identifier(&arn)
            .rule_name(&spec.name)
            .description(&spec.description)
            .rule_order(spec.rule_order)
            .rule_status(RuleStatusV2::Enabled)
            .criteria(spec.criteria())
            .actions(spec.actions())
            .send()
            .await
            .map_err(|e| v2_error("securityhub:UpdateAutomationRuleV2", e))?;
    }
    if touches(diff, "tags") {
        sh.tag_resource()
            .resource_arn(&arn)
            .set_tags(Some(ctx.tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws("securityhub:TagResource", e))?;
    }
    Ok(Applied {
        physical_id: arn.clone(),
        arn: Some(arn),
    })
}

/// Delete the rule; already gone, or gone with Security Hub (not enabled), is what we wanted. A
/// refusal (AccessDeniedException: a missing permission, an SCP) is gone with Security Hub only when
/// DescribeSecurityHubV2 says it is not enabled; otherwise it is the error it is, and the rule
/// stays in the state.
pub async fn delete(ctx: &Ctx, arn: &str) -> Result<()> {
    let sh = &ctx.clients.securityhub;
    match sh.delete_automation_rule_v2().identifier(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => {
            let err = v2_error("securityhub:DeleteAutomationRuleV2", e);
            if is_unavailable(&err) && !v2_enabled(ctx).await {
                tracing::warn!("Security Hub is not enabled here, so {arn} cannot exist: {err:#}");
                return Ok(());
            }
            Err(err)
        }
    }
}

/// Whether today's Security Hub may be enabled: anything but DescribeSecurityHubV2's
/// ResourceNotFoundException ("not enabled") counts as maybe.
async fn v2_enabled(ctx: &Ctx) -> bool {
    let described = ctx
        .clients
        .securityhub
        .describe_security_hub_v2()
        .send()
        .await;
    !matches!(described, Err(e) if code(&e) == Some("ResourceNotFoundException"))
}

impl super::Ownership for Spec {}
