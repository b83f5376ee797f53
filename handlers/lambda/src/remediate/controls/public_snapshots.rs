//! EC2.1: the account's EBS snapshots that anyone can restore (their `createVolumePermission`
//! names the group `all`). The finding is about the account: every such snapshot of the account
//! in the region is made private. Precondition: the finding's account is the one the clients act
//! in; the snapshots it owns that EC2 lists as restorable by `all`, each confirmed by
//! DescribeSnapshotAttribute. Protection: the account (`[remediation] protected`) and each
//! snapshot's tags — one protected snapshot makes the whole run a dry run. Record:
//! `secauto:previous-create-volume-permission=all` tagged on each snapshot (an earlier run's tag
//! is kept). Change: ModifySnapshotAttribute removing the group `all`, snapshot by snapshot
//! (accounts it is shared with by id keep their permission). Verification: each re-read.
//! Undo: add the group `all` back to each tagged snapshot, then delete the tag.

use anyhow::Result;
use aws_sdk_ec2::types::{OperationType, PermissionGroup, SnapshotAttributeName};

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use super::ec2_tags;
use crate::sdk_err;

/// The tag recording that the snapshot was restorable by everyone.
pub const PREVIOUS_SNAPSHOT_PERMISSION_TAG: &str = "secauto:previous-create-volume-permission";

impl Executor<'_> {
    /// Make the account's public snapshots in the region private (EC2.1); `account` is the
    /// finding's resource (`AWS::::Account:<id>`'s id).
    pub async fn make_snapshots_private(&self, account: &str) -> Result<Outcome, Failed> {
        self.carry_out(&PublicSnapshots { account }).await
    }

    /// The snapshots this account owns that EC2 says anyone may restore, with their tags.
    async fn public_snapshots(&self) -> Result<Vec<Touched>> {
        let mut pages = self
            .ec2
            .describe_snapshots()
            .owner_ids("self")
            .restorable_by_user_ids("all")
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_err("ec2:DescribeSnapshots", e))?;
            for s in page.snapshots() {
                let id = s.snapshot_id().unwrap_or_default();
                if self.restorable_by_all(id).await? {
                    found.push(Touched {
                        id: id.to_string(),
                        tags: ec2_tags(s.tags()),
                    });
                }
            }
        }
        Ok(found)
    }

    async fn restorable_by_all(&self, snapshot: &str) -> Result<bool> {
        let out = self
            .ec2
            .describe_snapshot_attribute()
            .snapshot_id(snapshot)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeSnapshotAttribute", e))?;
        Ok(out
            .create_volume_permissions()
            .iter()
            .any(|p| p.group() == Some(&PermissionGroup::All)))
    }
}

struct PublicSnapshots<'a> {
    account: &'a str,
}

impl Remediation for PublicSnapshots<'_> {
    /// The public snapshots, with their tags.
    type Subject = Vec<Touched>;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Vec<Touched>>> {
        if ex.other_account(self.account, out) {
            return Ok(None);
        }
        Ok(Some(ex.public_snapshots().await?))
    }

    fn touches(&self, snapshots: &Vec<Touched>) -> Vec<Touched> {
        let mut touched = vec![Touched {
            id: self.account.to_string(),
            tags: vec![],
        }];
        touched.extend(snapshots.iter().map(|s| Touched {
            id: s.id.clone(),
            tags: s.tags.clone(),
        }));
        touched
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        snapshots: &Vec<Touched>,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        for s in snapshots {
            let record = (PREVIOUS_SNAPSHOT_PERMISSION_TAG, "all");
            ex.record_in_ec2_tags(&s.id, &s.tags, record, out, protected)
                .await?;
        }
        Ok(())
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        snapshots: &Vec<Touched>,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if snapshots.is_empty() {
            out.steps.push(format!(
                "no snapshot of account {} is restorable by everyone here",
                self.account
            ));
        }
        for s in snapshots {
            let id = s.id.as_str();
            let what = format!("stop sharing {id} with everyone (createVolumePermission: all)");
            // The `GroupNames` form (the CLI's `--group-names all`): what the EC2 reference
            // documents beside the `CreateVolumePermission` list, and what moto serves.
            let call = async {
                ex.ec2
                    .modify_snapshot_attribute()
                    .snapshot_id(id)
                    .attribute(SnapshotAttributeName::CreateVolumePermission)
                    .operation_type(OperationType::Remove)
                    .group_names("all")
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| sdk_err("ec2:ModifySnapshotAttribute", e))
            };
            ex.act(out, protected, what, call).await?;
        }
        Ok(())
    }

    /// Each change only takes a permission away: a failure part-way leaves fewer snapshots
    /// public than at the start, nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Vec<Touched>, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        snapshots: &Vec<Touched>,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        if !(acted && out.changed) {
            return Ok(snapshots.is_empty());
        }
        let mut left = Vec::new();
        for s in snapshots {
            if ex.restorable_by_all(&s.id).await? {
                left.push(s.id.clone());
            }
        }
        if !left.is_empty() {
            out.steps
                .push(format!("re-read: still public: {}", left.join(", ")));
        }
        Ok(left.is_empty())
    }
}
