//! The IAM user a credential control's finding names (IAM.3, IAM.8, IAM.22), read fresh in the
//! finding's account, its access keys, and the record of the keys a remediation deactivates.
//!
//! Security Hub names the user (`AwsIamUser`) by its ARN, `arn:<partition>:iam::<account>:user/
//! <path>/<name>`: a path may hold several `/`, and a user name holds none (IAM's identifiers:
//! `[\w+=,.@-]+`), so the name is the ARN's last `/`-segment — and the user read under that name
//! must have exactly that ARN. The root user (`arn:…:iam::<account>:root`, whose keys AWS Config's
//! rules leave out) and a user of another account are never acted on.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use aws_sdk_iam::types::{StatusType, Tag};
use aws_smithy_types::date_time::Format;
use secauto_core::{Action, Finding};

use super::super::contract::Touched;
use super::super::{Executor, Outcome};
use super::{record_in_note, refuse};
use crate::sdk_err;

/// One tag per key, so that two writers (IAM.3 and IAM.22 on one user, or a person) never
/// overwrite each other's record: TagUser adds or replaces only the keys it names.
pub use secauto_core::calls::DEACTIVATED_KEY_TAG_PREFIX;

/// The tag recording that secauto deactivated the access key `key` (see
/// [`DEACTIVATED_KEY_TAG_PREFIX`]).
pub fn deactivated_key_tag(key: &str) -> String {
    format!("{DEACTIVATED_KEY_TAG_PREFIX}{key}")
}

/// The age, in days, IAM.3 and IAM.8 allow when the finding carries no parameter (IAM.22: 45).
pub const DEFAULT_MAX_AGE_DAYS: i64 = 90;

/// IAM takes up to 50 tags on a user.
const MAX_USER_TAGS: usize = 50;

const DAY: i64 = 86_400;

/// An access key as read.
#[derive(Debug, Clone)]
pub(super) struct Key {
    pub id: String,
    pub active: bool,
    /// When it was made (seconds since the epoch; `None`: IAM did not say, never taken as old).
    pub created: Option<i64>,
}

/// The user as read before any change.
#[derive(Debug, Clone)]
pub(super) struct User {
    pub name: String,
    pub tags: Vec<(String, String)>,
    pub keys: Vec<Key>,
    /// When the console password was last used to sign in (GetUser's `PasswordLastUsed`).
    pub password_last_used: Option<i64>,
}

impl User {
    /// The user is what the action changes (its keys and its tag): protected by its tags or by
    /// `[remediation] protected` (its name or ARN).
    pub fn touched(&self) -> Vec<Touched> {
        vec![Touched {
            id: self.name.clone(),
            tags: self.tags.clone(),
        }]
    }
}

/// The account and the user name of an IAM user's ARN, or why the ARN names no user to act on.
pub fn user_of(arn: &str) -> Result<(&str, &str), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, _, service, _, account, resource] = parts[..] else {
        return Err(format!(
            "{arn} is not an IAM user's ARN: nothing is changed"
        ));
    };
    if parts[0] != "arn" || service != "iam" || account.is_empty() {
        return Err(format!(
            "{arn} is not an IAM user's ARN: nothing is changed"
        ));
    }
    if resource == "root" {
        return Err(format!(
            "{arn} is the account's root user, whose credentials secauto never touches: nothing is changed"
        ));
    }
    let name = resource
        .strip_prefix("user/")
        .and_then(|p| p.rsplit('/').next())
        .filter(|n| !n.is_empty());
    match name {
        Some(name) => Ok((account, name)),
        None => Err(format!(
            "{arn} is not an IAM user's ARN: nothing is changed"
        )),
    }
}

