//! IAM.7 and IAM.11–IAM.17: the account's password policy, raised to the CIS benchmark where it
//! is weaker: at least 14 characters (IAM.15), an uppercase letter (IAM.11), a lowercase letter
//! (IAM.12), a symbol (IAM.13), a number (IAM.14), the last 24 passwords not reused (IAM.16),
//! passwords expiring within 90 days (IAM.17). Precondition: the finding's account is the one the
//! clients act in, and the policy (GetAccountPasswordPolicy; `NoSuchEntity`: none) is weaker on
//! at least one of these. Protection: the account (`[remediation] protected`). Record: the
//! policy as it was, in the finding's note, said first (an account setting has no tags).
//! Change: UpdateAccountPasswordPolicy with every setting at least as strict as before — a
//! stricter setting is kept, and whether users may change their own passwords and whether an
//! expired password needs an administrator stay as they were. Verification: a re-read (read
//! again until it shows the change: IAM's reads are eventually consistent). Undo: `aws iam update-account-password-policy` with the recorded values
//! (`aws iam delete-account-password-policy` if the note says there was none).

use anyhow::Result;
use aws_sdk_iam::types::PasswordPolicy;

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use crate::retry::read_until;
use crate::sdk_err;

/// The benchmark's minimum length, reuse prevention and maximum age.
pub const MIN_LENGTH: i32 = 14;
pub const REUSE_PREVENTION: i32 = 24;
pub const MAX_AGE_DAYS: i32 = 90;

impl Executor<'_> {
    /// Raise the account's password policy to the benchmark (IAM.7, IAM.11–17); `account` is the
    /// finding's resource (`AWS::::Account:<id>`'s id).
    pub async fn strengthen_password_policy(&self, account: &str) -> Result<Outcome, Failed> {
        self.carry_out(&PasswordPolicyControl { account }).await
    }

    async fn password_policy(&self) -> Result<Option<PasswordPolicy>> {
        match self.iam.get_account_password_policy().send().await {
            Ok(o) => Ok(o.password_policy().cloned()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_err("iam:GetAccountPasswordPolicy", e)),
        }
    }
}

/// What the policy lacks of the benchmark (empty: it meets it).
pub fn weaker(p: Option<&PasswordPolicy>) -> Vec<&'static str> {
    let Some(p) = p else {
        return vec!["no password policy"];
    };
    let mut lacks = Vec::new();
    if p.minimum_password_length().unwrap_or(0) < MIN_LENGTH {
        lacks.push("shorter than 14 characters");
    }
    for (on, what) in [
        (p.require_uppercase_characters(), "no uppercase required"),
        (p.require_lowercase_characters(), "no lowercase required"),
        (p.require_symbols(), "no symbol required"),
        (p.require_numbers(), "no number required"),
    ] {
        if !on {
            lacks.push(what);
        }
    }
    if p.password_reuse_prevention().unwrap_or(0) < REUSE_PREVENTION {
        lacks.push("fewer than 24 passwords remembered");
    }
    let age = p.max_password_age().unwrap_or(0);
    if age == 0 || age > MAX_AGE_DAYS {
        lacks.push("passwords live over 90 days");
    }
    lacks
}

fn describe(p: Option<&PasswordPolicy>) -> String {
    match p {
        None => "none".into(),
        Some(p) => format!(
            "MinimumPasswordLength={} RequireUppercaseCharacters={} RequireLowercaseCharacters={} RequireSymbols={} RequireNumbers={} PasswordReusePrevention={} MaxPasswordAge={} AllowUsersToChangePassword={} HardExpiry={}",
            p.minimum_password_length().unwrap_or(0),
            p.require_uppercase_characters(),
            p.require_lowercase_characters(),
            p.require_symbols(),
            p.require_numbers(),
            p.password_reuse_prevention().unwrap_or(0),
            p.max_password_age().unwrap_or(0),
            p.allow_users_to_change_password(),
            p.hard_expiry().unwrap_or(false),
        ),
    }
}

struct PasswordPolicyControl<'a> {
    account: &'a str,
}

impl Remediation for PasswordPolicyControl<'_> {
    /// The policy as it was (`None`: none).
    type Subject = Option<PasswordPolicy>;

    async fn read(
        &self,
        ex: &Executor<'_>,
        out: &mut Outcome,
    ) -> Result<Option<Option<PasswordPolicy>>> {
        if ex.other_account(self.account, out) {
            return Ok(None);
        }
        Ok(Some(ex.password_policy().await?))
    }

    fn touches(&self, _: &Option<PasswordPolicy>) -> Vec<Touched> {
        vec![Touched {
            id: self.account.to_string(),
            tags: vec![],
        }]
    }

    async fn record(
        &self,
        _: &Executor<'_>,
        p: &Option<PasswordPolicy>,
        out: &mut Outcome,
        _: bool,
    ) -> Result<()> {
        if !weaker(p.as_ref()).is_empty() {
            let record = format!(
                "the password policy of account {} was {}",
                self.account,
                describe(p.as_ref())
            );
            super::record_in_note(out, record);
        }
        Ok(())
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        p: &Option<PasswordPolicy>,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let lacks = weaker(p.as_ref());
        if lacks.is_empty() {
            out.steps.push(format!(
                "the password policy of account {} already meets the benchmark",
                self.account
            ));
            return Ok(());
        }
        let p = p.as_ref();
        let length = p.and_then(|p| p.minimum_password_length()).unwrap_or(0);
        let reuse = p.and_then(|p| p.password_reuse_prevention()).unwrap_or(0);
        let age = p.and_then(|p| p.max_password_age()).unwrap_or(0);
        let age = if age == 0 {
            MAX_AGE_DAYS
        } else {
            age.min(MAX_AGE_DAYS)
        };
        let what = format!(
            "raise the password policy of account {} ({}) to length {}, upper, lower, symbol and number required, {} remembered, {age} days at most",
            self.account,
            lacks.join(", "),
            length.max(MIN_LENGTH),
            reuse.max(REUSE_PREVENTION)
        );
        let call = async {
            ex.iam
                .update_account_password_policy()
                .minimum_password_length(length.max(MIN_LENGTH))
                .require_uppercase_characters(true)
                .require_lowercase_characters(true)
                .require_symbols(true)
                .require_numbers(true)
                .password_reuse_prevention(reuse.max(REUSE_PREVENTION))
                .max_password_age(age)
                // No policy before: the API's default, false, as it was.
                .allow_users_to_change_password(
                    p.is_some_and(|p| p.allow_users_to_change_password()),
                )
                .hard_expiry(p.and_then(|p| p.hard_expiry()).unwrap_or(false))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("iam:UpdateAccountPasswordPolicy", e))
        };
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    /// One call that either puts the policy or not: nothing to repair.
    async fn repair(
        &self,
        _: &Executor<'_>,
        _: &Option<PasswordPolicy>,
        _: &mut Outcome,
    ) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        p: &Option<PasswordPolicy>,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            let strong = |p: &Option<PasswordPolicy>| weaker(p.as_ref()).is_empty();
            strong(&read_until(ex.deadline, || ex.password_policy(), strong).await?)
        } else {
            weaker(p.as_ref()).is_empty()
        })
    }
}
