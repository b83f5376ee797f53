//! CloudWatch: one alarm per metric identity (Errors per function, FailedInvocations per rule, DLQ
//! depth), all notifying the topic, and a dashboard named per region (dashboards are account-global).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{notifications, Builder, Names, Shared, FUNCTIONS};
use crate::resources::{self as r, Spec};

struct Alarm<'a> {
    address: String,
    name: String,
    description: String,
    namespace: &'a str,
    metric: &'a str,
    dimensions: Vec<(&'a str, String)>,
    statistic: &'a str,
    threshold: f64,
    watches: String,
}

pub(super) fn add(b: &mut Builder, s: &Shared) {
    let n = &s.n;
    let stack = n.stack.as_str();
    let m = &s.config.monitoring;
    if m.alarms {
        let mut alarms = Vec::new();
        for (key, suffix) in FUNCTIONS {
            alarms.push(Alarm {
                address: format!("cloudwatch_alarm.{key}_errors"),
                name: n.name(&format!("{suffix}-errors")),
                description: format!("secauto {stack}: the {suffix} function reported errors"),
                namespace: "AWS/Lambda",
                metric: "Errors",
                dimensions: vec![("FunctionName", n.function(suffix))],
                statistic: "Sum",
                threshold: 1.0,
                watches: format!("lambda_function.{key}"),
            });
        }
        for key in &s.rules {
            alarms.push(Alarm {
                address: format!("cloudwatch_alarm.{key}_failed_invocations"),
                name: n.name(&format!("{}-failed-invocations", key.replace('_', "-"))),
                description: format!(
                    "secauto {stack}: the {key} rule could not deliver events to its targets"
                ),
                namespace: "AWS/Events",
                metric: "FailedInvocations",
                // A rule on a custom bus publishes its metrics with the bus as a dimension too.
                dimensions: match n.rule_bus(key) {
                    Some(bus) => vec![("EventBusName", bus), ("RuleName", n.rule(key))],
                    None => vec![("RuleName", n.rule(key))],
                },
                statistic: "Sum",
                threshold: 1.0,
                watches: format!("event_rule.{key}"),
            });
        }
        alarms.push(Alarm {
            address: "cloudwatch_alarm.dlq_depth".into(),
            name: n.name("dlq-depth"),
            description: format!("secauto {stack}: events are waiting in the dead-letter queue"),
            namespace: "AWS/SQS",
            metric: "ApproximateNumberOfMessagesVisible",
            dimensions: vec![("QueueName", n.name("dlq"))],
            statistic: "Maximum",
            threshold: m.dlq_depth_threshold,
            watches: notifications::QUEUE.into(),
        });
        for a in alarms {
            b.check("CloudWatch alarm", &a.name, 255);
            let dimensions: BTreeMap<String, String> = a
                .dimensions
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            b.add(
                a.address,
                Spec::CloudwatchAlarm(r::cloudwatch_alarm::Spec {
                    arn: n.arn("cloudwatch", &format!("alarm:{}", a.name)),
                    name: a.name,
                    description: a.description,
                    namespace: a.namespace.into(),
                    metric_name: a.metric.into(),
                    dimensions,
                    statistic: a.statistic.into(),
                    period: m.alarm_period_seconds,
                    evaluation_periods: 1,
                    threshold: a.threshold,
                    comparison_operator: "GreaterThanOrEqualToThreshold".into(),
                    treat_missing_data: "notBreaching".into(),
                    alarm_actions: vec![n.topic_arn()],
                }),
                &[notifications::TOPIC, a.watches.as_str()],
            );
        }
    }
    if m.dashboard {
        let name = n.dashboard();
        b.check("CloudWatch dashboard", &name, 255);
        b.add(
            "cloudwatch_dashboard.main",
            Spec::CloudwatchDashboard(r::cloudwatch_dashboard::Spec {
                arn: n.global_arn("cloudwatch", &format!("dashboard/{name}")),
                name,
                body: dashboard(n, &s.rules),
            }),
            &[],
        );
    }
}

fn dashboard(n: &Names, rules: &[&str]) -> Value {
    let region = n.region.as_str();
    let dlq_name = n.name("dlq");
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
                .map(move |m| match n.rule_bus(k) {
                    Some(bus) => {
                        json!(["AWS/Events", m, "EventBusName", bus, "RuleName", n.rule(k)])
                    }
                    None => json!(["AWS/Events", m, "RuleName", n.rule(k)]),
                })
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
