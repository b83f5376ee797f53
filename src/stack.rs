//! Config + account + region → the desired resource graph. Every physical name derives from the stack
//! name and every ARN is computed, so the whole graph is known before the first API call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::resources::{self as r, Spec, STACK_TAG};

/// The four functions: config key and name suffix.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("triage", "triage"),
    ("remediation", "remediation"),
    ("notification", "notification"),
    ("error_handler", "error-handler"),
];

/// The detail-type of the events triage emits for remediation and notification.
pub const RESPONSE_DETAIL_TYPE: &str = "Security Response Required";

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
    #[error("handler bundles are missing:\n{}\nrun `secauto build` to make them (or point [lambda] artifacts_dir at where they are)", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    MissingBundles(Vec<String>),
    #[error("cannot read handler bundle {path}: {source}")]
    Bundle {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Graph(#[from] crate::graph::GraphError),
}

/// Base64 SHA-256, the form Lambda reports as CodeSha256.
pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// The bundle path of a function.
pub fn bundle_path(artifacts_dir: &Path, suffix: &str) -> PathBuf {
    artifacts_dir.join(suffix).join("bootstrap.zip")
}

/// The default prefix of the custom action ids: the stack name's letters and digits, at most 11.
pub fn action_id_prefix(config: &Config) -> String {
    config
        .securityhub
        .action_id_prefix
        .clone()
        .unwrap_or_else(|| {
            config
                .stack
                .name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(11)
                .collect()
        })
}

struct Names<'a> {
    stack: &'a str,
    region: &'a str,
    account: &'a str,
    partition: &'a str,
}

impl Names<'_> {
    fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition, self.region, self.account
        )
    }
    fn global_arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}::{}:{resource}",
            self.partition, self.account
        )
    }
    fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.stack)
    }
    fn function(&self, suffix: &str) -> String {
        self.name(suffix)
    }
    fn function_arn(&self, suffix: &str) -> String {
        self.arn("lambda", &format!("function:{}", self.function(suffix)))
    }
    fn rule(&self, key: &str) -> String {
        self.name(&key.replace('_', "-"))
    }
    fn rule_arn(&self, key: &str) -> String {
        self.arn("events", &format!("rule/{}", self.rule(key)))
    }
}

struct Builder {
    resources: Vec<Resource>,
    name_problems: Vec<String>,
}

impl Builder {
    fn add(&mut self, address: String, spec: Spec, deps: &[&str]) {
        self.resources.push(Resource {
            address,
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

/// Build the desired graph.
pub fn build(
    config: &Config,
    account: &str,
    region: &str,
    code: Code,
) -> Result<Stack, StackError> {
    let stack = config.stack.name.as_str();
    let partition = crate::aws::partition(region);
    let n = Names {
        stack,
        region,
        account,
        partition,
    };
    let mut b = Builder {
        resources: Vec::new(),
        name_problems: Vec::new(),
    };

    let mut tags = config.stack.tags.clone();
    tags.insert(STACK_TAG.into(), stack.into());

    // IAM
    let role_name = n.name("lambda");
    b.check("IAM role", &role_name, 64);
    let role_arn = n.global_arn("iam", &format!("role/{role_name}"));
    b.add(
        "iam_role.lambda".into(),
        Spec::IamRole(r::iam_role::Spec {
            name: role_name.clone(),
            description: format!(
                "secauto stack {stack}: execution role of the security-response functions"
            ),
            assume_role_policy: json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }],
            }),
        }),
        &[],
    );
    let basic_arn =
        format!("arn:{partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole");
    b.add(
        "iam_role_policy_attachment.basic".into(),
        Spec::IamRolePolicyAttachment(r::iam_role_policy_attachment::Spec {
            role: role_name.clone(),
            policy_arn: basic_arn,
        }),
        &["iam_role.lambda"],
    );

    let topic_name = n.name("notifications");
    b.check("SNS topic", &topic_name, 256);
    let topic_arn = n.arn("sns", &topic_name);
    let dlq_name = n.name("dlq");
    b.check("SQS queue", &dlq_name, 80);
    let dlq_arn = n.arn("sqs", &dlq_name);
    let doc_name = n.name("isolate-instance");
    b.check("SSM document", &doc_name, 128);
    let doc_arn = n.arn("ssm", &format!("document/{doc_name}"));

