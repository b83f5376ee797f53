//! Where remediation acts: in the stack's own account and region with its own credentials, or in
//! a fleet member's account and region with the member role it assumes there (and that region's
//! endpoints). A finding anywhere else is reported with the reason, never attempted with the wrong
//! credentials (they would fail with `InvalidInstanceID.NotFound` or `AccessDenied` at best).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use anyhow::Result;
use aws_config::Region;
use secauto_core::fleet::{self, Coverage, NotCovered};

use crate::env::Env;
use crate::Clients;

/// Where a finding's resource is to be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The stack's own account and region.
    Own,
    /// A member stack's account and region, through its remediation role.
    Member {
        account: String,
        region: String,
        role_arn: String,
    },
}

impl Place {
    /// The role the isolation automation runs as here: this place's own stack's (a role cannot be
    /// passed to another account, and a member may pass only its own).
    pub fn automation_role(&self, env: &Env) -> String {
        match self {
            Place::Own => env.automation_role.clone(),
            Place::Member {
                account, region, ..
            } => secauto_core::names::automation_role_arn(&env.stack, account, region),
        }
    }

    /// The account remediation acts in (empty when the stack's own is not configured).
    pub fn account<'e>(&'e self, env: &'e Env) -> &'e str {
        match self {
            Place::Own => &env.account,
            Place::Member { account, .. } => account,
        }
    }

    /// The region remediation acts in.
    pub fn region<'e>(&'e self, env: &'e Env) -> &'e str {
        match self {
            Place::Own => &env.region,
            Place::Member { region, .. } => region,
        }
    }

    /// `in account … region … as <role>` for a member; `None` for the stack's own.
    pub fn describe(&self) -> Option<String> {
        match self {
            Place::Own => None,
            Place::Member {
                account,
                region,
                role_arn,
            } => Some(format!(
                "in member account {account} region {region} as {role_arn} (is its member stack deployed, and does its trust name this function's role and the fleet's external id?)"
            )),
        }
    }
}

/// The place of a finding of `account` (its `AwsAccountId`) in `region` (its resource's or its
/// own `Region`); absent values mean the stack's own. Without `SECAUTO_ACCOUNT` (a stack deployed
/// before fleets) the account is not checked.
pub fn place(env: &Env, account: Option<&str>, region: Option<&str>) -> Result<Place, NotCovered> {
    let account = account.filter(|a| !a.is_empty()).unwrap_or(&env.account);
    let region = region.filter(|r| !r.is_empty()).unwrap_or(&env.region);
    if env.account.is_empty() || (account == env.account && region == env.region) {
        return Ok(Place::Own);
    }
    let mut covered = env
        .fleet
        .as_ref()
        .map(|f| f.coverage.clone())
        .unwrap_or_default();
    covered.insert(&env.account, &env.region);
    covered.check(Some(account), Some(region))?;
    Ok(Place::Member {
        account: account.to_string(),
        region: region.to_string(),
        role_arn: fleet::member_role_arn(account, &env.stack, region),
    })
}

/// The fleet the administrator's remediation acts in (`SECAUTO_FLEET`, `MEMBER_EXTERNAL_ID`).
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    pub coverage: Coverage,
    pub external_id: String,
}

/// Clients acting in `place`: the stack's own, or a member's (its role assumed with the fleet's
/// external id, its region's endpoints). Kept for the life of the process: the credentials are
/// refreshed before they expire, and a warm function assumes each role once.
pub async fn clients(own: &Clients, env: &Env, place: &Place) -> Result<Clients> {
    let Place::Member {
        region, role_arn, ..
    } = place
    else {
        return Ok(own.clone());
    };
    static CACHE: OnceLock<Mutex<HashMap<String, Clients>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = format!("{role_arn}|{region}");
    if let Some(c) = cache.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(c);
    }
    let external_id = env
        .fleet
        .as_ref()
        .map(|f| f.external_id.clone())
        .unwrap_or_default();
    // The role's credentials expire and are refreshed: that takes a clock and a sleep, which a
    // config made by hand may lack.
    let mut base = own.sdk.to_builder();
    if own.sdk.time_source().is_none() {
        base.set_time_source(Some(aws_smithy_async::time::SharedTimeSource::new(
            aws_smithy_async::time::SystemTimeSource::new(),
        )));
    }
    if own.sdk.sleep_impl().is_none() {
        base.set_sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep());
    }
    let base = base.build();
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role_arn.clone())
        .session_name(secauto_core::names::member_session(&env.stack))
        .configure(&base);
    if !external_id.is_empty() {
        provider = provider.external_id(external_id);
    }
    let provider = provider.build().await;
    let sdk = base
        .to_builder()
        .region(Region::new(region.clone()))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        // One cache for every client of the member: the role is assumed once, not per service.
        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
        .build();
    let c = Clients::new(&sdk);
    if let Ok(mut m) = cache.lock() {
        m.insert(key, c.clone());
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(region: &str) -> Env {
        let vars = [
            ("SECAUTO_FUNCTION", "remediation".to_string()),
            ("SECAUTO_STACK", "sec".to_string()),
            (
                "SNS_TOPIC_ARN",
                format!("arn:aws-iso-e:sns:{region}:111111111111:sec-notifications"),
            ),
            ("SECAUTO_ACCOUNT", "111111111111".to_string()),
            ("AWS_REGION", region.to_string()),
            ("SECAUTO_FLEET", "222222222222=eu-isoe-west-1".to_string()),
        ];
        Env::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
        .unwrap()
    }

    /// The member role of an eu-isoe- region is in the aws-iso-e partition (the handlers' own
    /// partition table lacked eu-isoe- and us-isof-: the role was asked for in `aws`).
    #[test]
    fn member_role_in_an_eu_isoe_region_is_in_aws_iso_e() {
        let place = place(
            &env("eu-isoe-west-1"),
            Some("222222222222"),
            Some("eu-isoe-west-1"),
        )
        .unwrap();
        let Place::Member { role_arn, .. } = place else {
            panic!("{place:?} is not a member's");
        };
        assert_eq!(
            role_arn,
            "arn:aws-iso-e:iam::222222222222:role/sec-eu-isoe-west-1-member"
        );
    }

    /// The isolation automation in a member runs as the member stack's own automation role: a
    /// role cannot be passed across accounts, and the member may pass only its own.
    #[test]
    fn a_members_automation_runs_as_its_own_role() {
        let env = env("eu-isoe-west-1");
        let member = place(&env, Some("222222222222"), Some("eu-isoe-west-1")).unwrap();
        assert_eq!(
            member.automation_role(&env),
            "arn:aws-iso-e:iam::222222222222:role/sec-eu-isoe-west-1-automation"
        );
        assert_eq!(
            Place::Own.automation_role(&env),
            env.automation_role,
            "the stack's own, as deploy set it"
        );
    }
}
