//! Declared calls, enforced where the calls are made: the clients an action runs with refuse,
//! before it is sent, any operation its declaration (`secauto_core::calls`) does not name. The
//! remediation role's policy is generated from the same declarations, so an undeclared call would
//! fail on AWS anyway — here it fails the same way on every emulator and in every test, with the
//! action and the operation named, instead of only where IAM is enforced.
//!
//! The same clients refuse every call that changes something while the run's [`Gate`] is shut:
//! it opens only once the contract's protection check found the run may act, so a dry run, a
//! protected resource and a precondition read cannot change anything, whatever path the code takes.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use secauto_core::retry::TooManyRequests;
use secauto_core::Action;

/// `service:Operation` of an SDK call, the service as the declarations name it (`ec2`, `s3`,
/// `autoscaling`, `ssm`, `sns`, `kms`, `sqs`, `lambda`, `iam`, `cloudtrail`).
pub fn operation(m: &Metadata) -> String {
    let service = m.service().to_ascii_lowercase().replace(' ', "");
    format!("{service}:{}", m.name())
}

/// Whether a run may change anything: shut until the contract found it may act (not a dry run,
/// nothing protected), shut again when the action is done. Clones share one state.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<AtomicBool>);

impl Gate {
    pub(crate) fn open(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub(crate) fn shut(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    /// Whether calls that change something may be sent now.
    pub fn is_open(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Whether `operation` (`service:Operation`) only reads: the SDK names every read Describe…,
/// Get…, List… or Head… (for S3, EC2, Auto Scaling and Systems Manager alike).
pub fn reads_only(operation: &str) -> bool {
    let name = operation.split_once(':').map_or(operation, |(_, n)| n);
    ["Describe", "Get", "List", "Head"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Refuses every operation `action` does not declare, and every change while `gate` is shut.
#[derive(Debug, Clone)]
pub struct Declared {
    action: Action,
    allowed: Arc<BTreeSet<&'static str>>,
    gate: Gate,
}

impl Declared {
    pub fn new(action: Action, gate: Gate) -> Declared {
        Declared {
            action,
            allowed: Arc::new(action.calls().iter().map(|c| c.operation).collect()),
            gate,
        }
    }
}

impl Intercept for Declared {
    fn name(&self) -> &'static str {
        "Declared"
    }

    fn read_before_serialization(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(m) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let op = operation(m);
        if self.allowed.contains(op.as_str()) {
            if reads_only(&op) || self.gate.is_open() {
                return Ok(());
            }
            return Err(format!(
                "{op} would change something, and this {} run may not (a dry run, a protected resource, or a read before the protection check): refused before it was sent",
                self.action.as_str()
            )
            .into());
        }
        Err(format!(
            "{op} is not among the calls {} declares (secauto_core::calls): refused before it was sent",
            self.action.as_str()
        )
        .into())
    }
}

/// The clients one action runs with: the place's, each refusing what the action did not declare
/// and, while `gate` is shut, every change.
pub struct Scoped {
    pub ec2: aws_sdk_ec2::Client,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub sns: aws_sdk_sns::Client,
    pub kms: aws_sdk_kms::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub iam: aws_sdk_iam::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub gate: Gate,
}

impl Scoped {
    pub fn new(c: &crate::Clients, action: Action) -> Scoped {
        let gate = Gate::default();
        let d = Declared::new(action, gate.clone());
        Scoped {
            gate,
            ec2: aws_sdk_ec2::Client::from_conf(
                c.ec2.config().to_builder().interceptor(d.clone()).build(),
            ),
            s3: aws_sdk_s3::Client::from_conf(
                c.s3.config().to_builder().interceptor(d.clone()).build(),
            ),
            ssm: aws_sdk_ssm::Client::from_conf(
                c.ssm.config().to_builder().interceptor(d.clone()).build(),
            ),
            autoscaling: aws_sdk_autoscaling::Client::from_conf(
                c.autoscaling
                    .config()
                    .to_builder()
                    .interceptor(d.clone())
                    .build(),
            ),
            sns: aws_sdk_sns::Client::from_conf(
                c.sns.config().to_builder().interceptor(d.clone()).build(),
            ),
            // Made here, not with the function's clients: only a remediation run needs them, so
            // triage's and notification's start-up stay as they were.
            kms: aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(&c.sdk)
                    .retry_classifier(TooManyRequests)
                    .interceptor(d.clone())
                    .build(),
            ),
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(&c.sdk)
                    .retry_classifier(TooManyRequests)
                    .interceptor(d.clone())
                    .build(),
            ),
            lambda: aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(&c.sdk)
                    .retry_classifier(TooManyRequests)
                    .interceptor(d.clone())
                    .build(),
            ),
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(&c.sdk)
                    .retry_classifier(TooManyRequests)
                    .interceptor(d.clone())
                    .build(),
            ),
            cloudtrail: aws_sdk_cloudtrail::Client::from_conf(
                aws_sdk_cloudtrail::config::Builder::from(&c.sdk)
                    .retry_classifier(TooManyRequests)
                    .interceptor(d)
                    .build(),
            ),
        }
    }
}
