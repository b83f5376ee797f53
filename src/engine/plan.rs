//! Read every resource by name and decide, per address, what deploy would do.

use futures::{stream, StreamExt};
use serde::Serialize;

use crate::resources::{self, Ctx, Difference, Kind, Live};
use crate::stack::Stack;
use crate::state::State;

/// What deploy does to one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Live matches desired.
    Noop,
    /// A live resource with our name that belongs to someone else: never touched.
    Conflict,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::Noop => " ",
            Action::Conflict => "!",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Noop => "unchanged",
            Action::Conflict => "conflict",
        }
    }

    pub fn mutates(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Delete)
    }
}

/// The decision for one address.
#[derive(Debug, Clone)]
pub struct Planned {
    pub address: String,
    pub kind: Kind,
    pub action: Action,
    pub live: Option<Live>,
    pub diff: Vec<Difference>,
    /// Why a conflict is one.
    pub reason: Option<String>,
    /// Recorded in the state file.
    pub in_state: bool,
    /// For a resource only its ownership tag knows of (not in the config, not in the state): what
    /// deploy deletes.
    pub record: Option<crate::state::Record>,
}

impl Planned {
    /// The deletion of what the state records at `address` and the config no longer declares.
    pub(super) fn delete_recorded(address: &str, kind: Kind) -> Planned {
        Planned {
            address: address.to_string(),
            kind,
            action: Action::Delete,
            live: None,
            diff: vec![],
            reason: None,
            in_state: true,
            record: None,
        }
    }

    pub fn arn(&self, stack: &Stack, state: &State) -> Option<String> {
        self.live
            .as_ref()
            .and_then(|l| l.arn.clone())
            .or_else(|| {
                state
                    .resources
                    .get(&self.address)
                    .and_then(|r| r.arn.clone())
            })
            .or_else(|| stack.get(&self.address).and_then(|r| spec_arn(&r.spec)))
    }
}

fn spec_arn(spec: &resources::Spec) -> Option<String> {
    use resources::Spec as S;
    match spec {
        S::IamPolicy(s) => Some(s.arn.clone()),
        S::SnsTopic(s) => Some(s.arn.clone()),
        S::SqsQueue(s) => Some(s.arn.clone()),
        S::SsmDocument(s) => Some(s.arn.clone()),
        S::LambdaFunction(s) => Some(s.arn.clone()),
        S::EventRule(s) => Some(s.arn.clone()),
        S::SecurityhubActionTarget(s) => Some(s.arn.clone()),
        S::CloudwatchAlarm(s) => Some(s.arn.clone()),
        S::CloudwatchDashboard(s) => Some(s.arn.clone()),
        _ => None,
    }
}

/// Every address's decision, in graph order, then deletions.
#[derive(Debug, Clone)]
pub struct Plan {
    pub items: Vec<Planned>,
    /// Addresses whose read Security Hub refused (not enabled): planned as absent.
    pub securityhub_off: Vec<String>,
    /// V2 automation rules whose read Security Hub (V2) refused: not planned, since they can only
    /// exist where Security Hub is on (a warning when DescribeSecurityHubV2 agrees, else an error).
    pub securityhub_v2_off: Vec<(String, String)>,
    /// Which Security Hub is on, and the feeds subscribed (not asked for a fleet member's stack).
    pub securityhub: Option<super::hub::Hubs>,
}

impl Plan {
    pub fn count(&self, action: Action) -> usize {
        self.items.iter().filter(|i| i.action == action).count()
    }

    pub fn has_changes(&self) -> bool {
        self.items.iter().any(|i| i.action.mutates())
    }

    pub fn conflicts(&self) -> Vec<&Planned> {
        self.items
            .iter()
            .filter(|i| i.action == Action::Conflict)
            .collect()
    }

    pub fn get(&self, address: &str) -> Option<&Planned> {
        self.items.iter().find(|i| i.address == address)
    }
}

