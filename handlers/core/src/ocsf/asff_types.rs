//! The ASFF `Types` Security Hub CSPM gives a finding whose OCSF copy names it in the provider's own
//! form, so a policy's `type_prefixes` and `type_contains` decide both copies of one finding alike.
//!
//! - **GuardDuty** (`ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact`,
//!   e.g. `UnauthorizedAccess:EC2/SSHBruteForce`): the ASFF type(s) of the GuardDuty User Guide's
//!   table (`guardduty_types.tsv`, e.g. `TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce`).
//!   A type the table lacks (a newer one) gets `<namespace>/<category>/` of its ThreatPurpose
//!   ([`PURPOSES`]: what the table gives most types of that purpose) before
//!   `ThreatPurpose:ResourceType-ThreatFamily…` ('/' replaced by '-'); for a purpose without one
//!   (Policy, UnauthorizedAccess: the table files them under several namespaces) only
//!   `ThreatPurpose:ResourceType-ThreatFamily…`, with no namespace.
//! - **Macie** sensitive data types (`SensitiveData:S3Object/Personal`):
//!   `Sensitive Data Identifications/PII/SensitiveData:S3Object-Personal`; Macie policy types
//!   (`Policy:IAMUser/S3BucketPublic`) only `Policy:IAMUser-S3BucketPublic`, with no namespace
//!   (AWS documents none secauto could find).
//! - **Inspector**: vulnerability findings (class 2002) get
//!   `Software and Configuration Checks/Vulnerabilities/CVE` in [`crate::ocsf`].
//!
//! The provider's own type is always kept too.

const GUARDDUTY: &str = include_str!("guardduty_types.tsv");

/// ThreatPurpose → the `<namespace>/<category>` Security Hub gives most documented GuardDuty types of
/// that purpose, for a type `guardduty_types.tsv` lacks. Policy and UnauthorizedAccess are left out:
/// their documented types are spread over several namespaces (TTPs, Effects, Unusual Behaviors,
/// Software and Configuration Checks).
pub const PURPOSES: &[(&str, &str)] = &[
    ("AttackSequence", "TTPs"),
    ("Backdoor", "TTPs/Command and Control"),
    ("Behavior", "Unusual Behaviors/VM"),
    ("CredentialAccess", "TTPs/Credential Access"),
    ("CryptoCurrency", "TTPs/Command and Control"),
    ("DefenseEvasion", "TTPs/Defense Evasion"),
    ("Discovery", "TTPs/Discovery"),
    ("Execution", "TTPs/Execution"),
    ("Exfiltration", "TTPs/Exfiltration"),
    ("Impact", "TTPs/Impact"),
    ("InitialAccess", "TTPs/Initial Access"),
    ("Object", "TTPs/Object"),
    ("PenTest", "TTPs"),
    ("Persistence", "TTPs/Persistence"),
    ("PrivilegeEscalation", "TTPs/Privilege Escalation"),
    ("Recon", "TTPs/Discovery"),
    ("ResourceConsumption", "Unusual Behaviors/User"),
    ("Stealth", "TTPs/Defense Evasion"),
    ("Trojan", "TTPs/Command and Control"),
];

/// The documented (GuardDuty type, ASFF types) pairs of `guardduty_types.tsv`.
pub fn guardduty_table() -> impl Iterator<Item = (&'static str, Vec<&'static str>)> {
    GUARDDUTY
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut cells = l.split('\t').map(str::trim);
            let gd = cells.next()?;
            Some((gd, cells.filter(|c| !c.is_empty()).collect()))
        })
}

/// `ThreatPurpose:ResourceType-ThreatFamily…`: a provider type with its '/' replaced by '-', when it
/// has the `Purpose:Resource/…` shape.
fn classifier(t: &str) -> Option<(&str, String)> {
    let (purpose, rest) = t.split_once(':')?;
    let valid = !purpose.is_empty() && !purpose.contains(['/', ' ']) && rest.contains('/');
    valid.then(|| (purpose, format!("{purpose}:{}", rest.replace('/', "-"))))
}

