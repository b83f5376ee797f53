//! SSM Automation document (isolate an instance: snapshot its volumes, tag it, stop it).

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_ssm::types::{DocumentFormat, DocumentType, ResourceTypeForTagging};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::sweep::{ours, Leftover, Search};
use super::{tags_value, touches, Applied, Ctx, Difference, Kind, Live};
use crate::error::{aws, is_not_found};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    pub arn: String,
    pub content: Value,
}

impl Spec {
    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("document_type".into(), json!("Automation"));
        m.insert("content".into(), self.content.clone());
        m.insert("tags".into(), tags_value(&ctx.tags));
        m
    }
}

fn ssm_tags(ctx: &Ctx) -> Result<Vec<aws_sdk_ssm::types::Tag>> {
    ctx.tags
        .iter()
        .map(|(k, v)| Ok(aws_sdk_ssm::types::Tag::builder().key(k).value(v).build()?))
        .collect()
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let ssm = &ctx.clients.ssm;
    // The document and its tags in one round (the tags' answer counts only if the document exists).
    let (doc, tags) = futures::join!(
        ssm.get_document().name(&spec.name).send(),
        ssm.list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Document)
            .resource_id(&spec.name)
            .send()
    );
    let doc = match doc {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws("ssm:GetDocument", e)),
    };
    let tags: BTreeMap<String, String> = tags
        .map_err(|e| aws("ssm:ListTagsForResource", e))?
        .tag_list
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    let content = doc.content.unwrap_or_default();
    let mut fields = Map::new();
    fields.insert(
        "document_type".into(),
        json!(doc
            .document_type
            .map(|t| t.as_str().to_string())
            .unwrap_or_default()),
    );
    fields.insert(
        "content".into(),
        serde_json::from_str(&content).unwrap_or(Value::String(content)),
    );
    fields.insert("tags".into(), tags_value(&tags));
    Ok(Some(Live {
        physical_id: spec.name.clone(),
        arn: Some(spec.arn.clone()),
        fields,
        tags: Some(tags),
    }))
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    ctx.clients
        .ssm
        .create_document()
        .name(&spec.name)
        .content(spec.content.to_string())
        .document_type(DocumentType::Automation)
        .document_format(DocumentFormat::Json)
        .set_tags(Some(ssm_tags(ctx)?))
        .send()
        .await
        .map_err(|e| aws("ssm:CreateDocument", e))?;
    Ok(Applied {
        physical_id: spec.name.clone(),
        arn: Some(spec.arn.clone()),
    })
}

/// A new document version, made the default.
pub async fn update(ctx: &Ctx, spec: &Spec, _live: &Live, diff: &[Difference]) -> Result<Applied> {
    let ssm = &ctx.clients.ssm;
    if touches(diff, "content") || touches(diff, "document_type") {
        let version = match ssm
            .update_document()
            .name(&spec.name)
            .content(spec.content.to_string())
            .document_format(DocumentFormat::Json)
            .document_version("$LATEST")
            .send()
            .await
        {
            Ok(out) => out.document_description.and_then(|d| d.document_version),
            // A version already holds this content (a run that died between the two calls, or a
            // revert): SSM refuses a duplicate, so make that version the default instead.
            Err(e) if crate::error::code(&e) == Some("DuplicateDocumentContent") => {
                Some(version_with_content(ctx, spec).await?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "ssm:UpdateDocument answered DuplicateDocumentContent for {}, but no version of it holds the desired content",
                        spec.name
                    )
                })?)
            }
            Err(e) => return Err(aws("ssm:UpdateDocument", e)),
        };
        if let Some(version) = version {
            ssm.update_document_default_version()
                .name(&spec.name)
                .document_version(version)
                .send()
                .await
                .map_err(|e| aws("ssm:UpdateDocumentDefaultVersion", e))?;
        }
    }
    if touches(diff, "tags") {
        ssm.add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Document)
            .resource_id(&spec.name)
            .set_tags(Some(ssm_tags(ctx)?))
            .send()
            .await
            .map_err(|e| aws("ssm:AddTagsToResource", e))?;
    }
    Ok(Applied {
        physical_id: spec.name.clone(),
        arn: Some(spec.arn.clone()),
    })
}

/// The newest version of the document whose content is the spec's: versions are numbered 1 to
/// the latest, and one that is gone answers InvalidDocumentVersion.
async fn version_with_content(ctx: &Ctx, spec: &Spec) -> Result<Option<String>> {
    let ssm = &ctx.clients.ssm;
    let latest: u64 = ssm
        .describe_document()
        .name(&spec.name)
        .send()
        .await
        .map_err(|e| aws("ssm:DescribeDocument", e))?
        .document
        .and_then(|d| d.latest_version)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for version in (1..=latest).rev().map(|v| v.to_string()) {
        let doc = match ssm
            .get_document()
            .name(&spec.name)
            .document_version(&version)
            .document_format(DocumentFormat::Json)
            .send()
            .await
        {
            Ok(doc) => doc,
            Err(e) if crate::error::code(&e) == Some("InvalidDocumentVersion") => continue,
            Err(e) => return Err(aws("ssm:GetDocument", e)),
        };
        let content = doc.content.unwrap_or_default();
        if serde_json::from_str::<Value>(&content).ok().as_ref() == Some(&spec.content) {
            return Ok(Some(version));
        }
    }
    Ok(None)
}

pub async fn delete(ctx: &Ctx, name: &str) -> Result<()> {
    super::gone(
        "ssm:DeleteDocument",
        ctx.clients.ssm.delete_document().name(name).send().await,
    )
}

impl super::Ownership for Spec {}

/// The stack's documents the config does not declare: they come with their tags, no read per
/// candidate.
pub(crate) async fn sweep(ctx: &Ctx, search: &Search<'_>) -> Result<Vec<Leftover>> {
    let mut out = Vec::new();
    let mut pages = ctx
        .clients
        .ssm
        .list_documents()
        .filters(
            aws_sdk_ssm::types::DocumentKeyValuesFilter::builder()
                .key("Owner")
                .values("Self")
                .build(),
        )
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("ssm:ListDocuments", e))?;
        for d in page.document_identifiers() {
            let Some(name) = d.name().filter(|n| n.starts_with(&search.prefix)) else {
                continue;
            };
            let tags = d.tags().iter().map(|t| (t.key.clone(), t.value.clone()));
            out.extend(Leftover::when(
                ours(tags, &ctx.stack),
                Kind::SsmDocument,
                name,
            ));
        }
    }
    Ok(out)
}
