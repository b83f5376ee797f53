//! EC2.7: EBS encryption by default, a setting of the account in one region. Precondition: it is
//! off there (GetEbsEncryptionByDefault), and the finding's account is the one the clients act in.
//! Protection: the account id in `[remediation] protected` (an account has no tags). Record: the
//! setting was off — an account setting has nowhere to keep a tag, so the record is the finding's
//! note, said first. Change: EnableEbsEncryptionByDefault (new volumes are encrypted with the
//! region's default EBS key; existing volumes and the key are untouched). Verification: a re-read.
//! Undo: `aws ec2 disable-ebs-encryption-by-default` in that region.

use anyhow::Result;

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use crate::sdk_err;

impl Executor<'_> {
    /// Turn on EBS encryption by default in the account's region (EC2.7); `account` is the
    /// finding's resource (`AWS::::Account:<id>`'s id).
    pub async fn enable_ebs_default_encryption(&self, account: &str) -> Result<Outcome, Failed> {
        self.carry_out(&EbsDefault { account }).await
    }

    async fn ebs_encrypted_by_default(&self) -> Result<bool> {
        let out = self
            .ec2
            .get_ebs_encryption_by_default()
            .send()
            .await
            .map_err(|e| sdk_err("ec2:GetEbsEncryptionByDefault", e))?;
        Ok(out.ebs_encryption_by_default() == Some(true))
    }

    fn region_name(&self) -> String {
        self.ec2
            .config()
            .region()
            .map(|r| r.as_ref().to_string())
            .unwrap_or_default()
    }
}

struct EbsDefault<'a> {
    account: &'a str,
}

impl Remediation for EbsDefault<'_> {
    /// Whether encryption by default is on.
    type Subject = bool;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<bool>> {
        if !ex.account.is_empty() && self.account != ex.account {
            let why = format!(
                "the finding is about account {}, not {} where remediation acts: nothing is changed",
                self.account, ex.account
            );
            out.steps.push(why.clone());
            out.refused = Some(why);
            return Ok(None);
        }
        Ok(Some(ex.ebs_encrypted_by_default().await?))
    }

    fn touches(&self, _: &bool) -> Vec<Touched> {
        vec![Touched {
            id: self.account.to_string(),
            tags: vec![],
        }]
    }

    async fn record(&self, ex: &Executor<'_>, on: &bool, out: &mut Outcome, _: bool) -> Result<()> {
        if !on {
            out.caveats.push(format!(
                "the undo record is this note: EBS encryption by default was off in {} of account {} (undo: aws ec2 disable-ebs-encryption-by-default --region {0})",
                ex.region_name(),
                self.account
            ));
        }
        Ok(())
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        on: &bool,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let region = ex.region_name();
        if *on {
            out.steps.push(format!(
                "EBS encryption by default is already on in {region}"
            ));
            return Ok(());
        }
        let what = format!(
            "turn on EBS encryption by default in {region} of account {} (new volumes only)",
            self.account
        );
        let call = async {
            ex.ec2
                .enable_ebs_encryption_by_default()
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("ec2:EnableEbsEncryptionByDefault", e))
        };
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    /// One call that either turns the setting on or not: nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &bool, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        on: &bool,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            ex.ebs_encrypted_by_default().await?
        } else {
            *on
        })
    }
}