    let policy_name = n.name("automation");
    b.check("IAM policy", &policy_name, 128);
    let policy_arn = n.global_arn("iam", &format!("policy/{policy_name}"));
    b.add(
        "iam_policy.automation".into(),
        Spec::IamPolicy(r::iam_policy::Spec {
            name: policy_name,
            arn: policy_arn.clone(),
            description: format!(
                "secauto stack {stack}: what the security-response functions may do"
            ),
            document: automation_policy(&n, &topic_arn, &dlq_arn, &doc_name),
        }),
        &[
            "sns_topic.notifications",
            "sqs_queue.dlq",
            "ssm_document.isolate",
        ],
    );
    b.add(
        "iam_role_policy_attachment.automation".into(),
        Spec::IamRolePolicyAttachment(r::iam_role_policy_attachment::Spec {
            role: role_name.clone(),
            policy_arn,
        }),
        &["iam_role.lambda", "iam_policy.automation"],
    );

    // SNS
    b.add(
        "sns_topic.notifications".into(),
        Spec::SnsTopic(r::sns_topic::Spec {
            name: topic_name.clone(),
            arn: topic_arn.clone(),
            display_name: format!("secauto {stack}"),
            kms_master_key_id: config
                .notifications
                .kms_key
                .clone()
                .unwrap_or_else(|| "alias/aws/sns".into()),
        }),
        &[],
    );
    let subs = [
        ("email", &config.notifications.emails),
        ("https", &config.notifications.https),
        ("sqs", &config.notifications.sqs),
    ];
    for (protocol, endpoints) in subs {
        for endpoint in endpoints {
            b.add(
                format!("sns_subscription.{protocol}[{endpoint}]"),
                Spec::SnsSubscription(r::sns_subscription::Spec {
                    topic_arn: topic_arn.clone(),
                    protocol: protocol.into(),
                    endpoint: endpoint.clone(),
                }),
                &["sns_topic.notifications"],
            );
        }
    }

    // Rules (names first: the DLQ policy names them).
    let custom_actions = config.securityhub.custom_actions;
    let mut rules: Vec<&str> = vec!["findings", "remediation"];
    if custom_actions {
        rules.push("custom_actions");
    }
    let rule_arns: Vec<String> = rules.iter().map(|k| n.rule_arn(k)).collect();

