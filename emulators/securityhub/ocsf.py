"""ASFF → OCSF: the OCSF twin Security Hub (V2) shows of a CSPM finding, and OCSF field helpers. The twin
of a GuardDuty finding has GuardDuty's own types and an EC2 instance's id in `uid` (its ARN in `uid_alt`),
as today's Security Hub shows them, not the ASFF copy's forms."""

import re
import uuid
from datetime import datetime, timezone
from pathlib import Path

SEVERITY = {"INFORMATIONAL": (1, "Informational"), "LOW": (2, "Low"), "MEDIUM": (3, "Medium"),
            "HIGH": (4, "High"), "CRITICAL": (5, "Critical")}
SEVERITY_NAMES = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical",
                  6: "Fatal", 99: "Other"}
STATUS_NAMES = {0: "Unknown", 1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved", 5: "Archived",
                6: "Deleted", 99: "Other"}
WORKFLOW_STATUS = {"NEW": 1, "NOTIFIED": 2, "SUPPRESSED": 3, "RESOLVED": 4}
COMPLIANCE = {"PASSED": (1, "Pass"), "WARNING": (2, "Warning"), "FAILED": (3, "Fail"),
              "NOT_AVAILABLE": (0, "Unknown")}


# ASFF resource Type → OCSF resources.type. Security Hub names OCSF resource types in CloudFormation's
# form ("AWS::EC2::Instance", user guide exposure-findings-supported-resources.html); the pairs are
# those secauto reads back (handlers/core/src/ocsf/resource_types.rs). A type not listed keeps its
# ASFF name: a guess, AWS documents no full mapping.
RESOURCE_TYPES = {
    "AwsEc2Instance": "AWS::EC2::Instance", "AwsEc2SecurityGroup": "AWS::EC2::SecurityGroup",
    "AwsEc2Volume": "AWS::EC2::Volume", "AwsEc2Vpc": "AWS::EC2::VPC", "AwsEc2Subnet": "AWS::EC2::Subnet",
    "AwsEc2NetworkAcl": "AWS::EC2::NetworkAcl", "AwsEc2NetworkInterface": "AWS::EC2::NetworkInterface",
    "AwsEc2Eip": "AWS::EC2::EIP", "AwsEc2LaunchTemplate": "AWS::EC2::LaunchTemplate",
    "AwsEc2TransitGateway": "AWS::EC2::TransitGateway", "AwsEc2VpcEndpointService": "AWS::EC2::VPCEndpointService",
    "AwsEc2VpcPeeringConnection": "AWS::EC2::VPCPeeringConnection",
    "AwsEc2ClientVpnEndpoint": "AWS::EC2::ClientVpnEndpoint", "AwsS3Bucket": "AWS::S3::Bucket",
    "AwsS3AccountPublicAccessBlock": "AWS::S3::AccountPublicAccessBlock", "AwsS3Object": "AWS::S3::Object",
    "AwsIamUser": "AWS::IAM::User", "AwsIamRole": "AWS::IAM::Role", "AwsIamPolicy": "AWS::IAM::Policy",
    "AwsIamGroup": "AWS::IAM::Group", "AwsIamAccessKey": "AWS::IAM::AccessKey", "AwsKmsKey": "AWS::KMS::Key",
    "AwsLambdaFunction": "AWS::Lambda::Function", "AwsRdsDbInstance": "AWS::RDS::DBInstance",
    "AwsRdsDbCluster": "AWS::RDS::DBCluster", "AwsRdsDbSnapshot": "AWS::RDS::DBSnapshot",
    "AwsRdsDbClusterSnapshot": "AWS::RDS::DBClusterSnapshot", "AwsRdsDbSecurityGroup": "AWS::RDS::DBSecurityGroup",
    "AwsRdsEventSubscription": "AWS::RDS::EventSubscription", "AwsCloudTrailTrail": "AWS::CloudTrail::Trail",
    "AwsCloudFrontDistribution": "AWS::CloudFront::Distribution",
    "AwsCloudFormationStack": "AWS::CloudFormation::Stack", "AwsCloudWatchAlarm": "AWS::CloudWatch::Alarm",
    "AwsCodeBuildProject": "AWS::CodeBuild::Project", "AwsDynamoDbTable": "AWS::DynamoDB::Table",
    "AwsEcrRepository": "AWS::ECR::Repository", "AwsEcrContainerImage": "AWS::ECR::ContainerImage",
    "AwsEcsCluster": "AWS::ECS::Cluster", "AwsEcsService": "AWS::ECS::Service",
    "AwsEcsTaskDefinition": "AWS::ECS::TaskDefinition", "AwsEksCluster": "AWS::EKS::Cluster",
    "AwsElbv2LoadBalancer": "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AwsElbLoadBalancer": "AWS::ElasticLoadBalancing::LoadBalancer",
    "AwsElasticsearchDomain": "AWS::Elasticsearch::Domain", "AwsOpenSearchServiceDomain": "AWS::OpenSearch::Domain",
    "AwsAutoScalingAutoScalingGroup": "AWS::AutoScaling::AutoScalingGroup", "AwsLogsLogGroup": "AWS::Logs::LogGroup",
    "AwsSnsTopic": "AWS::SNS::Topic", "AwsSqsQueue": "AWS::SQS::Queue",
    "AwsSecretsManagerSecret": "AWS::SecretsManager::Secret", "AwsSsmPatchCompliance": "AWS::SSM::PatchCompliance",
    "AwsRedshiftCluster": "AWS::Redshift::Cluster", "AwsApiGatewayStage": "AWS::ApiGateway::Stage",
    "AwsApiGatewayV2Stage": "AWS::ApiGatewayV2::Stage", "AwsWafWebAcl": "AWS::WAF::WebACL",
    "AwsWafv2WebAcl": "AWS::WAFv2::WebACL", "AwsAccount": "AWS::::Account",
}
_PRODUCT_ARN = re.compile(r"(arn:[^:]+:securityhub:[^:]*:[^:]*:)product/([^/]+)/([^/]+)")


