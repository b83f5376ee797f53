//! Security Hub automation rule. Its id is made by the server, so it is found by name (and proven ours
//! by tag). It annotates matching NEW findings; it never changes their workflow status, so the findings
//! rule (NEW only) still sends them to triage.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_securityhub::types::{
    AutomationRulesAction, AutomationRulesActionType, AutomationRulesConfig,
    AutomationRulesFindingFieldsUpdate, AutomationRulesFindingFilters, NoteUpdate, RuleStatus,
    StringFilter, StringFilterComparison, UpdateAutomationRulesRequestItem,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{securityhub_error, tags_value, touches, Applied, Ctx, Difference, Live};
use crate::error::{aws, is_not_found};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    pub description: String,
    pub rule_order: i32,
    /// Findings of this severity label (and workflow NEW, record ACTIVE) match.
    pub severity_label: String,
    pub note: String,
    /// Written to the finding's UserDefinedFields.
    pub user_defined_fields: BTreeMap<String, String>,
}

fn eq(v: &str) -> StringFilter {
    StringFilter::builder()
        .value(v)
        .comparison(StringFilterComparison::Equals)
        .build()
}

impl Spec {
    pub fn criteria(&self) -> AutomationRulesFindingFilters {
        AutomationRulesFindingFilters::builder()
            .severity_label(eq(&self.severity_label))
            .workflow_status(eq("NEW"))
            .record_state(eq("ACTIVE"))
            .build()
    }

    pub fn actions(&self) -> Result<AutomationRulesAction> {
        Ok(AutomationRulesAction::builder()
            .r#type(AutomationRulesActionType::FindingFieldsUpdate)
            .finding_fields_update(
                AutomationRulesFindingFieldsUpdate::builder()
                    .note(
                        NoteUpdate::builder()
                            .text(&self.note)
                            .updated_by("secauto")
                            .build(),
                    )
                    .set_user_defined_fields(Some(
                        self.user_defined_fields.clone().into_iter().collect(),
                    ))
                    .build(),
            )
            .build())
    }

    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("description".into(), json!(self.description));
        m.insert("rule_order".into(), json!(self.rule_order));
        m.insert("rule_status".into(), json!("ENABLED"));
        m.insert("criteria".into(), criteria_json(Some(&self.criteria())));
        m.insert(
            "actions".into(),
            actions_json(&self.actions().map(|a| vec![a]).unwrap_or_default()),
        );
        m.insert("tags".into(), tags_value(&ctx.tags));
        m
    }
}

fn filters_json(f: &[StringFilter]) -> Value {
    let mut v: Vec<Value> = f
        .iter()
        .map(|s| {
            json!({
                "value": s.value(),
                "comparison": s.comparison().map(|c| c.as_str()),
            })
        })
        .collect();
    v.sort_by_key(|x| x.to_string());
    Value::Array(v)
}

/// The criteria fields secauto sets, as comparable JSON.
fn criteria_json(c: Option<&AutomationRulesFindingFilters>) -> Value {
    let Some(c) = c else { return Value::Null };
    json!({
        "severity_label": filters_json(c.severity_label()),
        "workflow_status": filters_json(c.workflow_status()),
        "record_state": filters_json(c.record_state()),
    })
}

fn actions_json(actions: &[AutomationRulesAction]) -> Value {
    Value::Array(
        actions
            .iter()
            .map(|a| {
                let u = a.finding_fields_update();
                let udf: BTreeMap<String, String> = u
                    .and_then(|u| u.user_defined_fields())
                    .map(|m| m.clone().into_iter().collect())
                    .unwrap_or_default();
                json!({
                    "type": a.r#type().map(|t| t.as_str()),
                    "note": u.and_then(|u| u.note()).map(|n| n.text()),
                    "user_defined_fields": udf,
                    "workflow_status": u.and_then(|u| u.workflow()).and_then(|w| w.status()).map(|s| s.as_str()),
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
            .list_automation_rules()
            .set_next_token(token)
            .max_results(100)
            .send()
            .await
            .map_err(|e| securityhub_error("securityhub:ListAutomationRules", e))?;
        for r in out.automation_rules_metadata() {
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

fn live_fields(r: &AutomationRulesConfig, tags: &BTreeMap<String, String>) -> Map<String, Value> {
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
    m.insert("tags".into(), tags_value(tags));
    m
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let Some(arn) = find_arn(ctx, &spec.name).await? else {
        return Ok(None);
    };
    let sh = &ctx.clients.securityhub;
    let out = sh
        .batch_get_automation_rules()
        .automation_rules_arns(&arn)
        .send()
        .await
        .map_err(|e| securityhub_error("securityhub:BatchGetAutomationRules", e))?;
    let Some(rule) = out.rules().first() else {
        return Ok(None);
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
    Ok(Some(Live {
        physical_id: arn.clone(),
        arn: Some(arn),
        fields: live_fields(rule, &tags),
        tags: Some(tags),
    }))
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let out = ctx
        .clients
        .securityhub
        .create_automation_rule()
        .rule_name(&spec.name)
        .description(&spec.description)
        .rule_order(spec.rule_order)
        .rule_status(RuleStatus::Enabled)
        .criteria(spec.criteria())
        .actions(spec.actions()?)
        .set_tags(Some(ctx.tags.clone().into_iter().collect()))
        .send()
        .await
        .map_err(|e| securityhub_error("securityhub:CreateAutomationRule", e))?;
    let arn = out
        .rule_arn
        .ok_or_else(|| anyhow::anyhow!("securityhub:CreateAutomationRule returned no RuleArn"))?;
    Ok(Applied {
        physical_id: arn.clone(),
        arn: Some(arn),
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, live: &Live, diff: &[Difference]) -> Result<Applied> {
    let sh = &ctx.clients.securityhub;
    let arn = live.physical_id.clone();
    if diff.iter().any(|d| d.field != "tags") {
        let item = UpdateAutomationRulesRequestItem::builder()
            .rule_arn(&arn)
            .rule_name(&spec.name)
            .description(&spec.description)
            .rule_order(spec.rule_order)
            .rule_status(RuleStatus::Enabled)
            .criteria(spec.criteria())
            .actions(spec.actions()?)
            .build();
        let out = sh
            .batch_update_automation_rules()
            .update_automation_rules_request_items(item)
            .send()
            .await
            .map_err(|e| securityhub_error("securityhub:BatchUpdateAutomationRules", e))?;
        if let Some(u) = out.unprocessed_automation_rules().first() {
            anyhow::bail!(
                "securityhub:BatchUpdateAutomationRules did not update {arn}: {} {}",
                u.error_code().unwrap_or_default(),
                u.error_message().unwrap_or_default()
            );
        }
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

pub async fn delete(ctx: &Ctx, arn: &str) -> Result<()> {
    let out = match ctx
        .clients
        .securityhub
        .batch_delete_automation_rules()
        .automation_rules_arns(arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => {
            let err = securityhub_error("securityhub:BatchDeleteAutomationRules", e);
            return super::gone_with_securityhub(err, arn);
        }
    };
    if let Some(u) = out.unprocessed_automation_rules().first() {
        // A rule that is already gone is what we wanted.
        if u.error_code() == Some(404) || u.error_message().is_some_and(|m| m.contains("not found"))
        {
            return Ok(());
        }
        anyhow::bail!(
            "securityhub:BatchDeleteAutomationRules did not delete {arn}: {} {}",
            u.error_code().unwrap_or_default(),
            u.error_message().unwrap_or_default()
        );
    }
    Ok(())
}

impl super::Ownership for Spec {}
