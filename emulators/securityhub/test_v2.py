"""Security Hub V2 (OCSF): hub, findings, BatchUpdateFindingsV2, automation rules V2, the OCSF import."""

import unittest

from harness import ACCOUNT, REGION, asff, ocsf_finding, servers
from test_cspm import Base


def by(field, value, comparison="EQUALS"):
    return {"CompositeFilters": [{"StringFilters": [
        {"FieldName": field, "Filter": {"Value": value, "Comparison": comparison}}]}]}


class HubV2(Base):
    def test_enable_describe_disable(self):
        self.assertError("ResourceNotFoundException", 404, self.sh.describe_security_hub_v2)
        self.assertError("AccessDeniedException", 403, self.sh.get_findings_v2)
        arn = self.sh.enable_security_hub_v2(Tags={"a": "b"})["HubV2Arn"]
        self.assertEqual(arn, f"arn:aws:securityhub:{REGION}:{ACCOUNT}:hubv2/default")
        self.assertEqual(self.sh.describe_security_hub_v2()["HubV2Arn"], arn)
        self.assertEqual(self.sh.list_tags_for_resource(ResourceArn=arn)["Tags"], {"a": "b"})
        self.sh.disable_security_hub_v2()
        self.assertError("ResourceNotFoundException", 404, self.sh.describe_security_hub_v2)

    def test_import_needs_v2(self):
        status, body = self.srv.call("POST", "/_emulator/ocsf/import", {"Findings": [ocsf_finding()]})
        self.assertEqual((status, body["Code"]), (403, "AccessDeniedException"))


