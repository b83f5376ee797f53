//! The tests' record of what secauto asked the emulators: every service is seen (CloudWatch on
//! ministack as well as moto's), and every request is named as the IAM action it needs.

mod common;

use common::{config, is_mutating, rest_operation, rt, Emulators, Project, Request};

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Request {
    Request::new(
        method,
        path,
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body.as_bytes().to_vec(),
    )
}

fn signed(service: &str) -> (&'static str, String) {
    (
        "Authorization",
        format!("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"),
    )
}

#[test]
fn every_protocol_is_named_as_its_iam_action() {
    let cases = [
        (
            request(
                "POST",
                "/service/GraniteServiceVersion20100801/operation/PutMetricAlarm",
                &[("smithy-protocol", "rpc-v2-cbor")],
                "",
            ),
            "monitoring",
            "cloudwatch:PutMetricAlarm",
        ),
        (
            request(
                "POST",
                "/",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                "Action=DeleteAlarms&Version=2010-08-01",
            ),
            "monitoring",
            "cloudwatch:DeleteAlarms",
        ),
        (
            request(
                "POST",
                "/",
                &[("X-Amz-Target", "AmazonSSM.DescribeDocument")],
                "{}",
            ),
            "ssm",
            "ssm:DescribeDocument",
        ),
        (
            request(
                "POST",
                "/",
                &[(
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )],
                "Action=DetachUserPolicy&UserName=u",
            ),
            "iam",
            "iam:DetachUserPolicy",
        ),
        (
            request(
                "PUT",
                "/2015-03-31/functions/s-triage/configuration",
                &[],
                "{}",
            ),
            "lambda",
            "lambda:UpdateFunctionConfiguration",
        ),
        (
            request(
                "POST",
                "/2015-03-31/functions/s-triage/invocations",
                &[],
                "{}",
            ),
            "lambda",
            "lambda:InvokeFunction",
        ),
        (
            request(
                "GET",
                "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ax",
                &[],
                "",
            ),
            "lambda",
            "lambda:ListTags",
        ),
        (
            request("POST", "/actionTargets/get", &[], "{}"),
            "securityhub",
            "securityhub:DescribeActionTargets",
        ),
        (
            request("HEAD", "/state-bucket/secauto/s/us-east-1.json", &[], ""),
            "s3",
            "s3:GetObject",
        ),
    ];
    for (mut r, service, action) in cases {
        let (k, v) = signed(service);
        r.0.headers.push((k.into(), v));
        assert_eq!(r.iam_action().as_deref(), Ok(action), "{r:?}");
    }
    // What cannot be named fails, rather than passing unseen.
    let mut odd = request("GET", "/2099-01-01/whatever", &[], "");
    let (k, v) = signed("lambda");
    odd.0.headers.push((k.into(), v));
    assert!(odd.iam_action().is_err());
    assert_eq!(
        rest_operation("lambda", "DELETE", "/2015-03-31/functions/f/policy/sid"),
        Some("RemovePermission".into())
    );
    assert!(!is_mutating("POST /actionTargets/get"));
    assert!(!is_mutating("cloudwatch:DescribeAlarms"));
    assert!(is_mutating("cloudwatch:PutMetricAlarm"));
    assert!(is_mutating("PUT /2015-03-31/functions/f/configuration"));
}

fn mutating(emu: &Emulators) -> Vec<String> {
    emu.actions()
        .into_iter()
        .filter(|a| is_mutating(a))
        .collect()
}

#[test]
fn a_no_op_deploy_is_seen_to_write_nothing_in_any_service_and_a_repair_is_seen() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("rec", ""));
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);

    emu.record();
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    let actions = emu.actions();
    assert!(
        actions.iter().any(|a| a == "cloudwatch:DescribeAlarms"),
        "CloudWatch's reads are seen: {actions:?}"
    );
    let none = mutating(&emu);
    assert!(none.is_empty(), "a no-op deploy wrote: {none:?}");

    // The positive control: an alarm deleted out of band is put back, and that write is seen.
    rt().block_on(async {
        let cw = emu.clients().cloudwatch;
        let alarms = cw
            .describe_alarms()
            .alarm_name_prefix("rec-")
            .send()
            .await
            .unwrap();
        let name = alarms.metric_alarms()[0].alarm_name().unwrap().to_string();
        cw.delete_alarms().alarm_names(name).send().await.unwrap();
    });
    emu.record();
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    let repair = mutating(&emu);
    assert!(
        repair.contains(&"cloudwatch:PutMetricAlarm".to_string())
            && repair.iter().all(|a| a.starts_with("cloudwatch:")),
        "{repair:?}"
    );
    assert_eq!(p.run(&["destroy", "--yes", "--no-progress"]).code, 0);
}
