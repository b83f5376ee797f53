//! EC2.8: IMDSv2 required on an instance. Precondition: the instance exists, is not terminated,
//! and does not already require session tokens (`HttpTokens=required`). Record: its `HttpTokens`
//! in the instance's tag `secauto:previous-http-tokens` (an earlier run's tag is kept). Change:
//! ModifyInstanceMetadataOptions with `HttpTokens=required` only (the endpoint, hop limit and
//! tags setting stay; the instance keeps running). Verification: a re-read.
//! Undo: `aws ec2 modify-instance-metadata-options --instance-id i-… --http-tokens optional`, then
//! delete the tag.

use anyhow::Result;
use aws_sdk_ec2::types::{HttpTokensState, Instance, InstanceStateName};

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use crate::sdk_err;

/// The tag recording the instance's `HttpTokens` before the first change.
pub const PREVIOUS_HTTP_TOKENS_TAG: &str = "secauto:previous-http-tokens";

impl Executor<'_> {
    /// Require IMDSv2 on the instance (EC2.8).
    pub async fn require_imdsv2(&self, instance: &str) -> Result<Outcome, Failed> {
        self.carry_out(&Imdsv2 { instance }).await
    }
}

fn tokens(i: &Instance) -> Option<&HttpTokensState> {
    i.metadata_options().and_then(|m| m.http_tokens())
}

fn requires_tokens(i: &Instance) -> bool {
    tokens(i) == Some(&HttpTokensState::Required)
}

fn tags(i: &Instance) -> Vec<(String, String)> {
    i.tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

struct Imdsv2<'a> {
    instance: &'a str,
}

impl Remediation for Imdsv2<'_> {
    type Subject = Instance;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Instance>> {
        let i = ex.instance(self.instance).await?;
        let state = i.state().and_then(|s| s.name());
        if matches!(
            state,
            Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
        ) {
            let why = format!("{} is terminated: nothing to change", self.instance);
            out.steps.push(why.clone());
            out.refused = Some(why);
            return Ok(None);
        }
        Ok(Some(i))
    }

    fn touches(&self, i: &Instance) -> Vec<Touched> {
        vec![Touched {
            id: self.instance.to_string(),
            tags: tags(i),
        }]
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        i: &Instance,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if requires_tokens(i) || tags(i).iter().any(|(k, _)| k == PREVIOUS_HTTP_TOKENS_TAG) {
            return Ok(());
        }
        let was = tokens(i)
            .map(|t| t.as_str())
            .unwrap_or("optional")
            .to_string();
        let id = self.instance;
        let call = async {
            ex.ec2
                .create_tags()
                .resources(id)
                .tags(super::super::tag(PREVIOUS_HTTP_TOKENS_TAG, &was))
                .send()
                .await
                .map_err(|e| sdk_err("ec2:CreateTags", e))
        };
        let what = format!("record {PREVIOUS_HTTP_TOKENS_TAG}={was} in {id}'s tags");
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        i: &Instance,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let id = self.instance;
        if requires_tokens(i) {
            out.steps.push(format!("{id} already requires IMDSv2"));
            return Ok(());
        }
        let what =
            format!("require IMDSv2 on {id} (HttpTokens=required; the instance keeps running)");
        let call = async {
            ex.ec2
                .modify_instance_metadata_options()
                .instance_id(id)
                .http_tokens(HttpTokensState::Required)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("ec2:ModifyInstanceMetadataOptions", e))
        };
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    /// One call that either requires IMDSv2 or not: nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Instance, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        i: &Instance,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            requires_tokens(&ex.instance(self.instance).await?)
        } else {
            requires_tokens(i)
        })
    }
}
