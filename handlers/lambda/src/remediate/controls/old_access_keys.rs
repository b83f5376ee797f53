//! IAM.3: an IAM user's active access keys older than the control's age (`maxAccessKeyAge`, 90 days
//! unless the finding's parameters say otherwise). Precondition: the finding's user, read fresh in
//! the finding's account (`iam_users`: never the root user, never another account's), has an active
//! key created more than that many days ago. Protection: the user's tags and `[remediation]
//! protected`. Record: the key ids, in the finding's note first, then in the user's tags, one per
//! key (`secauto:deactivated-access-key:<id>` = the day; those of keys deleted since removed for room), when they fit. Change:
//! UpdateAccessKey `Status=Inactive` for each old key — never a delete, and no new key (rotating is
//! the key owner's work). Verification: the keys listed again (until they show the change: IAM's
//! reads are eventually consistent). Undo: `aws iam update-access-key --user-name … --access-key-id
//! … --status Active`.

use anyhow::Result;

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use super::iam_users::{older_than, Key, User};
use crate::retry::read_until;

impl Executor<'_> {
    /// Deactivate the active access keys of the IAM user `user` (its ARN) made more than `days`
    /// days ago (IAM.3).
    pub async fn deactivate_old_access_keys(
        &self,
        user: &str,
        days: i64,
    ) -> Result<Outcome, Failed> {
        // Boxed: the contract's future over IAM's calls is large, and callers hold others.
        Box::pin(self.carry_out(&OldAccessKeys { user, days })).await
    }
}

struct OldAccessKeys<'a> {
    user: &'a str,
    days: i64,
}

impl OldAccessKeys<'_> {
    /// The active keys made more than the days ago.
    fn old(&self, keys: &[Key]) -> Vec<String> {
        keys.iter()
            .filter(|k| k.active && k.created.is_some_and(|c| older_than(c, self.days)))
            .map(|k| k.id.clone())
            .collect()
    }
}

impl Remediation for OldAccessKeys<'_> {
    type Subject = User;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<User>> {
        ex.finding_user(self.user, out).await
    }

    fn touches(&self, u: &User) -> Vec<Touched> {
        u.touched()
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        u: &User,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        ex.record_deactivated(u, &self.old(&u.keys), out, protected)
            .await
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        u: &User,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let old = self.old(&u.keys);
        if old.is_empty() {
            out.steps.push(format!(
                "no active access key of IAM user {} is older than {} days",
                u.name, self.days
            ));
            return Ok(());
        }
        ex.deactivate_keys(&u.name, &old, out, protected).await
    }

    /// Each key is deactivated by one call of its own: a key whose call failed is as it was, and
    /// one deactivated is what the control asks (its record was written first): nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &User, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        u: &User,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            let keys = read_until(
                ex.deadline,
                || ex.access_keys(&u.name),
                |k| self.old(k).is_empty(),
            )
            .await?;
            self.old(&keys).is_empty()
        } else {
            self.old(&u.keys).is_empty()
        })
    }
}