/// The age in days the finding's control allows: the parameter the live finding carries (IAM.3's
/// `maxAccessKeyAge`, IAM.8's and IAM.22's `maxCredentialUsageAge`), else the control's own
/// (IAM.22: 45 days; IAM.3 and IAM.8: 90).
pub fn max_age_days(action: Action, live: Option<&Finding>) -> i64 {
    let parameter = match action {
        Action::DeactivateOldAccessKeys => "maxAccessKeyAge",
        _ => "maxCredentialUsageAge",
    };
    let given = live
        .and_then(|l| {
            l.control_parameters
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(parameter))
        })
        .and_then(|(_, v)| v.first())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|d| *d >= 1);
    let control = live.and_then(Finding::control_id);
    match (given, control.as_deref()) {
        (Some(days), _) => days,
        (None, Some(c)) if c.eq_ignore_ascii_case("IAM.22") => 45,
        _ => DEFAULT_MAX_AGE_DAYS,
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Whether `since` (seconds since the epoch) lies more than `days` days back.
pub(super) fn older_than(since: i64, days: i64) -> bool {
    now() - since > days * DAY
}

/// The day of `secs` (`2026-01-31`).
pub(super) fn day_of(secs: i64) -> String {
    let t = aws_smithy_types::DateTime::from_secs(secs);
    let text = t.fmt(Format::DateTime).unwrap_or_default();
    text.chars().take(10).collect()
}

fn no_such_entity<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("NoSuchEntity")
}

