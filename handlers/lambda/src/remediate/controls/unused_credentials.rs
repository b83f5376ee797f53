//! IAM.8 (90 days) and IAM.22 (45 days): an IAM user's credentials unused for the control's days
//! (`maxCredentialUsageAge` when the finding carries it). Precondition: the finding's user, read
//! fresh in the finding's account (`iam_users`: never the root user, never another account's), has
//! an active access key not used for that long (GetAccessKeyLastUsed; a key never used counts from
//! its creation) or a console password not used for that long (GetUser's `PasswordLastUsed`, or
//! since its login profile was made). Protection: the user's tags and `[remediation] protected`.
//! Record: the key ids, in the finding's note first, then in the user's tags, one per key
//! (`secauto:deactivated-access-key:<id>` = the day; those of keys deleted since removed for room), when they fit. Change:
//! UpdateAccessKey `Status=Inactive` for each unused key — never a delete. A console password can
//! only be taken away by deleting the login profile, which destroys it: secauto never does; the
//! finding stays NOTIFIED naming the password and the command a person runs. Verification: the keys
//! (until they show the change: IAM's reads are eventually consistent) and their last use read
//! again. Undo: `aws iam update-access-key --user-name … --access-key-id … --status Active`.

use anyhow::Result;

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use super::iam_users::{day_of, older_than, Key, User};
use crate::retry::read_until;

impl Executor<'_> {
    /// Deactivate the active access keys of the IAM user `user` (its ARN) unused for more than
    /// `days` days, and name its console password if it is unused as long (IAM.8, IAM.22).
    pub async fn deactivate_unused_access_keys(
        &self,
        user: &str,
        days: i64,
    ) -> Result<Outcome, Failed> {
        // Boxed: the contract's future over IAM's calls is large, and callers hold others.
        Box::pin(self.carry_out(&UnusedCredentials { user, days })).await
    }

    /// The active keys of `keys` not used for more than `days` days (never used: since made).
    async fn unused_keys(&self, keys: &[Key], days: i64) -> Result<Vec<String>> {
        let mut unused = Vec::new();
        for k in keys.iter().filter(|k| k.active) {
            let last = self.key_last_used(&k.id).await?.or(k.created);
            if last.is_some_and(|t| older_than(t, days)) {
                unused.push(k.id.clone());
            }
        }
        Ok(unused)
    }

    /// When the user has a console password unused for more than `days` days: its last use
    /// (`None`: never used). A password made again after its last use counts from then.
    async fn unused_password(&self, u: &User, days: i64) -> Result<Option<Option<i64>>> {
        let Some(made) = self.login_profile(&u.name).await? else {
            return Ok(None);
        };
        let last = u.password_last_used.map_or(made, |used| used.max(made));
        Ok(older_than(last, days).then_some(u.password_last_used))
    }
}

struct UnusedCredentials<'a> {
    user: &'a str,
    days: i64,
}

/// The user as read, with what of it has gone unused.
struct Unused {
    user: User,
    /// Active keys unused for longer than the days.
    keys: Vec<String>,
    /// The console password, when unused as long: its last use (`None`: never used).
    password: Option<Option<i64>>,
}

impl UnusedCredentials<'_> {
    /// What the finding's note says of an unused password: what secauto does not do, and the
    /// command that does it.
    fn password_said(&self, name: &str, last: Option<i64>) -> String {
        let last = last.map_or("never used".to_string(), |t| {
            format!("last used {}", day_of(t))
        });
        format!(
            "the console password of IAM user {name} has not been used for over {} days ({last}): secauto never deletes a login profile (that destroys the password); if {name} no longer signs in, run `aws iam delete-login-profile --user-name {name}`",
            self.days
        )
    }
}

impl Remediation for UnusedCredentials<'_> {
    type Subject = Unused;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Unused>> {
        let Some(user) = ex.finding_user(self.user, out).await? else {
            return Ok(None);
        };
        let keys = ex.unused_keys(&user.keys, self.days).await?;
        let password = ex.unused_password(&user, self.days).await?;
        Ok(Some(Unused {
            user,
            keys,
            password,
        }))
    }

    fn touches(&self, s: &Unused) -> Vec<Touched> {
        s.user.touched()
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        s: &Unused,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        ex.record_deactivated(&s.user, &s.keys, out, protected)
            .await
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        s: &Unused,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if s.keys.is_empty() {
            out.steps.push(format!(
                "no active access key of IAM user {} has gone unused for over {} days",
                s.user.name, self.days
            ));
            return Ok(());
        }
        ex.deactivate_keys(&s.user.name, &s.keys, out, protected)
            .await
    }

    /// Each key is deactivated by one call of its own: a key whose call failed is as it was, and
    /// one deactivated is what the control asks (its record was written first): nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Unused, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    /// Compliant when no active key is left unused and the password is not unused; an unused
    /// password is said (after the undo record, which the note keeps first).
    async fn verify(
        &self,
        ex: &Executor<'_>,
        s: &Unused,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        if let Some(last) = s.password {
            out.caveats.push(self.password_said(&s.user.name, last));
        }
        let keys_left = if acted && out.changed {
            let changed = |k: &Vec<Key>| !k.iter().any(|k| k.active && s.keys.contains(&k.id));
            let keys = read_until(ex.deadline, || ex.access_keys(&s.user.name), changed).await?;
            !ex.unused_keys(&keys, self.days).await?.is_empty()
        } else {
            !s.keys.is_empty()
        };
        Ok(!keys_left && s.password.is_none())
    }
}
