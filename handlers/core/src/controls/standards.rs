//! Standard-specific control ids, as findings carry them when consolidated control findings is off
//! (and always in the AWS GovCloud (US) and China Regions), mapped to security control ids. AWS
//! documents the mapping in "How consolidation impacts control IDs and titles" and "Generator IDs
//! before and after turning on consolidated control findings" (Security Hub user guide):
//!
//! - AWS Foundational Security Best Practices, NIST SP 800-53 and 800-171, PCI DSS v4, the AWS
//!   Resource Tagging Standard: the standard's control id is the security control id (FSBP
//!   `ELBv2.1` is now `ELB.1`);
//! - the AWS Control Tower service-managed standard: `CT.` + the security control id;
//! - PCI DSS v3.2.1: `PCI.<Service>.<n>`, numbered on their own ([`PCI_321`]);
//! - CIS AWS Foundations Benchmark v1.2.0 (`ProductFields.RuleId`) and v1.4.0: the benchmark's
//!   requirement numbers ([`CIS_120`], [`CIS_140`]). Later versions (v3.0.0, v5.0.0) came with
//!   consolidation: their findings carry `Compliance.SecurityControlId` and a remediation URL
//!   naming the security control, which [`super::of`] reads instead.
//!
//! A requirement that maps to two security controls (CIS v1.2.0 1.1: CloudWatch.1 and IAM.20) is
//! left out: such a finding names its control elsewhere (its remediation URL).

use super::ids;

/// PCI DSS v3.2.1 control ids and the security control each is.
pub const PCI_321: &[(&str, &str)] = &[
    ("PCI.AutoScaling.1", "AutoScaling.1"),
    ("PCI.CloudTrail.1", "CloudTrail.2"),
    ("PCI.CloudTrail.2", "CloudTrail.3"),
    ("PCI.CloudTrail.3", "CloudTrail.4"),
    ("PCI.CloudTrail.4", "CloudTrail.5"),
    ("PCI.CodeBuild.1", "CodeBuild.1"),
    ("PCI.CodeBuild.2", "CodeBuild.2"),
    ("PCI.Config.1", "Config.1"),
    ("PCI.CW.1", "CloudWatch.1"),
    ("PCI.DMS.1", "DMS.1"),
    ("PCI.EC2.1", "EC2.1"),
    ("PCI.EC2.2", "EC2.2"),
    ("PCI.EC2.4", "EC2.12"),
    ("PCI.EC2.5", "EC2.13"),
    ("PCI.EC2.6", "EC2.6"),
    ("PCI.ELBv2.1", "ELB.1"),
    ("PCI.ES.1", "ES.2"),
    ("PCI.ES.2", "ES.1"),
    ("PCI.GuardDuty.1", "GuardDuty.1"),
    ("PCI.IAM.1", "IAM.4"),
    ("PCI.IAM.2", "IAM.2"),
    ("PCI.IAM.3", "IAM.1"),
    ("PCI.IAM.4", "IAM.6"),
    ("PCI.IAM.5", "IAM.9"),
    ("PCI.IAM.6", "IAM.19"),
    ("PCI.IAM.7", "IAM.8"),
    ("PCI.IAM.8", "IAM.10"),
    ("PCI.KMS.1", "KMS.4"),
    ("PCI.Lambda.1", "Lambda.1"),
    ("PCI.Lambda.2", "Lambda.3"),
    ("PCI.Opensearch.1", "Opensearch.2"),
    ("PCI.Opensearch.2", "Opensearch.1"),
    ("PCI.RDS.1", "RDS.1"),
    ("PCI.RDS.2", "RDS.2"),
    ("PCI.Redshift.1", "Redshift.1"),
    ("PCI.S3.1", "S3.3"),
    ("PCI.S3.2", "S3.2"),
    ("PCI.S3.3", "S3.7"),
    ("PCI.S3.4", "S3.4"),
    ("PCI.S3.5", "S3.5"),
    ("PCI.S3.6", "S3.1"),
    ("PCI.SageMaker.1", "SageMaker.1"),
    ("PCI.SSM.1", "SSM.2"),
    ("PCI.SSM.2", "SSM.3"),
    ("PCI.SSM.3", "SSM.1"),
];