class FindingsV2(Base):
    def setUp(self):
        super().setUp()
        self.sh.enable_security_hub_v2()

    def imp(self, *findings):
        status, body = self.srv.call("POST", "/_emulator/ocsf/import", {"Findings": list(findings)})
        self.assertEqual(status, 200, body)
        return body

    def uids(self, filters=None, **kw):
        got = self.sh.get_findings_v2(**({"Filters": filters} if filters else {}), **kw)["Findings"]
        return sorted(f["metadata"]["uid"] for f in got)

    def test_import_and_filters(self):
        out = self.imp(ocsf_finding("u1"), ocsf_finding("u2", account="222222222222", status_id=4),
                       {"metadata": {"uid": "incomplete"}})
        self.assertEqual((out["SuccessCount"], out["FailedCount"]), (2, 1))
        self.assertEqual(self.uids(by("metadata.uid", "u1")), ["u1"])
        self.assertEqual(self.uids(by("finding_info.uid", "gd-u2")), ["u2"])
        self.assertEqual(self.uids(by("cloud.account.uid", ACCOUNT)), ["u1"])
        self.assertEqual(self.uids(by("resources.uid", "i-", "PREFIX")), ["u1", "u2"])
        # a field AWS does not filter on is refused, as AWS does
        self.assertError("ValidationException", 400, self.raw.get_findings_v2, Filters=by("resources.uid_alt", "a"))
        self.assertEqual(self.uids(by("metadata.uid", "u1", "NOT_EQUALS")), ["u2"])
        new = {"CompositeFilters": [{"NumberFilters": [{"FieldName": "status_id", "Filter": {"Eq": 1}}]}]}
        self.assertEqual(self.uids(new), ["u1"])
        either = {"CompositeFilters": [{"Operator": "OR", "StringFilters": [
            {"FieldName": "metadata.uid", "Filter": {"Value": v, "Comparison": "EQUALS"}} for v in ("u1", "u2")]}]}
        self.assertEqual(self.uids(either), ["u1", "u2"])

    def test_pagination(self):
        self.imp(*[ocsf_finding(f"p{i}") for i in range(5)])
        pages = list(self.sh.get_paginator("get_findings_v2").paginate(PaginationConfig={"PageSize": 2}))
        self.assertEqual([len(p["Findings"]) for p in pages], [2, 2, 1])
        self.assertError("ValidationException", 400, self.raw.get_findings_v2, NextToken="garbage")
        self.assertError("ValidationException", 400, self.raw.get_findings_v2, MaxResults=101)

    def test_filter_limits(self):
        """API_GetFindingsV2.html, Filters: "You can filter up to 10 composite filters. For each filter
        type inside of a composite filter, you can provide up to 20 filters"."""
        one = {"FieldName": "metadata.uid", "Filter": {"Value": "u", "Comparison": "EQUALS"}}
        self.sh.get_findings_v2(Filters={"CompositeFilters": [{"StringFilters": [one] * 20}] * 10})
        number = {"FieldName": "severity_id", "Filter": {"Eq": 1}}
        nested = {"CompositeFilters": [{"NestedCompositeFilters": [{"StringFilters": [one] * 21}]}]}
        for filters in ({"CompositeFilters": [{"StringFilters": [one]}] * 11},
                        {"CompositeFilters": [{"StringFilters": [one] * 21}]},
                        {"CompositeFilters": [{"NumberFilters": [number] * 21}]},
                        nested):
            with self.subTest(filters=str(filters)[:60]):
                self.assertError("ValidationException", 400, self.sh.get_findings_v2, Filters=filters)

    def test_update_by_metadata_uid(self):
        self.imp(ocsf_finding("u1"))
        out = self.sh.batch_update_findings_v2(MetadataUids=["u1", "nope"], Comment="remediated", StatusId=4,
                                               SeverityId=2)
        self.assertEqual(out["ProcessedFindings"], [{"MetadataUid": "u1"}])
        self.assertEqual(out["UnprocessedFindings"][0]["MetadataUid"], "nope")
        self.assertEqual(out["UnprocessedFindings"][0]["ErrorCode"], "ResourceNotFoundException")
        f = self.sh.get_findings_v2(Filters=by("metadata.uid", "u1"))["Findings"][0]
        self.assertEqual((f["comment"], f["status_id"], f["status"], f["severity_id"], f["severity"]),
                         ("remediated", 4, "Resolved", 2, "Low"))

    def test_update_keeps_provider_times(self):
        """BatchUpdateFindingsV2: "Updates from BatchUpdateFindingsV2 don't affect the value of
        finding_info.modified_time, finding_info.modified_time_dt, time, or time_dt for a finding"
        (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchUpdateFindingsV2.html)."""
        times = {"time": 1764753300000, "time_dt": "2025-12-03T09:15:00.000Z"}
        info = {"uid": "gd-u1", "modified_time": 1764753300000, "modified_time_dt": "2025-12-03T09:15:00.000Z"}
        self.imp(ocsf_finding("u1", finding_info=info, **times))
        self.sh.batch_update_findings_v2(MetadataUids=["u1"], StatusId=4, Comment="done")
        f = self.sh.get_findings_v2(Filters=by("metadata.uid", "u1"))["Findings"][0]
        self.assertEqual(f["status_id"], 4)
        self.assertEqual((f["time"], f["time_dt"]), (times["time"], times["time_dt"]))
        self.assertEqual((f["finding_info"]["modified_time"], f["finding_info"]["modified_time_dt"]),
                         (info["modified_time"], info["modified_time_dt"]))

    def test_update_by_finding_identifiers(self):
        self.imp(ocsf_finding("u1"))
        ident = {"CloudAccountUid": ACCOUNT, "FindingInfoUid": "gd-u1",
                 "MetadataProductUid": f"arn:aws:securityhub:{REGION}::productv2/aws/guardduty"}
        wrong = {**ident, "CloudAccountUid": "999999999999"}
        out = self.sh.batch_update_findings_v2(FindingIdentifiers=[ident, wrong], StatusId=2)
        self.assertEqual(out["ProcessedFindings"], [{"FindingIdentifier": ident}])
        self.assertEqual(out["UnprocessedFindings"][0]["FindingIdentifier"], wrong)
        self.assertEqual(self.sh.get_findings_v2()["Findings"][0]["status"], "In Progress")

    def test_update_validation(self):
        ok = {"MetadataUids": ["u1"]}
        cases = [
            dict(Comment="c"),
            dict(MetadataUids=[], Comment="c"),
            dict(MetadataUids=["u"] * 101, Comment="c"),
            dict(ok, Comment="x" * 513),
            dict(ok, Comment=""),
            dict(ok, SeverityId=7),
            dict(ok, StatusId=42),
            dict(ok),
            dict(FindingIdentifiers=[{"CloudAccountUid": ACCOUNT, "FindingInfoUid": "f"}], Comment="c"),
        ]
        for kw in cases:
            with self.subTest(kw=str(kw)[:80]):
                self.assertError("ValidationException", 400, self.raw.batch_update_findings_v2, **kw)

    def test_update_refuses_what_the_reference_refuses(self):
        """API_BatchUpdateFindingsV2.html: "Customers cannot use MetadataUids together with
        FindingIdentifiers"; StatusId "allowed enum values [0, 1, 2, 3, 4, 5, 99]"; SeverityId
        "[0, 1, 2, 3, 4, 5, 6, 99]"; Comment "Minimum character length 1. Maximum character length 512"."""
        self.imp(ocsf_finding("u1"))
        ident = {"CloudAccountUid": ACCOUNT, "FindingInfoUid": "gd-u1",
                 "MetadataProductUid": f"arn:aws:securityhub:{REGION}::productv2/aws/guardduty"}
        refused = [dict(MetadataUids=["u1"], FindingIdentifiers=[ident], StatusId=2),
                   dict(MetadataUids=["u1"], StatusId=6), dict(MetadataUids=["u1"], StatusId=-1),
                   dict(MetadataUids=["u1"], SeverityId=7), dict(MetadataUids=["u1"], Comment="c" * 513)]
        for kw in refused:
            with self.subTest(kw=str(kw)[:80]):
                self.assertError("ValidationException", 400, self.raw.batch_update_findings_v2, **kw)
        self.assertEqual(self.sh.get_findings_v2()["Findings"][0]["status_id"], 1)
        for status in (0, 1, 2, 3, 4, 5, 99):
            self.sh.batch_update_findings_v2(MetadataUids=["u1"], StatusId=status)
        for severity in (0, 1, 2, 3, 4, 5, 6, 99):
            self.sh.batch_update_findings_v2(MetadataUids=["u1"], SeverityId=severity)
        self.sh.batch_update_findings_v2(MetadataUids=["u1"], Comment="c" * 512)
        f = self.sh.get_findings_v2()["Findings"][0]
        self.assertEqual((f["status_id"], f["status"], f["severity_id"], f["severity"], len(f["comment"])),
                         (99, "Other", 99, "Other", 512))

    def test_cspm_control_finding_gets_its_ocsf_twin(self):
        self.sh.enable_security_hub()
        self.sh.batch_import_findings(Findings=[asff("arn:aws:securityhub:us-east-1:123456789012:f/1")])
        twin = self.sh.get_findings_v2(Filters=by("finding_info.uid",
                                                  "arn:aws:securityhub:us-east-1:123456789012:f/1"))["Findings"]
        self.assertEqual(len(twin), 1)
        t = twin[0]
        self.assertEqual((t["class_uid"], t["compliance"]["control"], t["compliance"]["status"], t["status_id"],
                          t["severity_id"], t["cloud"]["account"]["uid"], t["resources"][0]["uid"]),
                         (2003, "S3.8", "Fail", 1, 4, ACCOUNT, "arn:aws:s3:::demo-bucket"))
        self.assertIn("productv2", t["metadata"]["product"]["uid"])