impl Executor<'_> {
    /// The IAM user the finding's `arn` names, read fresh: `None` (and why, in `out`) when it names
    /// no user to act on — the root user, a user of another account, a user that no longer
    /// exists, or one whose ARN is not the finding's.
    pub(super) async fn finding_user(&self, arn: &str, out: &mut Outcome) -> Result<Option<User>> {
        let (account, name) = match user_of(arn) {
            Ok(found) => found,
            Err(why) => {
                refuse(out, why);
                return Ok(None);
            }
        };
        if self.other_account(account, out) {
            return Ok(None);
        }
        let got = match self.iam.get_user().user_name(name).send().await {
            Ok(got) => got,
            Err(e) if e.as_service_error().is_some_and(no_such_entity) => {
                refuse(
                    out,
                    format!("account {account} has no IAM user {name} (deleted since the finding?): nothing is changed"),
                );
                return Ok(None);
            }
            Err(e) => return Err(sdk_err("iam:GetUser", e)),
        };
        let Some(u) = got.user() else {
            anyhow::bail!("iam:GetUser answered no user for {name}");
        };
        if u.arn() != arn {
            let why = format!(
                "the IAM user {name} here is {}, not {arn} as the finding says: nothing is changed",
                u.arn()
            );
            refuse(out, why);
            return Ok(None);
        }
        Ok(Some(User {
            name: name.to_string(),
            tags: u
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            keys: self.access_keys(name).await?,
            password_last_used: u.password_last_used().map(|d| d.secs()),
        }))
    }

    /// The user's access keys, every page.
    pub(super) async fn access_keys(&self, user: &str) -> Result<Vec<Key>> {
        let mut keys = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .iam
                .list_access_keys()
                .user_name(user)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| sdk_err("iam:ListAccessKeys", e))?;
            for k in out.access_key_metadata() {
                let Some(id) = k.access_key_id() else {
                    continue;
                };
                keys.push(Key {
                    id: id.to_string(),
                    active: k.status() == Some(&StatusType::Active),
                    created: k.create_date().map(|d| d.secs()),
                });
            }
            match out.marker() {
                Some(m) if out.is_truncated() => marker = Some(m.to_string()),
                _ => return Ok(keys),
            }
        }
    }

    /// When the access key was last used (`None`: never, since IAM began tracking it).
    pub(super) async fn key_last_used(&self, key: &str) -> Result<Option<i64>> {
        let out = self
            .iam
            .get_access_key_last_used()
            .access_key_id(key)
            .send()
            .await
            .map_err(|e| sdk_err("iam:GetAccessKeyLastUsed", e))?;
        Ok(out
            .access_key_last_used()
            .and_then(|u| u.last_used_date())
            .map(|d| d.secs()))
    }

    /// When the user's console password (login profile) was made; `None`: the user has none.
    pub(super) async fn login_profile(&self, user: &str) -> Result<Option<i64>> {
        match self.iam.get_login_profile().user_name(user).send().await {
            Ok(out) => Ok(out.login_profile().map(|p| p.create_date().secs())),
            Err(e) if e.as_service_error().is_some_and(no_such_entity) => Ok(None),
            Err(e) => Err(sdk_err("iam:GetLoginProfile", e)),
        }
    }

    /// Deactivate each of `keys` of `user` (UpdateAccessKey `Status=Inactive`: the key is kept and
    /// can be activated again), each a step of its own.
    pub(super) async fn deactivate_keys(
        &self,
        user: &str,
        keys: &[String],
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        for key in keys {
            let call = async {
                let sent = self
                    .iam
                    .update_access_key()
                    .user_name(user)
                    .access_key_id(key)
                    .status(StatusType::Inactive)
                    .send()
                    .await;
                match sent {
                    Ok(_) => Ok(true),
                    // Deleted since the read: no longer a key anyone can use.
                    Err(e) if e.as_service_error().is_some_and(no_such_entity) => Ok(false),
                    Err(e) => Err(sdk_err("iam:UpdateAccessKey", e)),
                }
            };
            let what = format!("deactivate access key {key} of IAM user {user} (kept, inactive)");
            if self.act(out, protected, what, call).await? == Some(false) {
                out.steps.push(format!(
                    "access key {key} no longer exists (deleted since it was read)"
                ));
            }
        }
        Ok(())
    }

    /// Record `keys`, about to be deactivated, of `u`: in the finding's note first, then one tag
    /// per key on the user with today's date (a key deactivated again gets the new day), all in
    /// one TagUser call, or none when the user has no room for them. When the room is missing,
    /// the tags of keys the user no longer has (deleted since: records of nothing left to undo)
    /// are removed first, so rotated keys never fill the user's 50 tags for good.
    pub(super) async fn record_deactivated(
        &self,
        u: &User,
        keys: &[String],
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let name = &u.name;
        record_in_note(
            out,
            format!(
                "access keys {} of IAM user {name} were active (undo: aws iam update-access-key --user-name {name} --access-key-id <id> --status Active)",
                keys.join(" ")
            ),
        );
        if out.refused.is_some() {
            return Ok(());
        }
        let tags: Vec<String> = keys.iter().map(|k| deactivated_key_tag(k)).collect();
        let freed = self.free_room(u, &tags, out, protected).await;
        if let Some(why) = no_room(u, &tags, &freed) {
            out.caveats.push(format!(
                "the undo record of IAM user {name} is this note only: {why}"
            ));
            return Ok(());
        }
        let day = day_of(now());
        let set = tags
            .iter()
            .map(|t| Tag::builder().key(t).value(&day).build())
            .collect::<Result<Vec<_>, _>>()?;
        let call = async {
            let sent = self.iam.tag_user().user_name(name).set_tags(Some(set));
            let sent = sent.send().await;
            sent.map(|_| ()).map_err(|e| sdk_err("iam:TagUser", e))
        };
        let what = format!("record {}={day} in IAM user {name}'s tags", tags.join(", "));
        self.act(out, protected, what, call).await?;
        Ok(())
    }

    /// The record tags of keys `u` no longer has, removed (in one UntagUser call) only when the
    /// record `tags` needs their room: the tags removed. A refusal (an SCP guarding tags, IAM's
    /// ConcurrentModification) removes none and is said; the note is then the record.
    async fn free_room(
        &self,
        u: &User,
        tags: &[String],
        out: &mut Outcome,
        protected: bool,
    ) -> Vec<String> {
        let stale = stale_key_tags(u);
        if no_room(u, tags, &[]).is_none() || no_room(u, tags, &stale).is_some() {
            return Vec::new();
        }
        match self.untag_user(&u.name, &stale, out, protected).await {
            Ok(()) => stale,
            Err(e) => {
                out.caveats.push(format!("{e:#}"));
                Vec::new()
            }
        }
    }

    /// Remove the `stale` record tags of user `name`, in one UntagUser call.
    async fn untag_user(
        &self,
        name: &str,
        stale: &[String],
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let call = async {
            let sent = self.iam.untag_user().user_name(name);
            let sent = sent.set_tag_keys(Some(stale.to_vec())).send().await;
            sent.map(|_| ()).map_err(|e| sdk_err("iam:UntagUser", e))
        };
        let what = format!(
            "remove {} from IAM user {name}'s tags (those keys no longer exist)",
            stale.join(", ")
        );
        self.act(out, protected, what, call).await?;
        Ok(())
    }
}

/// IAM's longest tag key.
const MAX_TAG_KEY: usize = 128;