/// CIS AWS Foundations Benchmark v1.2.0 rule ids (`ProductFields.RuleId`).
pub const CIS_120: &[(&str, &str)] = &[
    ("1.2", "IAM.5"),
    ("1.3", "IAM.8"),
    ("1.4", "IAM.3"),
    ("1.5", "IAM.11"),
    ("1.6", "IAM.12"),
    ("1.7", "IAM.13"),
    ("1.8", "IAM.14"),
    ("1.9", "IAM.15"),
    ("1.10", "IAM.16"),
    ("1.11", "IAM.17"),
    ("1.12", "IAM.4"),
    ("1.13", "IAM.9"),
    ("1.14", "IAM.6"),
    ("1.16", "IAM.2"),
    ("1.20", "IAM.18"),
    ("1.22", "IAM.1"),
    ("2.1", "CloudTrail.1"),
    ("2.2", "CloudTrail.4"),
    ("2.3", "CloudTrail.6"),
    ("2.4", "CloudTrail.5"),
    ("2.5", "Config.1"),
    ("2.6", "CloudTrail.7"),
    ("2.7", "CloudTrail.2"),
    ("2.8", "KMS.4"),
    ("2.9", "EC2.6"),
    ("3.1", "CloudWatch.2"),
    ("3.2", "CloudWatch.3"),
    ("3.3", "CloudWatch.1"),
    ("3.4", "CloudWatch.4"),
    ("3.5", "CloudWatch.5"),
    ("3.6", "CloudWatch.6"),
    ("3.7", "CloudWatch.7"),
    ("3.8", "CloudWatch.8"),
    ("3.9", "CloudWatch.9"),
    ("3.10", "CloudWatch.10"),
    ("3.11", "CloudWatch.11"),
    ("3.12", "CloudWatch.12"),
    ("3.13", "CloudWatch.13"),
    ("3.14", "CloudWatch.14"),
    ("4.1", "EC2.13"),
    ("4.2", "EC2.14"),
    ("4.3", "EC2.2"),
];

/// CIS AWS Foundations Benchmark v1.4.0 requirement numbers (`ProductFields.ControlId`).
pub const CIS_140: &[(&str, &str)] = &[
    ("1.4", "IAM.4"),
    ("1.5", "IAM.9"),
    ("1.6", "IAM.6"),
    ("1.7", "CloudWatch.1"),
    ("1.8", "IAM.15"),
    ("1.9", "IAM.16"),
    ("1.10", "IAM.5"),
    ("1.12", "IAM.22"),
    ("1.14", "IAM.3"),
    ("1.16", "IAM.1"),
    ("1.17", "IAM.18"),
    ("2.1.1", "S3.4"),
    ("2.1.2", "S3.5"),
    ("2.1.5.1", "S3.1"),
    ("2.1.5.2", "S3.8"),
    ("2.2.1", "EC2.7"),
    ("2.3.1", "RDS.3"),
    ("3.1", "CloudTrail.1"),
    ("3.2", "CloudTrail.4"),
    ("3.4", "CloudTrail.5"),
    ("3.5", "Config.1"),
    ("3.6", "S3.9"),
    ("3.7", "CloudTrail.2"),
    ("3.8", "KMS.4"),
    ("3.9", "EC2.6"),
    ("4.3", "CloudWatch.1"),
    ("4.4", "CloudWatch.4"),
    ("4.5", "CloudWatch.5"),
    ("4.6", "CloudWatch.6"),
    ("4.7", "CloudWatch.7"),
    ("4.8", "CloudWatch.8"),
    ("4.9", "CloudWatch.9"),
    ("4.10", "CloudWatch.10"),
    ("4.11", "CloudWatch.11"),
    ("4.12", "CloudWatch.12"),
    ("4.13", "CloudWatch.13"),
    ("4.14", "CloudWatch.14"),
    ("5.1", "EC2.21"),
    ("5.3", "EC2.2"),
];