/// Build the plan. `adopt` treats untagged live resources with our names as ours (deploy tags them).
pub async fn plan(ctx: &Ctx, stack: &Stack, state: &State, adopt: bool) -> anyhow::Result<Plan> {
    let reads: Vec<(usize, anyhow::Result<Option<Live>>)> =
        stream::iter(stack.resources.iter().enumerate())
            .map(|(i, r)| async move { (i, r.spec.read(ctx).await) })
            .buffer_unordered(super::READS)
            .collect()
            .await;
    let mut lives: Vec<Option<Live>> = vec![None; stack.resources.len()];
    let mut errors = Vec::new();
    let mut securityhub_off = Vec::new();
    let mut securityhub_v2_off: Vec<(String, String)> = Vec::new();
    for (i, res) in reads {
        match res {
            Ok(l) => lives[i] = l,
            Err(e) if resources::securityhub_automation_rule_v2::is_unavailable(&e) => {
                securityhub_v2_off.push((stack.resources[i].address.clone(), format!("{e:#}")));
            }
            Err(e) if resources::is_securityhub_unavailable(&e) => {
                securityhub_off.push(stack.resources[i].address.clone());
            }
            Err(e) => errors.push(format!("{}: {e:#}", stack.resources[i].address)),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!(
            "could not read the live stack:\n  - {}",
            errors.join("\n  - ")
        );
    }
    let mut items = Vec::new();
    for (r, live) in stack.resources.iter().zip(lives) {
        if securityhub_v2_off.iter().any(|(a, _)| *a == r.address) {
            continue;
        }
        let in_state = state.resources.contains_key(&r.address);
        let desired = r.spec.fields(ctx);
        let claim = resources::Claim {
            recorded: state
                .resources
                .get(&r.address)
                .map(|x| x.physical_id.as_str()),
            adopt,
        };
        let (action, diff, reason) = match &live {
            None => (Action::Create, vec![], None),
            Some(l) => match r.spec.conflict(ctx, l, claim) {
                Some(reason) => (Action::Conflict, vec![], Some(reason)),
                None => {
                    let d = resources::diff(&desired, l);
                    let action = if d.is_empty() {
                        Action::Noop
                    } else {
                        Action::Update
                    };
                    (action, d, None)
                }
            },
        };
        items.push(Planned {
            address: r.address.clone(),
            kind: r.spec.kind(),
            action,
            live,
            diff,
            reason,
            in_state,
            record: None,
        });
    }
    refresh_functions_of_recreated_roles(stack, &mut items);
    for (address, record) in &state.resources {
        if stack.get(address).is_none() {
            items.push(Planned::delete_recorded(address, record.kind));
        }
    }
    Ok(Plan {
        items,
        securityhub_off,
        securityhub_v2_off,
        securityhub: None,
    })
}

/// The plan, plus what the stack owns by tag and name but neither the config nor the state knows
/// (a resource dropped from the config on a runner without the state): planned `-`, and deleted
/// by deploy. The ownership tag is the truth; the state only a record. The sweep runs alongside
/// the reads.
pub async fn plan_owned(
    ctx: &Ctx,
    stack: &Stack,
    state: &State,
    adopt: bool,
) -> anyhow::Result<Plan> {
    // A key the state does not record may be one a stopped run left unnamed: the search for it
    // (every key of the account) goes out with the reads, not on the create's critical path.
    let key_unrecorded = stack.resources.iter().any(|r| {
        r.spec.kind() == resources::Kind::KmsKey && !state.resources.contains_key(&r.address)
    });
    let prefetch = async {
        if key_unrecorded {
            // An error here is met again, and reported, by the create that needs the answer.
            let _ = resources::kms_key::orphans(ctx).await;
        }
    };
    let known = super::sweep::Known::of(stack.resources.iter().map(|r| &r.spec));
    let hubs = async {
        match ctx.member {
            true => None,
            false => Some(super::hub::hubs(ctx, stack).await),
        }
    };
    let (plan, found, (), hubs) = futures::join!(
        plan(ctx, stack, state, adopt),
        super::sweep::find(ctx, &known),
        prefetch,
        hubs
    );
    let mut plan = plan?;
    plan.securityhub = hubs;
    super::hub::judge_v2_off(&mut plan)?;
    let found = found.map_err(|e| e.context("could not search for what the stack owns by tag"))?;
    for l in found {
        let known = plan.items.iter().any(|p| {
            p.kind == l.kind
                && p.live
                    .as_ref()
                    .is_some_and(|live| live.physical_id == l.physical_id)
        }) || state
            .resources
            .values()
            .any(|r| r.kind == l.kind && r.physical_id == l.physical_id);
        if known {
            continue;
        }
        plan.items.push(Planned {
            address: super::sweep::address(l.kind, &l.physical_id),
            kind: l.kind,
            action: Action::Delete,
            live: None,
            diff: vec![],
            reason: Some(l.reason.unwrap_or_else(|| {
                format!(
                    "tagged {}={} but no longer in the config",
                    resources::STACK_TAG,
                    stack.name
                )
            })),
            in_state: false,
            record: Some(crate::state::Record {
                kind: l.kind,
                physical_id: l.physical_id,
                arn: None,
                spec_hash: String::new(),
                depends_on: vec![],
            }),
        });
    }
    Ok(plan)
}

/// The error deploy and plan stop with when Security Hub is not enabled where the stack needs it.
pub fn securityhub_off_error(stack: &Stack, addresses: &[String]) -> anyhow::Error {
    anyhow::anyhow!(
        "Security Hub is not enabled in account {} region {} (InvalidAccessException), so {} cannot be deployed. Enable it (`aws securityhub enable-security-hub --region {}`, or as the organisation's delegated administrator), or set [securityhub] automation_rules = false and custom_actions = false — or, where only today's Security Hub is on, [securityhub] feeds = [\"ocsf\"] (its V2 automation rules stay)",
        stack.account,
        stack.region,
        addresses.join(", "),
        stack.region
    )
}

/// A role deleted and created again has a new RoleId: Lambda's KMS grant for the functions'
/// environment still names the old one, so every invocation fails to decrypt until the function's
/// configuration is updated. When deploy creates a role, it updates the functions that run as it.
fn refresh_functions_of_recreated_roles(stack: &Stack, items: &mut [Planned]) {
    let recreated: Vec<String> = items
        .iter()
        .filter(|p| p.kind == Kind::IamRole && p.action == Action::Create)
        .map(|p| p.address.clone())
        .collect();
    for p in items.iter_mut() {
        if p.kind != Kind::LambdaFunction || p.action != Action::Noop {
            continue;
        }
        let Some(r) = stack.get(&p.address) else {
            continue;
        };
        if r.deps.iter().any(|d| recreated.contains(d)) {
            let role = p
                .live
                .as_ref()
                .and_then(|l| l.fields.get("role").cloned())
                .unwrap_or_default();
            p.action = Action::Update;
            p.diff.push(Difference {
                field: "role".into(),
                desired: role,
                live: serde_json::Value::String(
                    "a role of that name that no longer exists (the new one needs a fresh KMS grant)"
                        .into(),
                ),
            });
        }
    }
}

/// What `status` says of one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InSync,
    Drifted,
    Missing,
    Unmanaged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InSync => "in_sync",
            Status::Drifted => "drifted",
            Status::Missing => "missing",
            Status::Unmanaged => "unmanaged",
        }
    }
}