def product(f, region):
    """metadata.product of the twin: the productv2 ARN of the finding's ProductArn (the form
    OcsfFindingIdentifier.MetadataProductUid takes, arn:…:productv2/<company>/<product>), named by
    the ASFF ProductName and CompanyName, else by the ARN's parts. Renaming product/ to productv2/
    with the rest unchanged (an account's own default product keeps its account) is a guess."""
    m = _PRODUCT_ARN.fullmatch(f.get("ProductArn") or "")
    if not m:
        return {"uid": f"arn:aws:securityhub:{region}::productv2/aws/securityhub", "name": "Security Hub",
                "vendor_name": "AWS"}
    return {"uid": f"{m.group(1)}productv2/{m.group(2)}/{m.group(3)}", "name": f.get("ProductName") or m.group(3),
            "vendor_name": f.get("CompanyName") or m.group(2)}


# GuardDuty finding types and the ASFF Types Security Hub CSPM gives them: the GuardDuty User Guide's
# table, the file secauto reads (handlers/core/src/ocsf/guardduty_types.tsv), so the twin's type and
# secauto's reading of it come from one table. Without the file only the rule below applies.
_GUARDDUTY_TYPES = Path(__file__).resolve().parents[2] / "handlers/core/src/ocsf/guardduty_types.tsv"


