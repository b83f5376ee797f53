//! Which Security Hub is on where a stack is: Security Hub CSPM (DescribeHub) and today's Security
//! Hub (DescribeSecurityHubV2), and which of their feeds the stack subscribes triage to. A feed
//! whose Security Hub is off delivers nothing: plan warns and names the fix.

use serde::Serialize;

use crate::config::Feed;
use crate::resources::Ctx;
use crate::stack::Stack;

/// Whether one Security Hub is enabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum HubState {
    Enabled,
    NotEnabled,
    /// The describe call failed otherwise (denied, throttled): the reason.
    Unknown(String),
}

impl HubState {
    pub fn text(&self) -> String {
        match self {
            HubState::Enabled => "enabled".into(),
            HubState::NotEnabled => "not enabled".into(),
            HubState::Unknown(why) => format!("unknown ({why})"),
        }
    }
}

/// Both Security Hubs of one account and region, and the feeds the stack subscribes to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hubs {
    /// Security Hub CSPM (ASFF findings).
    pub cspm: HubState,
    /// Today's Security Hub (OCSF findings, the V2 APIs).
    pub securityhub: HubState,
    pub feeds: Vec<Feed>,
    /// A subscribed feed whose Security Hub is off, with the fix.
    pub warnings: Vec<String>,
}

/// The feeds `stack` subscribes to: the findings rules it holds.
pub fn feeds(stack: &Stack) -> Vec<Feed> {
    [
        (Feed::Cspm, "event_rule.findings"),
        (Feed::Ocsf, "event_rule.findings_ocsf"),
    ]
    .into_iter()
    .filter(|(_, address)| stack.get(address).is_some())
    .map(|(f, _)| f)
    .collect()
}

/// Ask both Security Hubs. DescribeHub answers InvalidAccessException where Security Hub CSPM is not
/// enabled; DescribeSecurityHubV2 answers ResourceNotFoundException where Security Hub is not
/// (<https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_DescribeSecurityHubV2.html>,
/// "Errors"). Any other failure is reported as unknown, never as an error of the plan.
pub async fn hubs(ctx: &Ctx, stack: &Stack) -> Hubs {
    let sh = &ctx.clients.securityhub;
    let (cspm, v2) = futures::join!(
        sh.describe_hub().send(),
        sh.describe_security_hub_v2().send()
    );
    let cspm = match cspm {
        Ok(_) => HubState::Enabled,
        Err(e) if crate::error::code(&e) == Some("InvalidAccessException") => HubState::NotEnabled,
        Err(e) => HubState::Unknown(format!(
            "{:#}",
            crate::error::aws("securityhub:DescribeHub", e)
        )),
    };
    let v2 = match v2 {
        Ok(_) => HubState::Enabled,
        Err(e) if crate::error::code(&e) == Some("ResourceNotFoundException") => {
            HubState::NotEnabled
        }
        Err(e) => HubState::Unknown(format!(
            "{:#}",
            crate::error::aws("securityhub:DescribeSecurityHubV2", e)
        )),
    };
    let feeds = feeds(stack);
    let warnings = warnings(stack, &cspm, &v2, &feeds);
    Hubs {
        cspm,
        securityhub: v2,
        feeds,
        warnings,
    }
}

fn warnings(stack: &Stack, cspm: &HubState, v2: &HubState, feeds: &[Feed]) -> Vec<String> {
    let region = &stack.region;
    // The other fix: drop the feed, when another one is left.
    let drop = |f: Feed| {
        let rest: Vec<String> = feeds
            .iter()
            .filter(|x| **x != f)
            .map(|x| format!("{:?}", x.as_str()))
            .collect();
        match rest.is_empty() {
            true => String::new(),
            false => format!(", or set [securityhub] feeds = [{}]", rest.join(", ")),
        }
    };
    let mut out = Vec::new();
    if feeds.contains(&Feed::Cspm) && *cspm == HubState::NotEnabled {
        out.push(format!(
            "the \"cspm\" feed is subscribed but Security Hub CSPM is not enabled in account {} region {region}, so no ASFF finding will arrive: enable it (`aws securityhub enable-security-hub --region {region}`){}",
            stack.account,
            drop(Feed::Cspm)
        ));
    }
    if feeds.contains(&Feed::Ocsf) && *v2 == HubState::NotEnabled {
        out.push(format!(
            "the \"ocsf\" feed is subscribed but Security Hub is not enabled in account {} region {region}, so no OCSF finding will arrive: enable it (`aws securityhub enable-security-hub-v2 --region {region}`){}",
            stack.account,
            drop(Feed::Ocsf)
        ));
    }
    out
}

impl Hubs {
    /// The plan's lines about Security Hub.
    pub fn text(&self) -> String {
        let feeds: Vec<&str> = self.feeds.iter().map(|f| f.as_str()).collect();
        let mut out = format!(
            "Security Hub CSPM: {}; Security Hub: {}; feeds: {}\n",
            self.cspm.text(),
            self.securityhub.text(),
            if feeds.is_empty() {
                "none".to_string()
            } else {
                feeds.join(", ")
            }
        );
        for w in &self.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
        out
    }
}

/// V2 automation rules whose reads Security Hub refused: where DescribeSecurityHubV2 says Security
/// Hub is not enabled they are not planned, with a warning naming the fix; otherwise the refusal
/// is something else (an IAM denial) and the plan stops with it.
pub(super) fn judge_v2_off(plan: &mut super::Plan) -> anyhow::Result<()> {
    if plan.securityhub_v2_off.is_empty() {
        return Ok(());
    }
    let addresses: Vec<&str> = plan
        .securityhub_v2_off
        .iter()
        .map(|(a, _)| a.as_str())
        .collect();
    match plan.securityhub.as_mut() {
        Some(h) if h.securityhub == HubState::NotEnabled => {
            h.warnings.push(format!(
                "Security Hub is not enabled, so {} (automation rules for OCSF findings) are not made: enable it (`aws securityhub enable-security-hub-v2`) and deploy again, or set [securityhub] feeds = [\"cspm\"]",
                addresses.join(", ")
            ));
            Ok(())
        }
        _ => anyhow::bail!(
            "could not read the live stack:\n  - {}",
            plan.securityhub_v2_off
                .iter()
                .map(|(a, e)| format!("{a}: {e}"))
                .collect::<Vec<_>>()
                .join("\n  - ")
        ),
    }
}