/// One row of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceStatus {
    pub address: String,
    pub kind: Kind,
    pub arn: Option<String>,
    pub status: Status,
    pub differences: Vec<Difference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Plan {
    /// The plan seen as drift: in sync, drifted, missing or unmanaged.
    pub fn status(&self, stack: &Stack, state: &State) -> Vec<ResourceStatus> {
        self.items
            .iter()
            .map(|p| {
                let (status, note) = match p.action {
                    Action::Create => (Status::Missing, None),
                    Action::Conflict => (Status::Unmanaged, p.reason.clone()),
                    Action::Update => (Status::Drifted, None),
                    Action::Delete if p.record.is_some() => (
                        Status::Drifted,
                        Some(match p.kind {
                            // Not the stack's at all: a statement someone added to its function.
                            Kind::LambdaPermission => p.reason.clone().unwrap_or_default(),
                            _ => "owned by this stack (tag) but no longer in the config: deploy deletes it".into(),
                        }),
                    ),
                    Action::Delete => (
                        Status::Drifted,
                        Some(
                            "recorded in state but no longer in the config: deploy deletes it"
                                .into(),
                        ),
                    ),
                    // Live, as desired, and ours by tag (or a part of something ours that cannot
                    // be tagged): in sync, whether or not this runner's state records it.
                    Action::Noop => (Status::InSync, None),
                };
                ResourceStatus {
                    address: p.address.clone(),
                    kind: p.kind,
                    arn: p.arn(stack, state),
                    status,
                    differences: p.diff.clone(),
                    note,
                }
            })
            .collect()
    }
}
