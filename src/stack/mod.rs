//! Config + account + region → the desired resource graph. Every physical name derives from the stack
//! name (see [`names`]) and every ARN is computed, so the whole graph is known before the first API
//! call. Each component of the stack adds its resources in its own module.

use std::collections::BTreeMap;

use crate::bundle::{bundle_path, code_sha256};
use crate::config::{Config, Feed};
use crate::resources::{Spec, REGION_TAG, STACK_TAG};

mod environment;
mod functions;
mod identity;
pub mod member;
mod monitoring;
pub mod names;
mod notifications;
mod rules;
mod securityhub;

pub use environment::check_environment;
pub use names::Names;

/// The four functions: config key and name suffix.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("triage", "triage"),
    ("remediation", "remediation"),
    ("notification", "notification"),
    ("error_handler", "error-handler"),
];

/// The name suffix of the function whose config key is `key`.
pub(crate) fn function_suffix(key: &str) -> &str {
    FUNCTIONS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, s)| *s)
}

/// The detail-type of the events triage emits for remediation and notification.
pub const RESPONSE_DETAIL_TYPE: &str = "Security Response Required";

/// The AWS-managed SNS key: CloudWatch alarms and EventBridge cannot publish to a topic under it.
pub const AWS_MANAGED_SNS_KEY: &str = "alias/aws/sns";

/// One node of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// `kind.name`, stable across runs: the key in the state file.
    pub address: String,
    pub spec: Spec,
    pub deps: Vec<String>,
}

/// The desired stack.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub region: String,
    pub account: String,
    pub partition: String,
    pub tags: BTreeMap<String, String>,
    pub resources: Vec<Resource>,
    /// Things the user should know before deploying (printed on stderr, listed in JSON).
    pub warnings: Vec<String>,
}

impl Stack {
    pub fn get(&self, address: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.address == address)
    }

    /// Address → dependencies.
    pub fn edges(&self) -> BTreeMap<String, Vec<String>> {
        self.resources
            .iter()
            .map(|r| (r.address.clone(), r.deps.clone()))
            .collect()
    }
}

/// Whether the handler bundles must exist (deploy, plan, status) or not (destroy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Required,
    NotNeeded,
}

/// Problems that stop the graph from being built; all are found before any API call.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("derived names do not fit their services' limits:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Names(Vec<String>),
    #[error("the functions' settings do not fit in their environment:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Environment(Vec<String>),
    #[error("handler bundles are missing:\n{}\nrun `secauto build` to make them (or point [lambda] artifacts_dir at where they are)", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    MissingBundles(Vec<String>),
    #[error("handler bundles cannot run on the functions:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    UnfitBundles(Vec<String>),
    #[error("cannot read handler bundle {path}: {source}")]
    Bundle {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Graph(#[from] crate::graph::GraphError),
}

/// Which key encrypts the topic and the functions' environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChoice {
    /// The stack's own customer-managed key (the default).
    Stack,
    /// The user's key: an alias, key id or key ARN.
    User(String),
    /// The AWS-managed keys (`alias/aws/sns`, Lambda's own): alarms cannot notify.
    AwsManaged,
}

impl KeyChoice {
    pub fn of(config: &Config) -> KeyChoice {
        match config.notifications.kms_key.as_deref() {
            None => KeyChoice::Stack,
            Some(AWS_MANAGED_SNS_KEY) => KeyChoice::AwsManaged,
            Some(k) => KeyChoice::User(k.to_string()),
        }
    }
}

/// The fleet a stack belongs to, as its graph needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    /// The administrator's account.
    pub administrator: String,
    /// The administrator's first region: its whole stack, and the findings it aggregates, live there.
    pub home_region: String,
    /// Where member stacks are: the administrator's remediation acts there through their roles.
    pub coverage: secauto_core::fleet::Coverage,
    /// What the member roles' trust asks of the administrator's remediation.
    pub external_id: String,
}

impl Fleet {
    /// The fleet `config`'s `[[targets]]` make, each target in the account `account` says (its
    /// role's, or the caller's); `None` without an administrator. The one place a fleet is made,
    /// for deploy and for the offline checks alike.
    pub fn of(
        config: &crate::config::Config,
        account: impl Fn(&crate::config::TargetConfig) -> String,
    ) -> Option<Fleet> {
        let admin = config
            .targets
            .iter()
            .find(|t| t.role == crate::config::TargetRole::Administrator)?;
        let administrator = account(admin);
        let home_region = admin.regions.first()?.clone();
        let mut coverage = secauto_core::fleet::Coverage::default();
        for t in &config.targets {
            let a = account(t);
            for r in &t.regions {
                if !(a == administrator && *r == home_region) {
                    coverage.insert(&a, r);
                }
            }
        }
        let external_id = config.fleet.external_id.clone().unwrap_or_else(|| {
            secauto_core::fleet::default_external_id(&config.stack.name, &administrator)
        });
        Some(Fleet {
            administrator,
            home_region,
            coverage,
            external_id,
        })
    }
}