class Twins(Base):
    """The OCSF twin of a CSPM finding, with both hubs on. AWS documents no link between the two hubs'
    workflow state (its API reference documents each hub's update on its own: BatchUpdateFindings for
    ASFF, BatchUpdateFindingsV2 for OCSF), so the twin keeps what BatchUpdateFindingsV2 set on it."""

    ARN = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/S3.8/finding/1"

    def setUp(self):
        super().setUp()
        self.sh.enable_security_hub()
        self.sh.enable_security_hub_v2()

    def twin(self, finding_id=ARN):
        (t,) = self.sh.get_findings_v2(Filters=by("finding_info.uid", finding_id))["Findings"]
        return t

    def v2_events(self):
        return [e for e in self.srv.events() if e["detail-type"] == "Findings Imported V2"]

    def test_v2_status_and_comment_survive_cspm_imports_and_updates(self):
        self.sh.batch_import_findings(Findings=[asff(self.ARN)])
        uid = self.twin()["metadata"]["uid"]
        self.sh.batch_update_findings_v2(MetadataUids=[uid], StatusId=2, Comment="ticket SEC-1", SeverityId=5)
        self.sh.batch_update_findings(FindingIdentifiers=[{"Id": self.ARN, "ProductArn": asff()["ProductArn"]}],
                                      Workflow={"Status": "SUPPRESSED"}, Note={"Text": "cspm", "UpdatedBy": "u"})
        self.sh.batch_import_findings(Findings=[asff(self.ARN, Title="retitled")])
        t = self.twin()
        self.assertEqual((t["status_id"], t["status"], t["comment"], t["severity_id"], t["severity"]),
                         (2, "In Progress", "ticket SEC-1", 5, "Critical"))
        self.assertEqual(t["finding_info"]["title"], "retitled")
        self.assertEqual(t["metadata"]["uid"], uid)

    def test_v2_event_only_on_a_provider_import(self):
        self.sh.batch_import_findings(Findings=[asff(self.ARN)])
        self.assertEqual(len(self.v2_events()), 1)
        self.sh.batch_update_findings(FindingIdentifiers=[{"Id": self.ARN, "ProductArn": asff()["ProductArn"]}],
                                      Workflow={"Status": "NOTIFIED"})
        self.assertEqual(len(self.v2_events()), 1)
        self.assertEqual(self.twin()["status_id"], 1)
        self.sh.batch_import_findings(Findings=[asff(self.ARN)])
        self.assertEqual(len(self.v2_events()), 2)

    def test_twin_has_the_products_identity(self):
        """metadata.product.uid is the productv2 ARN of the ASFF ProductArn (the form
        OcsfFindingIdentifier.MetadataProductUid takes); resources.type in the CloudFormation form the
        Security Hub user guide uses for OCSF resources ("AWS::EC2::Instance",
        exposure-findings-supported-resources.html); types and severity the provider's
        (FindingProviderFields, which Security Hub fills from the top-level fields of a new finding:
        API_FindingProviderFields.html)."""
        product = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
        f = asff("custom-1", ProductArn=product, ProductName="Scanner", CompanyName="Acme",
                 Types=["TTPs/Discovery"], Severity={"Label": "LOW"},
                 Resources=[{"Type": "AwsEc2Instance", "Id": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-1"},
                            {"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::b"}, {"Type": "Other", "Id": "x"}])
        del f["Compliance"]
        self.sh.batch_import_findings(Findings=[f])
        got = self.sh.get_findings()["Findings"][0]
        self.assertEqual(got["FindingProviderFields"], {"Severity": {"Label": "LOW"}, "Types": ["TTPs/Discovery"]})
        # the provider's values, where they differ from the top-level ones
        f.update(Severity={"Label": "CRITICAL"}, Types=["Effects/Data Exposure"])
        self.sh.batch_import_findings(Findings=[f])
        t = self.twin("custom-1")
        self.assertEqual(t["metadata"]["product"],
                         {"uid": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:productv2/{ACCOUNT}/default",
                          "name": "Scanner", "vendor_name": "Acme"})
        self.assertEqual([r["type"] for r in t["resources"]], ["AWS::EC2::Instance", "AWS::S3::Bucket", "Other"])
        self.assertEqual((t["finding_info"]["types"], t["severity_id"], t["class_uid"]),
                         (["TTPs/Discovery"], 2, 2004))
        got = self.sh.get_findings()["Findings"][0]
        self.assertEqual((got["Severity"]["Label"], got["Types"]), ("CRITICAL", ["Effects/Data Exposure"]))
        self.sh.batch_import_findings(Findings=[asff(self.ARN)])
        self.assertEqual(self.twin()["metadata"]["product"]["uid"],
                         f"arn:aws:securityhub:{REGION}::productv2/aws/securityhub")

    def test_guardduty_twin_has_guardduty_types_and_the_instance_id_in_uid(self):
        """The twin of a GuardDuty finding as today's Security Hub shows it: finding_info.types in
        GuardDuty's own form (ThreatPurpose:ResourceTypeAffected/ThreatFamilyName, the pair the GuardDuty
        User Guide documents for the ASFF type, or the ASFF type's last part read back), and an EC2
        instance's id in resources.uid with its ARN in uid_alt; the V2 event still names the ARN."""
        instance = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0abcd1234ef567890"
        cases = [
            (["TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce"], ["UnauthorizedAccess:EC2/SSHBruteForce"]),
            (["TTPs/Discovery/IAMUser-AnomalousBehavior"], ["Discovery:IAMUser/AnomalousBehavior"]),
            (["TTPs/Discovery/Recon:IAMUser-UserPermissions", "Unusual Behaviors/User/Recon:IAMUser-UserPermissions"],
             ["Recon:IAMUser/UserPermissions"]),
            (["TTPs/Command and Control/Backdoor:EC2-NewFamily.X!DNS"], ["Backdoor:EC2/NewFamily.X!DNS"]),
        ]
        for n, (asff_types, gd_types) in enumerate(cases):
            gid = f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/d/finding/{n}"
            f = asff(gid, ProductArn=f"arn:aws:securityhub:{REGION}::product/aws/guardduty", Types=asff_types,
                     Resources=[{"Type": "AwsEc2Instance", "Id": instance}, {"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::b"}])
            del f["Compliance"]
            self.sh.batch_import_findings(Findings=[f])
            t = self.twin(gid)
            self.assertEqual((t["class_uid"], t["finding_info"]["types"]), (2004, gd_types))
            self.assertEqual([(r["type"], r["uid"], r.get("uid_alt")) for r in t["resources"]],
                             [("AWS::EC2::Instance", "i-0abcd1234ef567890", instance),
                              ("AWS::S3::Bucket", "arn:aws:s3:::b", None)])
            (event,) = [e for e in self.v2_events() if e["detail"]["findings"][0]["finding_info"]["uid"] == gid]
            self.assertEqual(event["resources"], [instance, "arn:aws:s3:::b"])
        # Another product's types are kept as given.
        self.sh.batch_import_findings(Findings=[asff(self.ARN, Types=["TTPs/Initial Access/X:EC2-Y"])])
        self.assertEqual(self.twin()["finding_info"]["types"], ["TTPs/Initial Access/X:EC2-Y"])


class GuardDutyTypes(unittest.TestCase):
    def test_every_documented_asff_form_reads_back_to_its_guardduty_type(self):
        """The twin's GuardDuty type is the one secauto's table (read by the Rust core too) pairs with
        the ASFF type: each documented ASFF form names one GuardDuty type."""
        from ocsf import _GUARDDUTY_TYPES, guardduty_type

        rows = [line.split("\t") for line in _GUARDDUTY_TYPES.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
        self.assertGreater(len(rows), 200)
        for gd, *forms in rows:
            for form in forms:
                self.assertEqual(guardduty_type(form), gd, form)


class RulesV2(Base):
    RULE = dict(RuleName="close-low", Description="Resolve low findings", RuleOrder=1.0,
                Criteria={"OcsfFindingCriteria": {"CompositeFilters": [{"NumberFilters": [
                    {"FieldName": "severity_id", "Filter": {"Eq": 2}}]}]}},
                Actions=[{"Type": "FINDING_FIELDS_UPDATE",
                          "FindingFieldsUpdate": {"StatusId": 4, "Comment": "auto"}}])

    def setUp(self):
        super().setUp()
        self.sh.enable_security_hub_v2()

    def test_lifecycle(self):
        out = self.sh.create_automation_rule_v2(Tags={"owner": "secauto"}, ClientToken="tok", **self.RULE)
        arn, rid = out["RuleArn"], out["RuleId"]
        self.assertEqual(arn, f"arn:aws:securityhub:{REGION}:{ACCOUNT}:automation-rulev2/{rid}")
        again = self.sh.create_automation_rule_v2(ClientToken="tok", **self.RULE)
        self.assertEqual(again["RuleArn"], arn)
        got = self.sh.get_automation_rule_v2(Identifier=arn)
        self.assertEqual((got["RuleName"], got["RuleStatus"], got["Actions"]), ("close-low", "ENABLED",
                                                                               self.RULE["Actions"]))
        self.assertEqual(self.sh.get_automation_rule_v2(Identifier=rid)["RuleArn"], arn)
        rules = self.sh.list_automation_rules_v2()["Rules"]
        self.assertEqual([(r["RuleArn"], r["Actions"]) for r in rules], [(arn, [{"Type": "FINDING_FIELDS_UPDATE"}])])
        self.sh.update_automation_rule_v2(Identifier=arn, RuleStatus="DISABLED", RuleOrder=5.5)
        got = self.sh.get_automation_rule_v2(Identifier=arn)
        self.assertEqual((got["RuleStatus"], got["RuleOrder"]), ("DISABLED", 5.5))
        self.assertEqual(self.sh.list_tags_for_resource(ResourceArn=arn)["Tags"], {"owner": "secauto"})
        self.sh.tag_resource(ResourceArn=arn, Tags={"x": "y"})
        self.assertEqual(self.sh.list_tags_for_resource(ResourceArn=arn)["Tags"], {"owner": "secauto", "x": "y"})
        self.sh.delete_automation_rule_v2(Identifier=arn)
        self.assertError("ResourceNotFoundException", 404, self.sh.get_automation_rule_v2, Identifier=arn)
        self.assertError("ResourceNotFoundException", 404, self.sh.delete_automation_rule_v2, Identifier=arn)
        self.assertError("ResourceNotFoundException", 404, self.sh.update_automation_rule_v2, Identifier=arn,
                         RuleStatus="ENABLED")

    def test_rule_applies_on_import(self):
        self.sh.create_automation_rule_v2(**self.RULE)
        self.srv.call("POST", "/_emulator/ocsf/import", {"Findings": [
            ocsf_finding("low", severity_id=2, severity="Low"), ocsf_finding("high")]})
        got = {f["metadata"]["uid"]: f["status_id"] for f in self.sh.get_findings_v2()["Findings"]}
        self.assertEqual(got, {"low": 4, "high": 1})

    def test_validation(self):
        ext = {"Type": "EXTERNAL_INTEGRATION"}
        for over in (dict(RuleOrder=0.5), dict(RuleOrder=1000.5), dict(RuleStatus="ON"), dict(Actions=[]),
                     dict(Actions=self.RULE["Actions"] * 2), dict(Actions=[{"Type": "FINDING_FIELDS_UPDATE"}]),
                     dict(Actions=[ext]), dict(Actions=[{"Type": "DELETE"}]), dict(RuleName=""),
                     dict(Actions=[{"Type": "FINDING_FIELDS_UPDATE", "FindingFieldsUpdate": {"Comment": "x" * 513}}]),
                     dict(Criteria={})):
            with self.subTest(over=str(over)[:80]):
                self.assertError("ValidationException", 400, self.raw.create_automation_rule_v2,
                                 **{**self.RULE, **over})
        for missing in ("RuleName", "Description", "RuleOrder", "Criteria", "Actions"):
            rule = {k: v for k, v in self.RULE.items() if k != missing}
            with self.subTest(missing=missing):
                self.assertError("ValidationException", 400, self.raw.create_automation_rule_v2, **rule)


if __name__ == "__main__":
    unittest.main()
