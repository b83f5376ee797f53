//! SSM.4: a Systems Manager document shared with everyone (its `Share` permission names the
//! account id `All`). Precondition: DescribeDocumentPermission lists `All` (on any page: it
//! answers a page at a time, `NextToken`). Record:
//! `secauto:previous-sharing=all` in the document's tags (an earlier run's tag is kept).
//! Change: ModifyDocumentPermission removing `All` (the accounts it is shared with by id keep
//! it). Verification: a re-read. Undo: `aws ssm modify-document-permission --name …
//! --permission-type Share --account-ids-to-add All`, then delete the tag.

use anyhow::Result;
use aws_sdk_ssm::types::{DocumentPermissionType, ResourceTypeForTagging, Tag};

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use crate::sdk_err;

/// The tag recording that the document was shared with everyone.
pub const PREVIOUS_SHARING_TAG: &str = "secauto:previous-sharing";

impl Executor<'_> {
    /// Stop sharing the document with everyone (SSM.4); `name` is the document's name.
    pub async fn make_document_private(&self, name: &str) -> Result<Outcome, Failed> {
        self.carry_out(&DocumentSharing { name }).await
    }

    async fn shared_with_all(&self, name: &str) -> Result<bool> {
        let mut next: Option<String> = None;
        loop {
            let out = self
                .ssm
                .describe_document_permission()
                .name(name)
                .permission_type(DocumentPermissionType::Share)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| sdk_err("ssm:DescribeDocumentPermission", e))?;
            if out
                .account_ids()
                .iter()
                .any(|a| a.eq_ignore_ascii_case("all"))
            {
                return Ok(true);
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => return Ok(false),
            }
        }
    }
}

struct DocumentSharing<'a> {
    name: &'a str,
}

/// The document as read before any change.
struct Document {
    public: bool,
    tags: Vec<(String, String)>,
}

impl Remediation for DocumentSharing<'_> {
    type Subject = Document;

    async fn read(&self, ex: &Executor<'_>, _: &mut Outcome) -> Result<Option<Document>> {
        let public = ex.shared_with_all(self.name).await?;
        let tags = ex
            .ssm
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Document)
            .resource_id(self.name)
            .send()
            .await
            .map_err(|e| sdk_err("ssm:ListTagsForResource", e))?;
        let tags = tags
            .tag_list()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        Ok(Some(Document { public, tags }))
    }

    fn touches(&self, d: &Document) -> Vec<Touched> {
        vec![Touched {
            id: self.name.to_string(),
            tags: d.tags.clone(),
        }]
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        d: &Document,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let name = self.name;
        if !d.public || d.tags.iter().any(|(k, _)| k == PREVIOUS_SHARING_TAG) {
            return Ok(());
        }
        let tag = Tag::builder()
            .key(PREVIOUS_SHARING_TAG)
            .value("all")
            .build()?;
        let call = async {
            ex.ssm
                .add_tags_to_resource()
                .resource_type(ResourceTypeForTagging::Document)
                .resource_id(name)
                .tags(tag)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("ssm:AddTagsToResource", e))
        };
        let what = format!("record {PREVIOUS_SHARING_TAG}=all in {name}'s tags");
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        d: &Document,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let name = self.name;
        if !d.public {
            out.steps
                .push(format!("{name} is already not shared with everyone"));
            return Ok(());
        }
        let what = format!("stop sharing document {name} with everyone (All)");
        let call = async {
            ex.ssm
                .modify_document_permission()
                .name(name)
                .permission_type(DocumentPermissionType::Share)
                .account_ids_to_remove("All")
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("ssm:ModifyDocumentPermission", e))
        };
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    /// One call that either stops the sharing or not: nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Document, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        d: &Document,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            !ex.shared_with_all(self.name).await?
        } else {
            !d.public
        })
    }
}