def _guardduty_table(path=_GUARDDUTY_TYPES):
    """ASFF type → GuardDuty type, from the table's lines `<GuardDuty type>\t<ASFF type>[\t<ASFF type>]`."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        if line.strip() and not line.startswith("#"):
            gd, *forms = [c.strip() for c in line.split("\t")]
            for form in forms:
                out.setdefault(form, gd)
    return out


_GUARDDUTY = _guardduty_table()


def guardduty_type(asff_type):
    """GuardDuty's own type (ThreatPurpose:ResourceTypeAffected/ThreatFamilyName…) of an ASFF type: the
    documented pair's, else the ASFF type's last part with its first '-' after the ':' read back as '/'
    (`TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce` → `UnauthorizedAccess:EC2/SSHBruteForce`);
    a type of neither shape (already GuardDuty's, or a bare namespace) is kept."""
    if asff_type in _GUARDDUTY:
        return _GUARDDUTY[asff_type]
    last = asff_type.rsplit("/", 1)[-1]
    purpose, sep, rest = last.partition(":")
    if not sep or not purpose or "-" not in rest or "/" not in asff_type:
        return asff_type
    return f"{purpose}:{rest.replace('-', '/', 1)}"


def _types(f, provider):
    """finding_info.types: the provider's ASFF types; for GuardDuty in GuardDuty's own form, as today's
    Security Hub shows GuardDuty findings (a finding with two ASFF forms of one type gives one)."""
    types = provider.get("Types") or f.get("Types", [])
    if not (f.get("ProductArn") or "").endswith("/guardduty"):
        return types
    return list(dict.fromkeys(guardduty_type(t) for t in types))


def _resource(r, region, account):
    """One OCSF resource. An EC2 instance is named as AWS documents OCSF resources: `uid` the instance id,
    `uid_alt` its ARN; any other resource keeps its ASFF Id in `uid`."""
    rid = r.get("Id")
    ids = {"uid": rid}
    if r.get("Type") == "AwsEc2Instance" and str(rid).startswith("arn:") and "/" in rid:
        ids = {"uid": rid.rsplit("/", 1)[-1], "uid_alt": rid}
    return {
        "type": RESOURCE_TYPES.get(r.get("Type"), r.get("Type")),
        **ids,
        "region": r.get("Region", region),
        "cloud_partition": r.get("Partition", "aws"),
        "owner": {"account": {"uid": account}},
        **({"tags": [{"name": k, "value": v} for k, v in r["Tags"].items()]} if r.get("Tags") else {}),
    }


def _ms(iso):
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except (AttributeError, ValueError):
        return int(datetime.now(timezone.utc).timestamp() * 1000)


def twin_uid(asff_id):
    """The OCSF twin's metadata.uid: stable for one ASFF finding id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, asff_id))


def from_asff(f, region):
    """A reasonable OCSF twin: class 2003 (Compliance Finding) for a control finding, else 2004. Types
    and severity are the provider's (FindingProviderFields, which BatchUpdateFindings cannot change)."""
    provider = f.get("FindingProviderFields") or {}
    severity = provider.get("Severity") or f.get("Severity") or {}
    sev_id, sev = SEVERITY.get(severity.get("Label", ""), (0, "Unknown"))
    status_id = WORKFLOW_STATUS.get((f.get("Workflow") or {}).get("Status", "NEW"), 1)
    if f.get("RecordState") == "ARCHIVED":
        status_id = 5
    account = f.get("AwsAccountId")
    control = (f.get("Compliance") or {}).get("SecurityControlId") or (f.get("ProductFields") or {}).get("ControlId")
    is_control = bool(f.get("Compliance"))
    class_uid = 2003 if is_control else 2004
    out = {
        "class_uid": class_uid,
        "class_name": "Compliance Finding" if is_control else "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": class_uid * 100 + 1,
        "time": _ms(f.get("UpdatedAt")),
        "time_dt": f.get("UpdatedAt"),
        "severity_id": sev_id,
        "severity": sev,
        "status_id": status_id,
        "status": STATUS_NAMES[status_id],
        "metadata": {
            "uid": twin_uid(f["Id"]),
            "version": "1.6.0",
            "profiles": ["cloud", "datetime"],
            "product": product(f, region),
        },
        "finding_info": {
            "uid": f["Id"],
            "title": f.get("Title"),
            "desc": f.get("Description"),
            "types": _types(f, provider),
            "created_time_dt": f.get("CreatedAt"),
            "modified_time_dt": f.get("UpdatedAt"),
            "first_seen_time_dt": f.get("FirstObservedAt"),
            "last_seen_time_dt": f.get("LastObservedAt"),
        },
        "cloud": {"provider": "AWS", "region": f.get("Region", region), "account": {"uid": account}},
        "resources": [_resource(r, region, account) for r in f.get("Resources", [])],
        "unmapped": {"GeneratorId": f.get("GeneratorId"), "ProductArn": f.get("ProductArn")},
    }
    if is_control:
        cid, cname = COMPLIANCE.get(f["Compliance"].get("Status", ""), (0, "Unknown"))
        out["compliance"] = {
            "control": control,
            "status_id": cid,
            "status": cname,
            "standards": [s.get("StandardsId") for s in f["Compliance"].get("AssociatedStandards", [])],
        }
    rem = (f.get("Remediation") or {}).get("Recommendation") or {}
    if rem:
        out["remediation"] = {"desc": rem.get("Text"), "references": [rem["Url"]] if rem.get("Url") else []}
    if (f.get("Note") or {}).get("Text"):
        out["comment"] = f["Note"]["Text"]
    return out


def resource_arns(finding):
    """The resources' ARNs, from `uid` or `uid_alt`, whichever holds one."""
    out = []
    for r in finding.get("resources", []):
        arn = next((v for v in (r.get("uid"), r.get("uid_alt")) if str(v or "").startswith("arn:")), None)
        if arn:
            out.append(arn)
    return out