fn lookup(table: &[(&str, &str)], id: &str) -> Option<String> {
    table
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(id))
        .map(|(_, v)| v.to_string())
}

/// A requirement number (`4.3`, `2.1.5.2`) with its zeros and spaces normalised.
fn number(raw: &str) -> Option<String> {
    let parts: Vec<u32> = raw
        .trim()
        .split('.')
        .map(|p| p.trim().parse().ok())
        .collect::<Option<_>>()?;
    Some(
        parts
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// The security control of a PCI DSS v3.2.1 id (`PCI.EC2.5` → `EC2.13`).
pub fn pci(id: &str) -> Option<String> {
    lookup(PCI_321, &id.split_whitespace().collect::<String>())
}

/// The security control of a CIS requirement of version `version` (`1.2.0`, `1.4.0`).
pub fn cis(version: &str, requirement: &str) -> Option<String> {
    let n = number(requirement)?;
    match version.trim().trim_start_matches(['v', 'V']) {
        "1.2.0" | "1.2" => lookup(CIS_120, &n),
        "1.4.0" | "1.4" => lookup(CIS_140, &n),
        _ => None,
    }
}

/// The security control an id names, read as a bare id: a security control id, a PCI DSS v3.2.1
/// id, or a Control Tower one (`CT.` + the security control id).
pub fn bare(raw: &str) -> Option<String> {
    let s = raw.trim();
    if let Some(rest) = strip_prefix_ci(s, "PCI.") {
        return pci(&format!("PCI.{rest}"));
    }
    if let Some(rest) = strip_prefix_ci(s, "CT.") {
        return ids::canonical(rest);
    }
    ids::canonical(s)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The security control of `id` in the standard `name` (`aws-foundational-security-best-practices`,
/// `cis-aws-foundations-benchmark`, `pci-dss`, …) at `version` (`1.0.0`, `1.2.0`, …).
pub fn in_standard(name: &str, version: &str, id: &str) -> Option<String> {
    let name = name.trim().to_ascii_lowercase();
    if name.contains("cis-aws-foundations-benchmark") {
        return cis(version, id).or_else(|| ids::canonical(id));
    }
    bare(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_name_known_security_controls_only() {
        for (k, v) in PCI_321.iter().chain(CIS_120).chain(CIS_140) {
            assert_eq!(ids::canonical(v).as_deref(), Some(*v), "{k} → {v}");
            let (svc, _) = ids::parts(v).unwrap();
            assert!(ids::service(svc).is_some(), "{k} → {v}");
        }
    }

    #[test]
    fn standard_ids_map_to_security_controls() {
        assert_eq!(pci("pci.ec2.5").as_deref(), Some("EC2.13"));
        assert_eq!(bare("CT.S3.1").as_deref(), Some("S3.1"));
        assert_eq!(bare("ct.elbv2.1").as_deref(), Some("ELB.1"));
        assert_eq!(cis("1.2.0", "4.3").as_deref(), Some("EC2.2"));
        assert_eq!(cis("v1.4.0", "2.1.05.2").as_deref(), Some("S3.8"));
        assert_eq!(cis("1.2.0", "1.1"), None, "two controls: not guessed");
        assert_eq!(cis("3.0.0", "2.1.4"), None);
        let afsbp = "aws-foundational-security-best-practices";
        assert_eq!(
            in_standard(afsbp, "1.0.0", "ELBv2.1").as_deref(),
            Some("ELB.1")
        );
        assert_eq!(
            in_standard("nist-800-53", "5.0.0", "s3.8").as_deref(),
            Some("S3.8")
        );
        assert_eq!(
            in_standard("pci-dss", "4.0.1", "S3.8").as_deref(),
            Some("S3.8")
        );
        assert_eq!(
            in_standard("pci-dss", "3.2.1", "PCI.S3.1").as_deref(),
            Some("S3.3")
        );
    }
}