    // SQS
    b.add(
        "sqs_queue.dlq".into(),
        Spec::SqsQueue(r::sqs_queue::Spec {
            name: dlq_name.clone(),
            arn: dlq_arn.clone(),
            message_retention_seconds: 1_209_600,
            visibility_timeout_seconds: 300,
            policy: json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "StackRulesOnly",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": dlq_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
                }],
            }),
        }),
        &[],
    );

    // SSM
    let doc: Value = serde_json::from_str(include_str!("../templates/isolate-instance.ssm.json"))
        .unwrap_or(Value::Null);
    b.add(
        "ssm_document.isolate".into(),
        Spec::SsmDocument(r::ssm_document::Spec {
            name: doc_name.clone(),
            arn: doc_arn,
            content: doc,
        }),
        &[],
    );

    // Lambda
    let artifacts = PathBuf::from(&config.lambda.artifacts_dir);
    let mut missing = Vec::new();
    let error_handler_arn = n.function_arn("error-handler");
    for (key, suffix) in FUNCTIONS {
        let name = n.function(suffix);
        b.check("Lambda function", &name, 64);
        let zip_path = bundle_path(&artifacts, suffix);
        let code_sha256 = match code {
            Code::NotNeeded => String::new(),
            Code::Required => match std::fs::read(&zip_path) {
                Ok(bytes) => code_sha256(&bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    missing.push(zip_path.display().to_string());
                    String::new()
                }
                Err(source) => {
                    return Err(StackError::Bundle {
                        path: zip_path.display().to_string(),
                        source,
                    })
                }
            },
        };
        let mut env = BTreeMap::new();
        env.insert("SECAUTO_FUNCTION".to_string(), key.to_string());
        env.insert("SECAUTO_STACK".to_string(), stack.to_string());
        env.insert("SNS_TOPIC_ARN".to_string(), topic_arn.clone());
        env.insert(
            "REMEDIATION_MODE".to_string(),
            config.remediation.mode.as_str().to_string(),
        );
        env.insert("EVENT_SOURCE".to_string(), format!("secauto.{stack}"));
        env.insert("ISOLATE_DOCUMENT".to_string(), doc_name.clone());
        if *key == "triage" {
            env.insert("TRIAGE_POLICY".to_string(), config.triage.policy_json());
        }
        b.add(
            format!("lambda_function.{key}"),
            Spec::LambdaFunction(r::lambda_function::Spec {
                name: name.clone(),
                arn: n.function_arn(suffix),
                description: format!("secauto stack {stack}: {} handler", suffix),
                role_arn: role_arn.clone(),
                memory_mb: config.lambda.memory_mb,
                timeout_seconds: config.lambda.timeout_seconds,
                architecture: config.lambda.architecture.clone(),
                environment: env,
                zip_path,
                code_sha256,
            }),
            &[
                "iam_role.lambda",
                "iam_role_policy_attachment.basic",
                "iam_role_policy_attachment.automation",
                "sns_topic.notifications",
                "sqs_queue.dlq",
            ],
        );
        let (on_failure, dep) = if *key == "error_handler" {
            (dlq_arn.clone(), "sqs_queue.dlq")
        } else {
            (error_handler_arn.clone(), "lambda_function.error_handler")
        };
        let fn_address = format!("lambda_function.{key}");
        b.add(
            format!("lambda_event_invoke_config.{key}"),
            Spec::LambdaEventInvokeConfig(r::lambda_event_invoke_config::Spec {
                function: name,
                on_failure_arn: on_failure,
                maximum_retry_attempts: config.lambda.async_retry_attempts,
                maximum_event_age_seconds: 21600,
            }),
            &[fn_address.as_str(), dep],
        );
    }

    // Security Hub custom actions (before the rule that matches them).
    let prefix = action_id_prefix(config);
    let mut action_arns = Vec::new();
    let mut action_addresses = Vec::new();
    if custom_actions {
        for (key, id_suffix, name, description) in [
            (
                "trigger_remediation",
                "Remediate",
                "Trigger remediation",
                "secauto: run the triage policy's remediation for the selected findings",
            ),
            (
                "escalate_soc",
                "Escalate",
                "Escalate to SOC",
                "secauto: notify the security operations center about the selected findings",
            ),
        ] {
            let id = format!("{prefix}{id_suffix}");
            if id.len() > 20 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                b.name_problems.push(format!(
                    "custom action id {id:?} must be at most 20 letters or digits: set [securityhub] action_id_prefix"
                ));
            }
            let arn = n.arn("securityhub", &format!("action/custom/{id}"));
            action_arns.push(arn.clone());
            let address = format!("securityhub_action_target.{key}");
            b.add(
                address.clone(),
                Spec::SecurityhubActionTarget(r::securityhub_action_target::Spec {
                    id,
                    arn,
                    name: name.into(),
                    description: description.into(),
                }),
                &[],
            );
            action_addresses.push(address);
        }
    }

    // EventBridge rules, targets, permissions.
    let severities: Vec<&str> = config
        .findings
        .severities
        .iter()
        .map(String::as_str)
        .collect();
    let targets: Vec<(&str, Vec<&str>)> = rules
        .iter()
        .map(|k| match *k {
            "findings" => (*k, vec!["triage"]),
            "remediation" => (*k, vec!["remediation", "notification"]),
            _ => (*k, vec!["triage"]),
        })
        .collect();
    for (key, functions) in &targets {
        let (description, pattern) = match *key {
            "findings" => (
                "secauto: NEW, ACTIVE Security Hub findings of the configured severities → triage",
                json!({
                    "source": ["aws.securityhub"],
                    "detail-type": ["Security Hub Findings - Imported"],
                    "detail": {"findings": {
                        "Severity": {"Label": severities},
                        "Workflow": {"Status": ["NEW"]},
                        "RecordState": ["ACTIVE"],
                    }},
                }),
            ),
            "remediation" => (
                "secauto: response events from triage → remediation and notification",
                json!({
                    "source": [format!("secauto.{stack}")],
                    "detail-type": [RESPONSE_DETAIL_TYPE],
                }),
            ),
            _ => (
                "secauto: Security Hub custom actions of this stack → triage",
                json!({
                    "source": ["aws.securityhub"],
                    "detail-type": ["Security Hub Findings - Custom Action"],
                    "resources": action_arns,
                }),
            ),
        };
        let rule_name = n.rule(key);
        b.check("EventBridge rule", &rule_name, 64);
        let rule_address = format!("event_rule.{key}");
        let rule_deps: Vec<&str> = if *key == "custom_actions" {
            action_addresses.iter().map(String::as_str).collect()
        } else {
            vec![]
        };
        b.add(
            rule_address.clone(),
            Spec::EventRule(r::event_rule::Spec {
                name: rule_name.clone(),
                arn: n.rule_arn(key),
                description: description.into(),
                event_pattern: pattern,
            }),
            &rule_deps,
        );
        for f in functions {
            let suffix = FUNCTIONS
                .iter()
                .find(|(k, _)| k == f)
                .map(|(_, s)| *s)
                .unwrap_or(f);
            let fn_address = format!("lambda_function.{f}");
            b.add(
                format!("event_target.{key}_{f}"),
                Spec::EventTarget(r::event_target::Spec {
                    rule: rule_name.clone(),
                    id: f.to_string(),
                    target_arn: n.function_arn(suffix),
                    dead_letter_arn: dlq_arn.clone(),
                    maximum_retry_attempts: config.events.retry_attempts,
                    maximum_event_age_seconds: config.events.max_event_age_seconds,
                }),
                &[
                    rule_address.as_str(),
                    fn_address.as_str(),
                    "sqs_queue.dlq",
                    &format!("lambda_permission.{f}_{key}"),
                ],
            );
            b.add(
                format!("lambda_permission.{f}_{key}"),
                Spec::LambdaPermission(r::lambda_permission::Spec {
                    function: n.function(suffix),
                    statement_id: format!("secauto-{}", key.replace('_', "-")),
                    principal: "events.amazonaws.com".into(),
                    source_arn: n.rule_arn(key),
                    source_account: account.into(),
                }),
                &[fn_address.as_str(), rule_address.as_str()],
            );
        }
    }

    // Security Hub automation rules.
    if config.securityhub.automation_rules {
        for (order, label) in [(1, "HIGH"), (2, "CRITICAL")] {
            let lower = label.to_ascii_lowercase();
            let mut udf = BTreeMap::new();
            udf.insert("secauto:stack".to_string(), stack.to_string());
            udf.insert("secauto:priority".to_string(), lower.clone());
            b.add(
                format!("securityhub_automation_rule.{lower}"),
                Spec::SecurityhubAutomationRule(r::securityhub_automation_rule::Spec {
                    name: n.name(&format!("{lower}-severity")),
                    description: format!(
                        "secauto stack {stack}: annotate NEW {label} findings before triage"
                    ),
                    rule_order: order,
                    severity_label: label.into(),
                    note: format!("{label} severity finding: secauto triage is responding"),
                    user_defined_fields: udf,
                }),
                &[],
            );
        }
    }

    // CloudWatch.
    if config.monitoring.alarms {
        let period = config.monitoring.alarm_period_seconds;
        let alarm = |b: &mut Builder,
                     address: String,
                     name: String,
                     description: String,
                     namespace: &str,
                     metric: &str,
                     dim: (&str, String),
                     statistic: &str,
                     threshold: f64,
                     dep: String| {
            b.check("CloudWatch alarm", &name, 255);
            let mut dimensions = BTreeMap::new();
            dimensions.insert(dim.0.to_string(), dim.1);
            b.add(
                address,
                Spec::CloudwatchAlarm(r::cloudwatch_alarm::Spec {
                    arn: n.arn("cloudwatch", &format!("alarm:{name}")),
                    name,
                    description,
                    namespace: namespace.into(),
                    metric_name: metric.into(),
                    dimensions,
                    statistic: statistic.into(),
                    period,
                    evaluation_periods: 1,
                    threshold,
                    comparison_operator: "GreaterThanOrEqualToThreshold".into(),
                    treat_missing_data: "notBreaching".into(),
                    alarm_actions: vec![topic_arn.clone()],
                }),
                &["sns_topic.notifications", dep.as_str()],
            );
        };
        for (key, suffix) in FUNCTIONS {
            alarm(
                &mut b,
                format!("cloudwatch_alarm.{key}_errors"),
                n.name(&format!("{suffix}-errors")),
                format!("secauto {stack}: the {suffix} function reported errors"),
                "AWS/Lambda",
                "Errors",
                ("FunctionName", n.function(suffix)),
                "Sum",
                1.0,
                format!("lambda_function.{key}"),
            );
        }
        for key in &rules {
            alarm(
                &mut b,
                format!("cloudwatch_alarm.{key}_failed_invocations"),
                n.name(&format!("{}-failed-invocations", key.replace('_', "-"))),
                format!("secauto {stack}: the {key} rule could not deliver events to its targets"),
                "AWS/Events",
                "FailedInvocations",
                ("RuleName", n.rule(key)),
                "Sum",
                1.0,
                format!("event_rule.{key}"),
            );
        }
        alarm(
            &mut b,
            "cloudwatch_alarm.dlq_depth".into(),
            n.name("dlq-depth"),
            format!("secauto {stack}: events are waiting in the dead-letter queue"),
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            ("QueueName", dlq_name.clone()),
            "Maximum",
            config.monitoring.dlq_depth_threshold,
            "sqs_queue.dlq".into(),
        );
    }
    if config.monitoring.dashboard {
        let name = stack.to_string();
        b.check("CloudWatch dashboard", &name, 255);
        b.add(
            "cloudwatch_dashboard.main".into(),
            Spec::CloudwatchDashboard(r::cloudwatch_dashboard::Spec {
                arn: format!("arn:{partition}:cloudwatch::{account}:dashboard/{name}"),
                name,
                body: dashboard(&n, region, &rules, &dlq_name),
            }),
            &[],
        );
    }

    if !b.name_problems.is_empty() {
        return Err(StackError::Names(b.name_problems));
    }
    if code == Code::Required && !missing.is_empty() {
        return Err(StackError::MissingBundles(missing));
    }
    let s = Stack {
        name: stack.into(),
        region: region.into(),
        account: account.into(),
        partition: partition.into(),
        tags,
        resources: b.resources,
    };
    crate::graph::levels(&s.edges())?;
    Ok(s)
}

