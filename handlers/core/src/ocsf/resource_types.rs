//! OCSF resource types and the ASFF resource `Type` names the triage policy matches: one table.

/// OCSF resource types (CloudFormation names) and the ASFF resource `Type` the policy matches.
/// Types not listed are converted by rule (`AWS::Svc::Thing` → `AwsSvcThing`, see
/// [`asff_resource_type`]); this table holds the common ones and those the rule gets wrong.
pub const RESOURCE_TYPES: &[(&str, &str)] = &[
    ("AWS::EC2::Instance", "AwsEc2Instance"),
    ("AWS::EC2::SecurityGroup", "AwsEc2SecurityGroup"),
    ("AWS::EC2::Volume", "AwsEc2Volume"),
    ("AWS::EC2::VPC", "AwsEc2Vpc"),
    ("AWS::EC2::Subnet", "AwsEc2Subnet"),
    ("AWS::EC2::NetworkAcl", "AwsEc2NetworkAcl"),
    ("AWS::EC2::NetworkInterface", "AwsEc2NetworkInterface"),
    ("AWS::EC2::EIP", "AwsEc2Eip"),
    ("AWS::EC2::LaunchTemplate", "AwsEc2LaunchTemplate"),
    ("AWS::EC2::TransitGateway", "AwsEc2TransitGateway"),
    ("AWS::EC2::VPCEndpointService", "AwsEc2VpcEndpointService"),
    (
        "AWS::EC2::VPCPeeringConnection",
        "AwsEc2VpcPeeringConnection",
    ),
    ("AWS::EC2::ClientVpnEndpoint", "AwsEc2ClientVpnEndpoint"),
    ("AWS::S3::Bucket", "AwsS3Bucket"),
    (
        "AWS::S3::AccountPublicAccessBlock",
        "AwsS3AccountPublicAccessBlock",
    ),
    ("AWS::S3::Object", "AwsS3Object"),
    ("AWS::IAM::User", "AwsIamUser"),
    ("AWS::IAM::Role", "AwsIamRole"),
    ("AWS::IAM::Policy", "AwsIamPolicy"),
    ("AWS::IAM::Group", "AwsIamGroup"),
    ("AWS::IAM::AccessKey", "AwsIamAccessKey"),
    ("AWS::KMS::Key", "AwsKmsKey"),
    ("AWS::Lambda::Function", "AwsLambdaFunction"),
    ("AWS::RDS::DBInstance", "AwsRdsDbInstance"),
    ("AWS::RDS::DBCluster", "AwsRdsDbCluster"),
    ("AWS::RDS::DBSnapshot", "AwsRdsDbSnapshot"),
    ("AWS::RDS::DBClusterSnapshot", "AwsRdsDbClusterSnapshot"),
    ("AWS::RDS::DBSecurityGroup", "AwsRdsDbSecurityGroup"),
    ("AWS::RDS::EventSubscription", "AwsRdsEventSubscription"),
    ("AWS::CloudTrail::Trail", "AwsCloudTrailTrail"),
    ("AWS::CloudFront::Distribution", "AwsCloudFrontDistribution"),
    ("AWS::CloudFormation::Stack", "AwsCloudFormationStack"),
    ("AWS::CloudWatch::Alarm", "AwsCloudWatchAlarm"),
    ("AWS::CodeBuild::Project", "AwsCodeBuildProject"),
    ("AWS::DynamoDB::Table", "AwsDynamoDbTable"),
    ("AWS::ECR::Repository", "AwsEcrRepository"),
    ("AWS::ECR::ContainerImage", "AwsEcrContainerImage"),
    ("AWS::ECS::Cluster", "AwsEcsCluster"),
    ("AWS::ECS::Service", "AwsEcsService"),
    ("AWS::ECS::TaskDefinition", "AwsEcsTaskDefinition"),
    ("AWS::EKS::Cluster", "AwsEksCluster"),
    (
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AwsElbv2LoadBalancer",
    ),
    (
        "AWS::ElasticLoadBalancing::LoadBalancer",
        "AwsElbLoadBalancer",
    ),
    ("AWS::Elasticsearch::Domain", "AwsElasticsearchDomain"),
    ("AWS::OpenSearch::Domain", "AwsOpenSearchServiceDomain"),
    (
        "AWS::AutoScaling::AutoScalingGroup",
        "AwsAutoScalingAutoScalingGroup",
    ),
    ("AWS::Logs::LogGroup", "AwsLogsLogGroup"),
    ("AWS::SNS::Topic", "AwsSnsTopic"),
    ("AWS::SQS::Queue", "AwsSqsQueue"),
    ("AWS::SecretsManager::Secret", "AwsSecretsManagerSecret"),
    ("AWS::SSM::PatchCompliance", "AwsSsmPatchCompliance"),
    ("AWS::Redshift::Cluster", "AwsRedshiftCluster"),
    ("AWS::ApiGateway::Stage", "AwsApiGatewayStage"),
    ("AWS::ApiGatewayV2::Stage", "AwsApiGatewayV2Stage"),
    ("AWS::WAF::WebACL", "AwsWafWebAcl"),
    ("AWS::WAFv2::WebACL", "AwsWafv2WebAcl"),
    ("AWS::Account", "AwsAccount"),
    ("AWS::::Account", "AwsAccount"),
];

/// The ASFF resource `Type` of an OCSF resource `type`: from [`RESOURCE_TYPES`] (case-insensitive),
/// else `AWS::Svc::Thing` → `Aws` + `Svc` with only its first letter upper-case + `Thing`
/// (`AWS::Glue::Job` → `AwsGlueJob`); any other value (already an ASFF name such as `AwsEc2Instance`,
/// or `Other`) is kept.
pub fn asff_resource_type(ocsf: &str) -> String {
    let t = ocsf.trim();
    if let Some((_, asff)) = RESOURCE_TYPES
        .iter()
        .find(|(o, _)| o.eq_ignore_ascii_case(t))
    {
        return asff.to_string();
    }
    let parts: Vec<&str> = t.split("::").collect();
    match parts.as_slice() {
        [aws, svc, thing] if aws.eq_ignore_ascii_case("aws") && !svc.is_empty() => {
            let mut chars = svc.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            let rest: String = chars.as_str().to_ascii_lowercase();
            format!("Aws{}{rest}{thing}", first.unwrap_or_default())
        }
        _ => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types() {
        assert_eq!(asff_resource_type("AWS::EC2::Instance"), "AwsEc2Instance");
        assert_eq!(asff_resource_type("aws::s3::bucket"), "AwsS3Bucket");
        assert_eq!(
            asff_resource_type("AWS::RDS::DBInstance"),
            "AwsRdsDbInstance"
        );
        assert_eq!(asff_resource_type("AWS::Glue::Job"), "AwsGlueJob");
        assert_eq!(asff_resource_type("AwsEc2Instance"), "AwsEc2Instance");
        assert_eq!(asff_resource_type("Other"), "Other");
    }
}