/// The user's record tags of access keys it no longer has.
fn stale_key_tags(u: &User) -> Vec<String> {
    u.tags
        .iter()
        .filter_map(|(k, _)| {
            let id = k.strip_prefix(DEACTIVATED_KEY_TAG_PREFIX)?;
            (!u.keys.iter().any(|key| key.id == id)).then(|| k.clone())
        })
        .collect()
}

/// Why the record `tags` cannot be written on `u` once its `stale` tags are gone, if it cannot.
fn no_room(u: &User, tags: &[String], stale: &[String]) -> Option<String> {
    if let Some(t) = tags.iter().find(|t| t.len() > MAX_TAG_KEY) {
        return Some(format!(
            "{t} is longer than IAM's {MAX_TAG_KEY}-character tag keys"
        ));
    }
    let added = tags
        .iter()
        .filter(|t| !u.tags.iter().any(|(k, _)| k == *t))
        .count();
    (u.tags.len() - stale.len() + added > MAX_USER_TAGS)
        .then(|| format!("it has no room for {added} more of IAM's {MAX_USER_TAGS} tags"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_is_the_last_segment_of_a_user_arn_and_never_the_root() {
        assert_eq!(
            user_of("arn:aws:iam::123456789012:user/deploy-bot"),
            Ok(("123456789012", "deploy-bot"))
        );
        assert_eq!(
            user_of("arn:aws-cn:iam::123456789012:user/division_abc/subdivision_xyz/JaneDoe"),
            Ok(("123456789012", "JaneDoe"))
        );
        assert!(user_of("arn:aws:iam::123456789012:root")
            .unwrap_err()
            .contains("root user"));
        for other in [
            "arn:aws:iam::123456789012:role/admin",
            "arn:aws:iam::123456789012:user/",
            "arn:aws:s3:::user/x",
            "deploy-bot",
        ] {
            assert!(user_of(other).is_err(), "{other}");
        }
    }

    #[test]
    fn the_age_is_the_findings_parameter_else_the_controls_own() {
        let mut f = Finding {
            generator_id: Some("security-control/IAM.22".into()),
            ..Finding::default()
        };
        assert_eq!(
            max_age_days(Action::DeactivateUnusedAccessKeys, Some(&f)),
            45
        );
        assert_eq!(max_age_days(Action::DeactivateUnusedAccessKeys, None), 90);
        f.generator_id = Some("security-control/IAM.3".into());
        f.control_parameters = vec![("maxAccessKeyAge".into(), vec!["30".into()])];
        assert_eq!(max_age_days(Action::DeactivateOldAccessKeys, Some(&f)), 30);
        assert_eq!(
            max_age_days(Action::DeactivateUnusedAccessKeys, Some(&f)),
            90
        );
        f.control_parameters = vec![("maxAccessKeyAge".into(), vec!["0".into()])];
        assert_eq!(max_age_days(Action::DeactivateOldAccessKeys, Some(&f)), 90);
    }

    /// Only record tags of keys the user no longer has are stale; the room counts them freed
    /// and a key's tag written again as no new tag; a tag key longer than IAM's 128 is refused.
    #[test]
    fn stale_records_free_room_and_a_rewritten_record_takes_none() {
        let key = |id: &str| Key {
            id: id.into(),
            active: false,
            created: None,
        };
        let tag = |k: String| (k, "2026-01-02".to_string());
        let mut u = User {
            name: "u".into(),
            tags: (0..48).map(|n| tag(format!("team:{n}"))).collect(),
            keys: vec![key("AKIA1"), key("AKIA2")],
            password_last_used: None,
        };
        u.tags.push(tag(deactivated_key_tag("AKIA1")));
        u.tags.push(tag(deactivated_key_tag("AKIAGONE")));
        let stale = stale_key_tags(&u);
        assert_eq!(stale, vec![deactivated_key_tag("AKIAGONE")]);
        let again = [deactivated_key_tag("AKIA1")];
        assert_eq!(no_room(&u, &again, &[]), None, "a rewrite adds no tag");
        let new = [deactivated_key_tag("AKIA2")];
        assert!(no_room(&u, &new, &[]).unwrap().contains("no room for 1"));
        assert_eq!(
            no_room(&u, &new, &stale),
            None,
            "the stale tag frees its place"
        );
        let long = [deactivated_key_tag(&"A".repeat(100))];
        assert!(no_room(&u, &long, &stale).unwrap().contains("128"));
    }
}
