//! Where notifications and undeliverable events go: the encrypted topic, its subscriptions, and the
//! dead-letter queue that only the stack's rules may write to.

use serde_json::json;

use super::{identity, Builder, KeyChoice, Shared, AWS_MANAGED_SNS_KEY};
use crate::resources::{self as r, Spec};

pub const TOPIC: &str = "sns_topic.notifications";
pub const QUEUE: &str = "sqs_queue.dlq";

pub(super) fn add(b: &mut Builder, s: &Shared) {
    let n = &s.n;
    let topic_name = n.name("notifications");
    b.check("SNS topic", &topic_name, 256);
    let topic_deps: &[&str] = if s.key == KeyChoice::Stack {
        &[identity::KEY]
    } else {
        &[]
    };
    b.add(
        TOPIC,
        Spec::SnsTopic(r::sns_topic::Spec {
            name: topic_name,
            arn: n.topic_arn(),
            display_name: format!("secauto {}", n.stack),
            kms_master_key_id: s
                .key_ref
                .clone()
                .unwrap_or_else(|| AWS_MANAGED_SNS_KEY.into()),
        }),
        topic_deps,
    );
    let subs = [
        ("email", &s.config.notifications.emails),
        ("https", &s.config.notifications.https),
        ("sqs", &s.config.notifications.sqs),
    ];
    for (protocol, endpoints) in subs {
        for endpoint in endpoints {
            b.add(
                format!("sns_subscription.{protocol}[{endpoint}]"),
                Spec::SnsSubscription(r::sns_subscription::Spec {
                    topic_arn: n.topic_arn(),
                    protocol: protocol.into(),
                    endpoint: endpoint.clone(),
                }),
                &[TOPIC],
            );
        }
    }

    let dlq_name = n.name("dlq");
    b.check("SQS queue", &dlq_name, 80);
    let rule_arns: Vec<String> = s.rules.iter().map(|k| n.rule_arn(k)).collect();
    b.add(
        QUEUE,
        Spec::SqsQueue(r::sqs_queue::Spec {
            name: dlq_name,
            arn: n.queue_arn(),
            message_retention_seconds: 1_209_600,
            visibility_timeout_seconds: 300,
            policy: json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "StackRulesOnly",
                    "Effect": "Allow",
                    "Principal": {"Service": n.service("events")},
                    "Action": "sqs:SendMessage",
                    "Resource": n.queue_arn(),
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
                }],
            }),
        }),
        &[],
    );
}