/// What a stack is: alone, or a fleet's administrator or member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Part {
    #[default]
    Alone,
    /// The whole stack; its remediation acts in the members too.
    Administrator(Fleet),
    /// The role the administrator's remediation assumes here, and the isolation document.
    Member(Fleet),
}

impl Part {
    pub fn as_str(&self) -> &'static str {
        match self {
            Part::Alone => "stack",
            Part::Administrator(_) => "administrator",
            Part::Member(_) => "member",
        }
    }
}

/// What the components share: the config, names, and the ARNs that tie them together.
pub(crate) struct Shared<'a> {
    pub config: &'a Config,
    pub n: Names,
    pub code: Code,
    pub key: KeyChoice,
    /// The key as the topic and the functions name it (an alias, id or ARN), if not AWS-managed.
    pub key_ref: Option<String>,
    /// The EventBridge rules, by config key.
    pub rules: Vec<&'static str>,
    pub part: &'a Part,
}

impl<'a> Shared<'a> {
    fn new(config: &'a Config, account: &str, region: &str, code: Code, part: &'a Part) -> Self {
        let n = Names::new(&config.stack.name, region, account);
        let key = KeyChoice::of(config);
        let key_ref = match &key {
            KeyChoice::Stack => Some(n.key_alias()),
            KeyChoice::User(k) => Some(k.clone()),
            KeyChoice::AwsManaged => None,
        };
        let mut rules = Vec::new();
        if config.securityhub.subscribes(Feed::Cspm) {
            rules.push("findings");
        }
        if config.securityhub.subscribes(Feed::Ocsf) {
            rules.push("findings_ocsf");
        }
        rules.push("remediation");
        if config.securityhub.custom_actions && config.securityhub.subscribes(Feed::Cspm) {
            rules.push("custom_actions");
        }
        Shared {
            config,
            n,
            code,
            key,
            key_ref,
            rules,
            part,
        }
    }
}

/// Adds resources and collects the problems found on the way.
#[derive(Default)]
pub(crate) struct Builder {
    resources: Vec<Resource>,
    name_problems: Vec<String>,
    environment_problems: Vec<String>,
    missing_bundles: Vec<String>,
    unfit_bundles: Vec<String>,
    warnings: Vec<String>,
}

impl Builder {
    fn add(&mut self, address: impl Into<String>, spec: Spec, deps: &[&str]) {
        self.resources.push(Resource {
            address: address.into(),
            spec,
            deps: deps.iter().map(|d| d.to_string()).collect(),
        });
    }

    fn check(&mut self, what: &str, name: &str, max: usize) {
        if name.len() > max {
            self.name_problems.push(format!(
                "{what} name {name:?} is {} characters; the limit is {max}: shorten [stack] name",
                name.len()
            ));
        }
    }
}

/// Build the desired graph of a stack on its own.
pub fn build(
    config: &Config,
    account: &str,
    region: &str,
    code: Code,
) -> Result<Stack, StackError> {
    build_part(config, account, region, code, &Part::Alone)
}

/// Build the desired graph of a stack, alone or in a fleet.
pub fn build_part(
    config: &Config,
    account: &str,
    region: &str,
    code: Code,
    part: &Part,
) -> Result<Stack, StackError> {
    let s = Shared::new(config, account, region, code, part);
    let mut b = Builder::default();

    if let Part::Member(fleet) = part {
        member::add(&mut b, &s, fleet);
    } else {
        identity::add(&mut b, &s);
        notifications::add(&mut b, &s);
        functions::add(&mut b, &s)?;
        let actions = securityhub::add_actions(&mut b, &s);
        rules::add(&mut b, &s, &actions);
        securityhub::add_automation_rules(&mut b, &s);
        monitoring::add(&mut b, &s);
    }

    if !b.name_problems.is_empty() {
        return Err(StackError::Names(b.name_problems));
    }
    if !b.environment_problems.is_empty() {
        return Err(StackError::Environment(b.environment_problems));
    }
    if code == Code::Required && !b.missing_bundles.is_empty() {
        return Err(StackError::MissingBundles(b.missing_bundles));
    }
    if code == Code::Required && !b.unfit_bundles.is_empty() {
        return Err(StackError::UnfitBundles(b.unfit_bundles));
    }
    let mut tags = config.stack.tags.clone();
    tags.insert(STACK_TAG.into(), config.stack.name.clone());
    tags.insert(REGION_TAG.into(), region.into());
    let stack = Stack {
        name: config.stack.name.clone(),
        region: region.into(),
        account: account.into(),
        partition: s.n.partition.clone(),
        tags,
        resources: b.resources,
        warnings: b.warnings,
    };
    crate::graph::levels(&stack.edges())?;
    Ok(stack)
}

#[cfg(test)]
mod tests;
