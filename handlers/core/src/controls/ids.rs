//! Security control ids (`S3.8`, `CloudTrail.2`): their shape, the services Security Hub names in
//! them, and their canonical spelling. One id names one check across every standard.

/// The services of Security Hub's security control ids, spelled as Security Hub spells them.
pub const SERVICES: &[&str] = &[
    "Account",
    "ACM",
    "Amplify",
    "APIGateway",
    "AppConfig",
    "AppFlow",
    "AppRunner",
    "AppSync",
    "Athena",
    "AutoScaling",
    "Backup",
    "Batch",
    "Bedrock",
    "CloudFormation",
    "CloudFront",
    "CloudTrail",
    "CloudWatch",
    "CodeArtifact",
    "CodeBuild",
    "CodeGuruProfiler",
    "CodeGuruReviewer",
    "Cognito",
    "Config",
    "Connect",
    "DataFirehose",
    "DataSync",
    "Detective",
    "DMS",
    "DocumentDB",
    "DynamoDB",
    "EC2",
    "ECR",
    "ECS",
    "EFS",
    "EKS",
    "ElastiCache",
    "ElasticBeanstalk",
    "ELB",
    "EMR",
    "ES",
    "EventBridge",
    "FraudDetector",
    "FSx",
    "GlobalAccelerator",
    "Glue",
    "GuardDuty",
    "IAM",
    "Inspector",
    "IoT",
    "IoTEvents",
    "IoTSiteWise",
    "IoTTwinMaker",
    "IoTWireless",
    "IVS",
    "Keyspaces",
    "Kinesis",
    "KMS",
    "Lambda",
    "Macie",
    "MQ",
    "MSK",
    "Neptune",
    "NetworkFirewall",
    "Opensearch",
    "PCA",
    "RDS",
    "Redshift",
    "RedshiftServerless",
    "Route53",
    "S3",
    "SageMaker",
    "SecretsManager",
    "ServiceCatalog",
    "SES",
    "SNS",
    "SQS",
    "SSM",
    "StepFunctions",
    "Transfer",
    "WAF",
    "WorkSpaces",
];

/// Ids Security Hub spells unlike their service (`Autoscaling.5`, not `AutoScaling.5`).
const SPELLED_OWN_WAY: &[&str] = &["Autoscaling.5"];

/// Ids that were renamed: the standard-specific id an old finding may carry, and the security
/// control id it is now (AWS Foundational Security Best Practices `ELBv2.1` is `ELB.1`).
pub const RENAMED: &[(&str, &str)] = &[("ELBv2.1", "ELB.1")];

/// The parts of a `Service.Number` id, any case, spaces and a surrounding `[ ]` allowed
/// (`[S3.8]` as titles write it); `None` when it has another shape.
pub fn parts(raw: &str) -> Option<(&str, u32)> {
    let s = raw.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s)
        .trim();
    let (service, number) = s.split_once('.')?;
    let (service, number) = (service.trim(), number.trim());
    let mut chars = service.chars();
    let shaped = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric())
        && !number.is_empty()
        && number.len() <= 4
        && number.chars().all(|c| c.is_ascii_digit());
    if !shaped {
        return None;
    }
    Some((service, number.parse().ok()?))
}

/// The service as Security Hub spells it, matched case-insensitively.
pub fn service(name: &str) -> Option<&'static str> {
    SERVICES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(name))
        .copied()
}

/// A security control id in its canonical spelling: `s3.8`, ` S3.08 `, `[S3.8]` → `S3.8`;
/// a renamed one to its present id (`ELBv2.1` → `ELB.1`). An id of the right shape whose service
/// is not in [`SERVICES`] (a service newer than this list) is kept as written, trimmed. `None`
/// when it is not a `Service.Number` id.
pub fn canonical(raw: &str) -> Option<String> {
    let (svc, n) = parts(raw)?;
    let id = match service(svc) {
        Some(known) => format!("{known}.{n}"),
        None => format!("{svc}.{n}"),
    };
    if let Some((_, now)) = RENAMED
        .iter()
        .find(|(old, _)| old.eq_ignore_ascii_case(&id))
    {
        return Some(now.to_string());
    }
    Some(
        SPELLED_OWN_WAY
            .iter()
            .find(|s| s.eq_ignore_ascii_case(&id))
            .map(|s| s.to_string())
            .unwrap_or(id),
    )
}

/// True when `a` and `b` name the same control (security control ids compare case-insensitively).
pub fn same(a: &str, b: &str) -> bool {
    match (canonical(a), canonical(b)) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(&b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_spelling() {
        for (raw, want) in [
            ("S3.8", Some("S3.8")),
            ("s3.8", Some("S3.8")),
            ("  S3 . 08 ", Some("S3.8")),
            ("[S3.8]", Some("S3.8")),
            ("cloudtrail.2", Some("CloudTrail.2")),
            ("AUTOSCALING.5", Some("Autoscaling.5")),
            ("autoscaling.1", Some("AutoScaling.1")),
            ("ELBv2.1", Some("ELB.1")),
            ("NewService.3", Some("NewService.3")),
            ("S3-8", None),
            ("S3.", None),
            (".8", None),
            ("PCI.EC2.2", None),
            ("4.3", None),
            ("S3.8.1", None),
            ("", None),
        ] {
            assert_eq!(canonical(raw).as_deref(), want, "{raw:?}");
        }
        assert!(same("s3.8", "S3.8"));
        assert!(!same("S3.8", "S3.80"));
    }
}
