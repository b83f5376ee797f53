//! SSM.7: Systems Manager's block public sharing setting for documents, a setting of the account
//! in one region (the service setting `/ssm/documents/console/public-sharing-permission`, `Enable`
//! while documents may be shared publicly). Precondition: the finding's account is the one the
//! clients act in, and GetServiceSetting answers `Enable`. Protection: the account
//! (`[remediation] protected`). Record: the setting was `Enable` — the finding's note, said first
//! (a service setting has no tags). Change: UpdateServiceSetting to `Disable` (documents already
//! shared stay shared: SSM.4 answers those). Verification: a re-read. Undo: `aws ssm
//! update-service-setting --setting-id /ssm/documents/console/public-sharing-permission
//! --setting-value Enable` (or `reset-service-setting`).

use anyhow::Result;

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use crate::sdk_err;

/// The service setting that allows or blocks sharing documents publicly.
pub const PUBLIC_SHARING_SETTING: &str = "/ssm/documents/console/public-sharing-permission";

impl Executor<'_> {
    /// Block public sharing of Systems Manager documents in the account's region (SSM.7);
    /// `account` is the finding's resource (`AWS::::Account:<id>`'s id).
    pub async fn block_public_document_sharing(&self, account: &str) -> Result<Outcome, Failed> {
        self.carry_out(&PublicSharingBlock { account }).await
    }

    /// Whether documents may be shared publicly (the setting is `Enable`).
    async fn public_sharing_allowed(&self) -> Result<bool> {
        let out = self
            .ssm
            .get_service_setting()
            .setting_id(PUBLIC_SHARING_SETTING)
            .send()
            .await
            .map_err(|e| sdk_err("ssm:GetServiceSetting", e))?;
        let value = out.service_setting().and_then(|s| s.setting_value());
        Ok(!value.is_some_and(|v| v.eq_ignore_ascii_case("Disable")))
    }
}

struct PublicSharingBlock<'a> {
    account: &'a str,
}

impl Remediation for PublicSharingBlock<'_> {
    /// Whether public sharing is allowed.
    type Subject = bool;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<bool>> {
        if ex.other_account(self.account, out) {
            return Ok(None);
        }
        Ok(Some(ex.public_sharing_allowed().await?))
    }

    fn touches(&self, _: &bool) -> Vec<Touched> {
        vec![Touched {
            id: self.account.to_string(),
            tags: vec![],
        }]
    }

    async fn record(
        &self,
        _: &Executor<'_>,
        allowed: &bool,
        out: &mut Outcome,
        _: bool,
    ) -> Result<()> {
        if *allowed {
            let record = format!(
                "public sharing of documents was allowed in account {} (undo: aws ssm update-service-setting --setting-id {PUBLIC_SHARING_SETTING} --setting-value Enable)",
                self.account
            );
            super::record_in_note(out, record);
        }
        Ok(())
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        allowed: &bool,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if !allowed {
            out.steps
                .push("public sharing of documents is already blocked".to_string());
            return Ok(());
        }
        let what = format!(
            "block public sharing of Systems Manager documents in account {} (documents shared already stay shared)",
            self.account
        );
        let call = async {
            ex.ssm
                .update_service_setting()
                .setting_id(PUBLIC_SHARING_SETTING)
                .setting_value("Disable")
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("ssm:UpdateServiceSetting", e))
        };
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    /// One call that either blocks sharing or not: nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &bool, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        allowed: &bool,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            !ex.public_sharing_allowed().await?
        } else {
            !allowed
        })
    }
}
