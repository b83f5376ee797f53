"""Security Hub CSPM operations: happy paths and the validation errors AWS documents."""

import unittest

import boto3
from botocore.exceptions import ClientError

from harness import ACCOUNT, REGION, asff, no_validation, servers

PRODUCT = f"arn:aws:securityhub:{REGION}::product/aws/securityhub"


class Base(unittest.TestCase):
    def setUp(self):
        self.srv = servers()
        self.srv.reset()
        self.sh = self.srv.client()
        self.raw = self.srv.client(config=no_validation())

    def assertError(self, code, status, fn, *args, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kw)
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"], code)
        self.assertTrue(err["Error"]["Message"])
        return err["Error"]["Message"]


class Hub(Base):
    def test_enable_describe_disable(self):
        self.assertError("InvalidAccessException", 401, self.sh.describe_hub)
        self.sh.enable_security_hub(Tags={"team": "sec"})
        hub = self.sh.describe_hub()
        self.assertEqual(hub["HubArn"], f"arn:aws:securityhub:{REGION}:{ACCOUNT}:hub/default")
        self.assertEqual(self.sh.list_tags_for_resource(ResourceArn=hub["HubArn"])["Tags"], {"team": "sec"})
        self.sh.disable_security_hub()
        self.assertError("InvalidAccessException", 401, self.sh.describe_hub)

    def test_enable_twice_is_a_conflict(self):
        self.sh.enable_security_hub()
        self.assertError("ResourceConflictException", 409, self.sh.enable_security_hub)

    def test_describe_unknown_hub_arn(self):
        self.sh.enable_security_hub()
        self.assertError("ResourceNotFoundException", 404, self.sh.describe_hub,
                         HubArn=f"arn:aws:securityhub:{REGION}:{ACCOUNT}:hub/other")

    def test_every_operation_needs_the_hub(self):
        calls = [
            (self.sh.batch_import_findings, {"Findings": [asff()]}),
            (self.sh.get_findings, {}),
            (self.sh.batch_update_findings, {"FindingIdentifiers": [{"Id": "x", "ProductArn": PRODUCT}],
                                             "Workflow": {"Status": "NOTIFIED"}}),
            (self.sh.list_automation_rules, {}),
            (self.sh.describe_action_targets, {}),
            (self.sh.create_action_target, {"Id": "A", "Name": "A", "Description": "d"}),
        ]
        for fn, kw in calls:
            self.assertError("InvalidAccessException", 401, fn, **kw)

    def test_accounts_are_separate(self):
        """Credentials from moto's AssumeRole belong to the role's account, as moto derives it."""
        other = "111111111111"
        creds = self.srv.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{other}:role/r", RoleSessionName="session")["Credentials"]
        sh2 = boto3.client("securityhub", region_name=REGION, endpoint_url=self.srv.url,
                           aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"])
        sh2.enable_security_hub()
        self.assertEqual(sh2.describe_hub()["HubArn"], f"arn:aws:securityhub:{REGION}:{other}:hub/default")
        self.assertError("InvalidAccessException", 401, self.sh.describe_hub)
        self.assertError("InvalidAccessException", 401, self.srv.client(region="eu-west-1").describe_hub)


class Findings(Base):
    def setUp(self):
        super().setUp()
        self.sh.enable_security_hub()

    def test_import_and_get_with_each_filter(self):
        out = self.sh.batch_import_findings(Findings=[
            asff("a"), asff("b", Severity={"Label": "LOW"}, Compliance={"Status": "PASSED"},
                            Resources=[{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::other"}]),
            asff("c", RecordState="ARCHIVED", AwsAccountId="222222222222", ProductArn=PRODUCT + "x"),
        ])
        self.assertEqual((out["SuccessCount"], out["FailedCount"]), (3, 0))

        def ids(**flt):
            got = self.sh.get_findings(Filters={k: [v] for k, v in flt.items()})["Findings"]
            return sorted(f["Id"] for f in got)

        eq = lambda v: {"Value": v, "Comparison": "EQUALS"}  # noqa: E731
        self.assertEqual(ids(Id=eq("a")), ["a"])
        self.assertEqual(ids(ProductArn=eq(PRODUCT)), ["a", "b"])
        self.assertEqual(ids(AwsAccountId=eq(ACCOUNT)), ["a", "b"])
        # b, a control finding that passed, is RESOLVED (test_control_finding_that_passes_is_resolved)
        self.assertEqual(ids(WorkflowStatus=eq("NEW")), ["a", "c"])
        self.assertEqual(ids(WorkflowStatus=eq("RESOLVED")), ["b"])
        self.assertEqual(ids(RecordState=eq("ACTIVE")), ["a", "b"])
        self.assertEqual(ids(SeverityLabel=eq("LOW")), ["b"])
        self.assertEqual(ids(ComplianceStatus=eq("FAILED")), ["a", "c"])
        self.assertEqual(ids(ResourceId=eq("arn:aws:s3:::other")), ["b"])
        self.assertEqual(ids(Id={"Value": "a", "Comparison": "NOT_EQUALS"}), ["b", "c"])
        self.assertEqual(ids(ResourceId={"Value": "arn:aws:s3:::demo", "Comparison": "PREFIX"}), ["a", "c"])
        both = self.sh.get_findings(Filters={"Id": [eq("a"), eq("b")], "SeverityLabel": [eq("HIGH")]})
        self.assertEqual([f["Id"] for f in both["Findings"]], ["a"])

    def test_pagination(self):
        self.sh.batch_import_findings(Findings=[asff(f"p{i}") for i in range(5)])
        seen, token = [], None
        while True:
            page = self.sh.get_findings(MaxResults=2, **({"NextToken": token} if token else {}))
            self.assertLessEqual(len(page["Findings"]), 2)
            seen += [f["Id"] for f in page["Findings"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(sorted(seen), [f"p{i}" for i in range(5)])
        paged = self.sh.get_paginator("get_findings").paginate(PaginationConfig={"PageSize": 2})
        self.assertEqual(sum(len(p["Findings"]) for p in paged), 5)

    def test_get_findings_validation(self):
        self.assertError("InvalidInputException", 400, self.raw.get_findings, MaxResults=101)
        self.assertError("InvalidInputException", 400, self.raw.get_findings, MaxResults=0)
        self.assertError("InvalidInputException", 400, self.raw.get_findings, NextToken="garbage")
        self.assertError("InvalidInputException", 400, self.raw.get_findings,
                         Filters={"Id": [{"Value": "a", "Comparison": "LIKE"}]})

    def test_import_validation(self):
        self.assertError("InvalidInputException", 400, self.raw.batch_import_findings,
                         Findings=[asff(f"x{i}") for i in range(101)])
        self.assertError("InvalidInputException", 400, self.raw.batch_import_findings, Findings=[])
        bad = asff("bad")
        del bad["Title"]
        out = self.raw.batch_import_findings(Findings=[asff("good"), bad, asff("long", Title="t" * 257),
                                                       asff("nores", Resources=[])])
        self.assertEqual(out["SuccessCount"], 1)
        self.assertEqual(sorted(f["Id"] for f in out["FailedFindings"]), ["bad", "long", "nores"])
        self.assertTrue(all(f["ErrorCode"] == "InvalidInput" for f in out["FailedFindings"]))
        self.assertIn("Title", out["FailedFindings"][0]["ErrorMessage"])

    def test_import_refuses_what_the_reference_documents(self):
        """API_AwsSecurityFinding.html: the "Length Constraints" and "Array Members" of its members, its
        timestamp formats ("Timestamps can end with Z or ("+" / "-") time-hour [":" time-minute]. The
        time-secfrac after seconds is limited to a maximum of 9 digits. The offset is bounded by
        +/-18:00"); API_BatchImportFindings.html: "The maximum allowed size for a finding is 240 Kb. An
        error is returned for any finding larger than 240 Kb"."""
        res = [{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::b"}]
        bad = {
            "id": asff("i" * 513), "acct": asff("acct", AwsAccountId="1234"), "types": asff("types", Types=["t"] * 51),
            "rtype": asff("rtype", Resources=[{"Type": "T" * 257, "Id": "x"}]),
            "rregion": asff("rregion", Resources=[{"Type": "AwsS3Bucket", "Id": "x", "Region": "r" * 17}]),
            "many": asff("many", Resources=res * 33), "note": asff("note", Note={
                "Text": "n" * 513, "UpdatedBy": "u", "UpdatedAt": "2025-01-01T00:00:00Z"}),
            "norm": asff("norm", Severity={"Normalized": 101}), "pf": asff("pf", ProductFields={"k" * 129: "v"}),
            "udf": asff("udf", UserDefinedFields={f"k{i}": "v" for i in range(51)}),
            "related": asff("related", RelatedFindings=[{"ProductArn": PRODUCT, "Id": "x"}] * 11),
            "req": asff("req", Compliance={"Status": "FAILED", "RelatedRequirements": ["r"] * 33}),
            "date": asff("date", CreatedAt="2025-01-01"), "month": asff("month", UpdatedAt="2025-13-01T00:00:00Z"),
            "offset": asff("offset", FirstObservedAt="2025-01-01T00:00:00+18:01"),
            "frac": asff("frac", LastObservedAt="2025-01-01T00:00:00.1234567890Z"),
            "space": asff("space", CreatedAt="2025-01-01 00:00:00Z"),
        }
        out = self.raw.batch_import_findings(Findings=list(bad.values()))
        self.assertEqual(out["SuccessCount"], 0, out["FailedFindings"])
        self.assertEqual(sorted(f["Id"] for f in out["FailedFindings"]), sorted(f["Id"] for f in bad.values()))
        self.assertEqual({f["ErrorCode"] for f in out["FailedFindings"]}, {"InvalidInput"})
        big = asff("big", Resources=[{"Type": "Other", "Id": "x", "Details": {"Other": {"k": "x" * 250000}}}])
        out = self.raw.batch_import_findings(Findings=[big, asff("small")])
        self.assertEqual((out["SuccessCount"], out["FailedFindings"][0]["Id"]), (1, "big"))
        self.assertEqual(out["FailedFindings"][0]["ErrorCode"], "FindingSizeExceeded")
        good = [asff(f"t{i}", CreatedAt=t) for i, t in enumerate((
            "2019-01-31T23:00:00Z", "2019-01-31T23:00:00.123456789Z", "2024-01-04T15:25:10+17:59",
            "2024-01-04T15:25:10-1759", "2024-01-04T15:25:10.123456789+17:59", "2024-01-04T15:25:10+05"))]
        self.assertEqual(self.sh.batch_import_findings(Findings=good)["SuccessCount"], len(good))

    def test_get_findings_filter_limits(self):
        """API_GetFindings.html, Filters: "You can filter by up to 10 finding attributes. For each
        attribute, you can provide up to 20 filter values"."""
        eq = [{"Value": "a", "Comparison": "EQUALS"}]
        names = ["Id", "ProductArn", "AwsAccountId", "GeneratorId", "Title", "Description", "Type",
                 "SeverityLabel", "WorkflowStatus", "RecordState", "ComplianceStatus"]
        self.sh.get_findings(Filters={n: eq for n in names[:10]})
        self.sh.get_findings(Filters={"Id": eq * 20})
        self.assertError("InvalidInputException", 400, self.sh.get_findings, Filters={n: eq for n in names})
        self.assertError("InvalidInputException", 400, self.sh.get_findings, Filters={"Id": eq * 21})

    def test_batch_update(self):
        self.sh.batch_import_findings(Findings=[asff("a")])
        ident = {"Id": "a", "ProductArn": PRODUCT}
        out = self.sh.batch_update_findings(
            FindingIdentifiers=[ident, {"Id": "missing", "ProductArn": PRODUCT}],
            Workflow={"Status": "RESOLVED"}, Note={"Text": "fixed by secauto", "UpdatedBy": "secauto"},
            Severity={"Label": "CRITICAL"}, UserDefinedFields={"secauto": "done"}, Confidence=90)
        self.assertEqual(out["ProcessedFindings"], [ident])
        self.assertEqual(out["UnprocessedFindings"][0]["ErrorCode"], "FindingNotFound")
        f = self.sh.get_findings()["Findings"][0]
        self.assertEqual(f["Workflow"]["Status"], "RESOLVED")
        self.assertEqual(f["Note"]["Text"], "fixed by secauto")
        self.assertEqual(f["Severity"]["Label"], "CRITICAL")
        self.assertEqual(f["UserDefinedFields"], {"secauto": "done"})
        # a re-import by the provider keeps what BatchUpdateFindings set
        self.sh.batch_import_findings(Findings=[asff("a")])
        self.assertEqual(self.sh.get_findings()["Findings"][0]["Workflow"]["Status"], "RESOLVED")

    def test_batch_update_keeps_updated_at(self):
        """BatchUpdateFindings: "your updates don't affect the value for the UpdatedAt field of the finding"
        (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchUpdateFindings.html)."""
        self.sh.batch_import_findings(Findings=[asff("a")])
        before = self.sh.get_findings()["Findings"][0]
        self.sh.batch_update_findings(FindingIdentifiers=[{"Id": "a", "ProductArn": PRODUCT}],
                                      Workflow={"Status": "NOTIFIED"}, Note={"Text": "t", "UpdatedBy": "u"})
        after = self.sh.get_findings()["Findings"][0]
        self.assertEqual(after["Workflow"]["Status"], "NOTIFIED")
        self.assertEqual((after["UpdatedAt"], after["CreatedAt"]), (before["UpdatedAt"], before["CreatedAt"]))
        self.assertEqual(after["UpdatedAt"], "2025-01-01T00:00:00.000Z")

    def workflow(self, finding_id):
        return self.sh.get_findings(Filters={"Id": [{"Value": finding_id, "Comparison": "EQUALS"}]})[
            "Findings"][0]["Workflow"]["Status"]

    def set_workflow(self, finding_id, status, product=PRODUCT):
        self.sh.batch_update_findings(FindingIdentifiers=[{"Id": finding_id, "ProductArn": product}],
                                      Workflow={"Status": status})

    def test_workflow_resets_on_import(self):
        """API_WorkflowUpdate.html / API_Workflow.html: "Security Hub CSPM also resets WorkFlowStatus from
        NOTIFIED or RESOLVED to NEW" when "The record state changes from ARCHIVED to ACTIVE" or "The compliance
        status changes from PASSED to either WARNING, FAILED, or NOT_AVAILABLE"; AwsSecurityFindingFilters
        WorkflowStatus: "The workflow status of a SUPPRESSED finding does not change if RecordState changes
        from ARCHIVED to ACTIVE"."""
        custom = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
        c = dict(ProductArn=custom, GeneratorId="custom")
        self.sh.batch_import_findings(Findings=[asff("pass", Compliance={"Status": "PASSED"}, **c),
                                                asff("fail", **c), asff("arch", RecordState="ARCHIVED", **c),
                                                asff("supp", RecordState="ARCHIVED", **c), asff("new", **c)])
        for fid, status in (("pass", "NOTIFIED"), ("fail", "NOTIFIED"), ("arch", "RESOLVED"), ("supp", "SUPPRESSED")):
            self.set_workflow(fid, status, custom)
        self.sh.batch_import_findings(Findings=[
            asff("pass", Compliance={"Status": "WARNING"}, **c), asff("fail", **c), asff("arch", **c),
            asff("supp", **c), asff("new", Compliance={"Status": "PASSED"}, **c)])
        got = {fid: self.workflow(fid) for fid in ("pass", "fail", "arch", "supp", "new")}
        # PASSED → WARNING and ARCHIVED → ACTIVE reopen; FAILED again, SUPPRESSED, and a finding of
        # another product that passes stay as they were
        self.assertEqual(got, {"pass": "NEW", "fail": "NOTIFIED", "arch": "NEW", "supp": "SUPPRESSED",
                               "new": "NEW"})
        self.assertEqual(self.sh.get_findings(Filters={"Id": [{"Value": "arch", "Comparison": "EQUALS"}]})[
            "Findings"][0]["WorkflowState"], "NEW")

    def test_control_finding_that_passes_is_resolved(self):
        """AwsSecurityFindingFilters WorkflowStatus (API reference): "For findings from controls, if
        Compliance.Status is PASSED, then Security Hub CSPM automatically sets the workflow status to
        RESOLVED"; and it goes back to NEW when the control fails again (API_WorkflowUpdate.html)."""
        self.sh.batch_import_findings(Findings=[asff("c1"), asff("c2", Compliance={"Status": "PASSED"})])
        self.assertEqual((self.workflow("c1"), self.workflow("c2")), ("NEW", "RESOLVED"))
        self.set_workflow("c1", "NOTIFIED")
        for compliance, status in (("PASSED", "RESOLVED"), ("NOT_AVAILABLE", "NEW"), ("FAILED", "NEW"),
                                   ("PASSED", "RESOLVED"), ("FAILED", "NEW")):
            self.sh.batch_import_findings(Findings=[asff("c1", Compliance={"Status": compliance})])
            self.assertEqual(self.workflow("c1"), status, compliance)
        # a customer's change holds until the provider's next import says otherwise
        self.set_workflow("c1", "NOTIFIED")
        self.sh.batch_import_findings(Findings=[asff("c1")])
        self.assertEqual(self.workflow("c1"), "NOTIFIED")

    def test_batch_update_duplicates_and_normalized_severity(self):
        """API_BatchUpdateFindingsUnprocessedFinding.html: "DuplicatedFindingIdentifier - The request
        included two or more findings with the same FindingIdentifier" ("Finding Identifier is
        duplicated"); API_SeverityUpdate.html: "If you provide Normalized and don't provide Label, Label
        is set automatically" (0 INFORMATIONAL, 1-39 LOW, 40-69 MEDIUM, 70-89 HIGH, 90-100 CRITICAL)."""
        self.sh.batch_import_findings(Findings=[asff("a"), asff("b")])
        a, b = ({"Id": i, "ProductArn": PRODUCT} for i in ("a", "b"))
        out = self.sh.batch_update_findings(FindingIdentifiers=[a, b, a], Workflow={"Status": "NOTIFIED"})
        self.assertEqual(out["ProcessedFindings"], [b])
        self.assertEqual([(u["FindingIdentifier"], u["ErrorCode"], u["ErrorMessage"]) for u in out[
            "UnprocessedFindings"]], [(a, "DuplicatedFindingIdentifier", "Finding Identifier is duplicated")])
        self.assertEqual((self.workflow("a"), self.workflow("b")), ("NEW", "NOTIFIED"))
        for normalized, label in ((0, "INFORMATIONAL"), (1, "LOW"), (39, "LOW"), (40, "MEDIUM"), (69, "MEDIUM"),
                                  (70, "HIGH"), (89, "HIGH"), (90, "CRITICAL"), (100, "CRITICAL")):
            self.sh.batch_update_findings(FindingIdentifiers=[a], Severity={"Normalized": normalized})
            sev = self.sh.get_findings(Filters={"Id": [{"Value": "a", "Comparison": "EQUALS"}]})["Findings"][0][
                "Severity"]
            self.assertEqual((sev["Normalized"], sev["Label"]), (normalized, label))

    def test_batch_update_validation(self):
        ident = [{"Id": "a", "ProductArn": PRODUCT}]
        note = {"Text": "t", "UpdatedBy": "u"}
        cases = [
            dict(FindingIdentifiers=ident, Note={"Text": "x" * 513, "UpdatedBy": "u"}),
            dict(FindingIdentifiers=ident, Note={"Text": "", "UpdatedBy": "u"}),
            dict(FindingIdentifiers=ident, Note={"Text": "t", "UpdatedBy": "u" * 513}),
            dict(FindingIdentifiers=ident, Note={"Text": "t"}),
            dict(FindingIdentifiers=ident, Workflow={"Status": "DONE"}),
            dict(FindingIdentifiers=ident, Severity={"Label": "SEVERE"}),
            dict(FindingIdentifiers=ident, Confidence=101),
            dict(FindingIdentifiers=[], Note=note),
            dict(FindingIdentifiers=ident * 101, Note=note),
            dict(FindingIdentifiers=[{"Id": "a"}], Note=note),
            dict(Note=note),
            dict(FindingIdentifiers=ident),
        ]
        for kw in cases:
            with self.subTest(kw=str(kw)[:80]):
                self.assertError("InvalidInputException", 400, self.raw.batch_update_findings, **kw)


class AutomationRules(Base):
    RULE = dict(RuleName="suppress-low", Description="Suppress low findings", RuleOrder=1,
                Criteria={"SeverityLabel": [{"Value": "LOW", "Comparison": "EQUALS"}]},
                Actions=[{"Type": "FINDING_FIELDS_UPDATE",
                          "FindingFieldsUpdate": {"Workflow": {"Status": "SUPPRESSED"}}}])

    def setUp(self):
        super().setUp()
        self.sh.enable_security_hub()

    def test_lifecycle(self):
        arn = self.sh.create_automation_rule(Tags={"owner": "secauto"}, **self.RULE)["RuleArn"]
        self.assertRegex(arn, rf"^arn:aws:securityhub:{REGION}:{ACCOUNT}:automation-rule/[0-9a-f-]{{36}}$")
        missing = arn[:-1] + ("0" if arn[-1] != "0" else "1")
        got = self.sh.batch_get_automation_rules(AutomationRulesArns=[arn, missing])
        self.assertEqual(got["Rules"][0]["RuleName"], "suppress-low")
        self.assertEqual(got["UnprocessedAutomationRules"][0]["RuleArn"], missing)
        listed = self.sh.list_automation_rules()["AutomationRulesMetadata"]
        self.assertEqual([r["RuleArn"] for r in listed], [arn])
        out = self.sh.batch_update_automation_rules(UpdateAutomationRulesRequestItems=[
            {"RuleArn": arn, "RuleStatus": "DISABLED"}, {"RuleArn": missing, "RuleOrder": 2}])
        self.assertEqual(out["ProcessedAutomationRules"], [arn])
        self.assertEqual(out["UnprocessedAutomationRules"][0]["RuleArn"], missing)
        self.assertEqual(self.sh.batch_get_automation_rules(AutomationRulesArns=[arn])["Rules"][0]["RuleStatus"],
                         "DISABLED")
        self.assertEqual(self.sh.list_tags_for_resource(ResourceArn=arn)["Tags"], {"owner": "secauto"})
        self.sh.tag_resource(ResourceArn=arn, Tags={"env": "test"})
        self.sh.untag_resource(ResourceArn=arn, TagKeys=["owner"])
        self.assertEqual(self.sh.list_tags_for_resource(ResourceArn=arn)["Tags"], {"env": "test"})
        out = self.sh.batch_delete_automation_rules(AutomationRulesArns=[arn, missing])
        self.assertEqual(out["ProcessedAutomationRules"], [arn])
        self.assertEqual(len(out["UnprocessedAutomationRules"]), 1)
        self.assertEqual(self.sh.list_automation_rules()["AutomationRulesMetadata"], [])
        self.assertError("ResourceNotFoundException", 404, self.sh.list_tags_for_resource, ResourceArn=arn)

    def test_rule_applies_on_import(self):
        self.sh.create_automation_rule(**self.RULE)
        self.sh.batch_import_findings(Findings=[asff("low", Severity={"Label": "LOW"}), asff("high")])
        status = {f["Id"]: f["Workflow"]["Status"] for f in self.sh.get_findings()["Findings"]}
        self.assertEqual(status, {"low": "SUPPRESSED", "high": "NEW"})

    def test_validation(self):
        for over in (dict(RuleOrder=0), dict(RuleOrder=1001), dict(RuleName=""), dict(RuleStatus="ON"),
                     dict(RuleName="n" * 257), dict(Actions=[]), dict(Actions=[{"Type": "DELETE"}])):
            with self.subTest(over=over):
                self.assertError("InvalidInputException", 400, self.raw.create_automation_rule,
                                 **{**self.RULE, **over})
        rule = dict(self.RULE)
        del rule["Criteria"]
        self.assertError("InvalidInputException", 400, self.raw.create_automation_rule, **rule)
        self.assertError("InvalidInputException", 400, self.raw.batch_get_automation_rules, AutomationRulesArns=[])
        self.assertError("InvalidInputException", 400, self.raw.batch_delete_automation_rules,
                         AutomationRulesArns=["a"] * 101)


class ActionTargets(Base):
    def setUp(self):
        super().setUp()
        self.sh.enable_security_hub()

    def test_lifecycle(self):
        arn = self.sh.create_action_target(Id="Remediate", Name="Remediate", Description="Run secauto")[
            "ActionTargetArn"]
        self.assertEqual(arn, f"arn:aws:securityhub:{REGION}:{ACCOUNT}:action/custom/Remediate")
        self.assertEqual(self.sh.describe_action_targets(ActionTargetArns=[arn])["ActionTargets"],
                         [{"ActionTargetArn": arn, "Name": "Remediate", "Description": "Run secauto"}])
        self.sh.update_action_target(ActionTargetArn=arn, Name="Fix", Description="Now")
        self.assertEqual(self.sh.describe_action_targets()["ActionTargets"][0]["Name"], "Fix")
        self.assertEqual(self.sh.delete_action_target(ActionTargetArn=arn)["ActionTargetArn"], arn)
        self.assertEqual(self.sh.describe_action_targets()["ActionTargets"], [])

    def test_errors(self):
        arn = self.sh.create_action_target(Id="A1", Name="n", Description="d")["ActionTargetArn"]
        self.assertError("ResourceConflictException", 409, self.sh.create_action_target, Id="A1", Name="n",
                         Description="d")
        for kw in (dict(Id="a" * 21, Name="n", Description="d"), dict(Id="has-dash", Name="n", Description="d"),
                   dict(Id="A2", Name="n" * 21, Description="d"), dict(Id="A3", Name="n"),
                   dict(Id="", Name="n", Description="d")):
            with self.subTest(kw=kw):
                self.assertError("InvalidInputException", 400, self.raw.create_action_target, **kw)
        gone = arn.replace("A1", "Gone")
        self.assertError("ResourceNotFoundException", 404, self.sh.update_action_target, ActionTargetArn=gone,
                         Name="x")
        self.assertError("ResourceNotFoundException", 404, self.sh.delete_action_target, ActionTargetArn=gone)
        self.assertError("ResourceNotFoundException", 404, self.sh.describe_action_targets, ActionTargetArns=[gone])
        self.assertError("InvalidInputException", 400, self.raw.update_action_target, ActionTargetArn=arn,
                         Name="n" * 21)


if __name__ == "__main__":
    unittest.main()