/// The ASFF types of one GuardDuty finding type (see the module doc); empty for a type not in
/// GuardDuty's form (already ASFF, say).
pub fn guardduty(t: &str) -> Vec<String> {
    if let Some((_, asff)) = guardduty_table().find(|(gd, _)| *gd == t) {
        return asff.into_iter().map(str::to_string).collect();
    }
    let Some((purpose, classifier)) = classifier(t) else {
        return vec![];
    };
    match PURPOSES.iter().find(|(p, _)| *p == purpose) {
        Some((_, namespace)) => vec![format!("{namespace}/{classifier}")],
        None => vec![classifier],
    }
}

/// The ASFF types of one Macie finding type (see the module doc).
pub fn macie(t: &str) -> Vec<String> {
    match classifier(t) {
        Some(("SensitiveData", c)) => vec![format!("Sensitive Data Identifications/PII/{c}")],
        Some((_, c)) => vec![c],
        None => vec![],
    }
}

/// The types of an OCSF finding of `product` (the productv2 ARN's product part, `guardduty`):
/// `types` as given, each followed by the ASFF types Security Hub CSPM gives it (no duplicates).
pub fn with_asff(product: &str, types: Vec<String>) -> Vec<String> {
    let convert: fn(&str) -> Vec<String> = match product {
        "guardduty" => guardduty,
        "macie" => macie,
        _ => return types,
    };
    let mut out: Vec<String> = Vec::with_capacity(types.len() * 2);
    for t in types {
        let extra = convert(&t);
        for x in std::iter::once(t).chain(extra) {
            if !out.contains(&x) {
                out.push(x);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_whole() {
        let rows: Vec<_> = guardduty_table().collect();
        assert!(rows.len() >= 200, "{}", rows.len());
        for (gd, asff) in &rows {
            assert!(classifier(gd).is_some(), "{gd}");
            assert!(!asff.is_empty() && asff.len() <= 2, "{gd}");
            // Every documented ASFF form ends in the type's family (the part after '/').
            let family = gd.split_once('/').unwrap().1;
            let tail = family.rsplit(['.', '!']).next().unwrap();
            for a in asff {
                assert!(a.contains('/'), "{gd}: {a}");
                assert!(a.contains(tail) || a.contains("Unusual-"), "{gd}: {a}");
            }
        }
        let mut names: Vec<_> = rows.iter().map(|(gd, _)| *gd).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), rows.len(), "a type listed twice");
    }

    #[test]
    fn documented_derived_and_unknown_forms() {
        assert_eq!(
            guardduty("UnauthorizedAccess:EC2/SSHBruteForce"),
            ["TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce"]
        );
        assert_eq!(
            guardduty("CryptoCurrency:Lambda/BitcoinTool.B").len(),
            2,
            "both documented forms"
        );
        // Not in the table: the purpose's namespace and category, else none.
        assert_eq!(
            guardduty("Backdoor:ECS/C&CActivity.Z!DNS"),
            ["TTPs/Command and Control/Backdoor:ECS-C&CActivity.Z!DNS"]
        );
        assert_eq!(
            guardduty("UnauthorizedAccess:EKS/Something.New"),
            ["UnauthorizedAccess:EKS-Something.New"]
        );
        assert!(guardduty("TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce").is_empty());
        assert!(guardduty("Software and Configuration Checks").is_empty());
        assert_eq!(
            macie("SensitiveData:S3Object/Personal"),
            ["Sensitive Data Identifications/PII/SensitiveData:S3Object-Personal"]
        );
        assert_eq!(
            macie("Policy:IAMUser/S3BucketPublic"),
            ["Policy:IAMUser-S3BucketPublic"]
        );
        let both = with_asff(
            "guardduty",
            vec![
                "Trojan:EC2/DropPoint".into(),
                "Effects/Data Exfiltration/Trojan:EC2-DropPoint".into(),
            ],
        );
        assert_eq!(
            both,
            [
                "Trojan:EC2/DropPoint",
                "Effects/Data Exfiltration/Trojan:EC2-DropPoint"
            ]
        );
        assert_eq!(with_asff("inspector", vec!["x:y/z".into()]), ["x:y/z"]);
    }
}