/// Least privilege: the stack's own ARNs wherever the action supports resource-level permissions.
fn automation_policy(n: &Names, topic_arn: &str, dlq_arn: &str, doc_name: &str) -> Value {
    let p = n.partition;
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Notify", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn},
            {"Sid": "DeadLetter", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq_arn},
            {"Sid": "OnFailureDestination", "Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Resource": n.function_arn("error-handler")},
            {"Sid": "EmitResponseEvents", "Effect": "Allow", "Action": "events:PutEvents",
             "Resource": n.arn("events", "event-bus/default")},
            {"Sid": "UpdateFindings", "Effect": "Allow",
             "Action": ["securityhub:BatchUpdateFindings", "securityhub:GetFindings"],
             "Resource": n.arn("securityhub", "hub/default")},
            {"Sid": "StartIsolation", "Effect": "Allow", "Action": "ssm:StartAutomationExecution",
             "Resource": n.arn("ssm", &format!("automation-definition/{doc_name}:*"))},
            {"Sid": "WatchIsolation", "Effect": "Allow", "Action": "ssm:GetAutomationExecution",
             "Resource": n.arn("ssm", "automation-execution/*")},
            {"Sid": "DescribeEc2", "Effect": "Allow",
             "Action": ["ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:DescribeVolumes",
                        "ec2:DescribeNetworkInterfaces", "ec2:DescribeSnapshots"],
             "Resource": "*"},
            {"Sid": "RemediateEc2", "Effect": "Allow",
             "Action": ["ec2:CreateSecurityGroup", "ec2:ModifyNetworkInterfaceAttribute",
                        "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
                        "ec2:CreateSnapshot", "ec2:CreateTags", "ec2:StopInstances"],
             "Resource": [n.arn("ec2", "*"), format!("arn:{p}:ec2:{}::snapshot/*", n.region)]},
            {"Sid": "RemediateS3", "Effect": "Allow",
             "Action": ["s3:GetBucketTagging", "s3:GetEncryptionConfiguration",
                        "s3:PutEncryptionConfiguration", "s3:GetBucketPublicAccessBlock",
                        "s3:PutBucketPublicAccessBlock"],
             "Resource": format!("arn:{p}:s3:::*")},
        ],
    })
}

