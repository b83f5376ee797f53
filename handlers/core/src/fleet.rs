//! The fleet as the administrator's remediation function sees it: which member accounts and
//! regions it may act in, and the name of the role it assumes there. deploy writes it into the
//! function's environment (`SECAUTO_FLEET`); the function reads it back. One home for both sides.

use std::collections::{BTreeMap, BTreeSet};

/// The name of the remediation role of a member stack: account-global, so it carries the region
/// (one member stack per region of an account never collides).
pub fn member_role_name(stack: &str, region: &str) -> String {
    crate::names::global(stack, region, "member")
}

/// The ARN of a member stack's remediation role.
pub fn member_role_arn(account: &str, stack: &str, region: &str) -> String {
    crate::names::role_arn(stack, account, region, "member")
}

/// The external id a member role's trust policy asks for, unless the config sets one.
pub fn default_external_id(stack: &str, administrator: &str) -> String {
    format!("secauto-{stack}-{administrator}")
}

/// Accounts and the regions of each that hold a member stack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    pub accounts: BTreeMap<String, BTreeSet<String>>,
}

/// Why a finding's account and region are not remediated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotCovered {
    #[error("account {account} is not in the fleet (no member stack there): the finding is reported, not remediated; add the account as a [[targets]] member and deploy")]
    Account { account: String },
    #[error("account {account} has no member stack in region {region} (it has one in {}): the finding is reported, not remediated; add {region} to the account's [[targets]] regions and deploy", .covered.join(", "))]
    Region {
        account: String,
        region: String,
        covered: Vec<String>,
    },
    #[error("the finding names no {what}: remediation cannot tell which account's credentials to use, so it does not act")]
    Unknown { what: &'static str },
}

impl Coverage {
    /// Add a member stack.
    pub fn insert(&mut self, account: &str, region: &str) {
        self.accounts
            .entry(account.to_string())
            .or_default()
            .insert(region.to_string());
    }

    /// The compact form of the environment: `111111111111=us-east-1+us-west-2,222222222222=eu-west-1`.
    pub fn encode(&self) -> String {
        self.accounts
            .iter()
            .map(|(a, rs)| format!("{a}={}", rs.iter().cloned().collect::<Vec<_>>().join("+")))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Read what [`Coverage::encode`] wrote; the error names the first malformed entry.
    pub fn parse(s: &str) -> Result<Coverage, String> {
        let mut c = Coverage::default();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (account, regions) = entry
                .split_once('=')
                .ok_or_else(|| format!("fleet entry {entry:?} is not <account>=<region>+…"))?;
            if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "fleet entry {entry:?}: {account:?} is not an account id"
                ));
            }
            for region in regions.split('+').filter(|r| !r.is_empty()) {
                c.insert(account, region);
            }
        }
        Ok(c)
    }

    /// Whether a member stack covers `account` in `region`, and why not.
    pub fn check(&self, account: Option<&str>, region: Option<&str>) -> Result<(), NotCovered> {
        let account = account
            .filter(|a| !a.is_empty())
            .ok_or(NotCovered::Unknown {
                what: "AwsAccountId",
            })?;
        let region = region
            .filter(|r| !r.is_empty())
            .ok_or(NotCovered::Unknown { what: "Region" })?;
        match self.accounts.get(account) {
            None => Err(NotCovered::Account {
                account: account.into(),
            }),
            Some(rs) if !rs.contains(region) => Err(NotCovered::Region {
                account: account.into(),
                region: region.into(),
                covered: rs.iter().cloned().collect(),
            }),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_parses_back() {
        let mut c = Coverage::default();
        c.insert("222222222222", "us-west-2");
        c.insert("222222222222", "us-east-1");
        c.insert("111111111111", "eu-west-1");
        let s = c.encode();
        assert_eq!(s, "111111111111=eu-west-1,222222222222=us-east-1+us-west-2");
        assert_eq!(Coverage::parse(&s).unwrap(), c);
        assert!(Coverage::parse("12=us-east-1").is_err());
        assert!(Coverage::parse("us-east-1").is_err());
        assert_eq!(Coverage::parse("").unwrap(), Coverage::default());
    }

    #[test]
    fn says_why_a_finding_is_not_covered() {
        let c = Coverage::parse("222222222222=us-east-1+us-west-2").unwrap();
        assert!(c.check(Some("222222222222"), Some("us-west-2")).is_ok());
        let e = c
            .check(Some("999999999999"), Some("us-east-1"))
            .unwrap_err();
        assert!(
            e.to_string().contains("999999999999 is not in the fleet"),
            "{e}"
        );
        let e = c
            .check(Some("222222222222"), Some("eu-west-1"))
            .unwrap_err();
        assert!(e.to_string().contains("us-east-1, us-west-2"), "{e}");
        assert!(matches!(
            c.check(None, Some("us-east-1")),
            Err(NotCovered::Unknown { .. })
        ));
    }

    #[test]
    fn member_role_names_carry_the_region() {
        assert_eq!(
            member_role_arn("222222222222", "sec", "us-west-2"),
            "arn:aws:iam::222222222222:role/sec-us-west-2-member"
        );
    }
}