fn dashboard(n: &Names, region: &str, rules: &[&str], dlq_name: &str) -> Value {
    let lambda_metrics: Vec<Value> = FUNCTIONS
        .iter()
        .flat_map(|(_, s)| {
            ["Invocations", "Errors", "Throttles"]
                .into_iter()
                .map(move |m| json!(["AWS/Lambda", m, "FunctionName", n.function(s)]))
        })
        .collect();
    let duration: Vec<Value> = FUNCTIONS
        .iter()
        .map(|(_, s)| json!(["AWS/Lambda", "Duration", "FunctionName", n.function(s)]))
        .collect();
    let rule_metrics: Vec<Value> = rules
        .iter()
        .flat_map(|k| {
            ["MatchedEvents", "Invocations", "FailedInvocations"]
                .into_iter()
                .map(move |m| json!(["AWS/Events", m, "RuleName", n.rule(k)]))
        })
        .collect();
    json!({
        "widgets": [
            {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {
                "title": "Functions: invocations, errors, throttles", "region": region,
                "stat": "Sum", "period": 300, "view": "timeSeries", "metrics": lambda_metrics}},
            {"type": "metric", "x": 12, "y": 0, "width": 12, "height": 6, "properties": {
                "title": "Functions: duration (p99)", "region": region,
                "stat": "p99", "period": 300, "view": "timeSeries", "metrics": duration}},
            {"type": "metric", "x": 0, "y": 6, "width": 12, "height": 6, "properties": {
                "title": "Rules: matched, delivered, failed", "region": region,
                "stat": "Sum", "period": 300, "view": "timeSeries", "metrics": rule_metrics}},
            {"type": "metric", "x": 12, "y": 6, "width": 12, "height": 6, "properties": {
                "title": "Dead-letter queue depth", "region": region,
                "stat": "Maximum", "period": 300, "view": "timeSeries",
                "metrics": [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq_name]]}},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::default()
    }

    #[test]
    fn default_stack_has_every_kind_and_acyclic() {
        let mut c = config();
        c.notifications.emails = vec!["soc@example.com".into()];
        let s = build(&c, "123456789012", "us-east-1", Code::NotNeeded).unwrap();
        let kinds: std::collections::BTreeSet<_> =
            s.resources.iter().map(|r| r.spec.kind()).collect();
        assert_eq!(kinds.len(), 16, "{kinds:?}");
        assert!(s.get("event_rule.findings").is_some());
        assert_eq!(
            s.resources
                .iter()
                .filter(|r| r.spec.kind() == r::Kind::CloudwatchAlarm)
                .count(),
            4 + 3 + 1
        );
    }

    #[test]
    fn findings_rule_matches_only_new_active() {
        let s = build(&config(), "123456789012", "us-east-1", Code::NotNeeded).unwrap();
        let Spec::EventRule(rule) = &s.get("event_rule.findings").unwrap().spec else {
            panic!()
        };
        let f = &rule.event_pattern["detail"]["findings"];
        assert_eq!(f["Workflow"]["Status"], json!(["NEW"]));
        assert_eq!(f["RecordState"], json!(["ACTIVE"]));
    }

    #[test]
    fn long_stack_name_is_refused() {
        let mut c = config();
        c.stack.name = "a".repeat(60);
        let err = build(&c, "123456789012", "us-east-1", Code::NotNeeded).unwrap_err();
        assert!(err.to_string().contains("limit is 64"), "{err}");
    }

    #[test]
    fn action_ids_fit() {
        let mut c = config();
        c.stack.name = "my-very-long-stack-name".into();
        let s = build(&c, "123456789012", "us-east-1", Code::NotNeeded).unwrap();
        for r in &s.resources {
            if let Spec::SecurityhubActionTarget(t) = &r.spec {
                assert!(t.id.len() <= 20 && t.id.chars().all(|c| c.is_ascii_alphanumeric()));
                assert!(t.name.len() <= 20);
            }
        }
    }

    #[test]
    fn missing_bundles_say_what_to_run() {
        let mut c = config();
        c.lambda.artifacts_dir = "/nonexistent/secauto".into();
        let err = build(&c, "123456789012", "us-east-1", Code::Required).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("secauto build"), "{msg}");
        assert!(
            msg.contains("/nonexistent/secauto/triage/bootstrap.zip"),
            "{msg}"
        );
    }
}
