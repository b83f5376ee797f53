"""The EventBridge events a finding's import and update send, read back through moto: rule → SQS."""

import json
import os
import subprocess
import sys
import unittest

from harness import ACCOUNT, HERE, REGION, asff, free_port, ocsf_finding, servers, wait_http
from test_cspm import Base

PRODUCT = f"arn:aws:securityhub:{REGION}::product/aws/securityhub"


class Events(Base):
    def setUp(self):
        super().setUp()
        sqs, ev = self.srv.client("sqs"), self.srv.client("events")
        self.queue = sqs.create_queue(QueueName="findings")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        ev.put_rule(Name="findings", EventPattern=json.dumps({"source": ["aws.securityhub"]}))
        ev.put_targets(Rule="findings", Targets=[{"Id": "q", "Arn": arn}])
        self.sqs = sqs

    def delivered(self):
        out = []
        while True:
            msgs = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    def test_asff_import_and_update(self):
        self.sh.enable_security_hub()
        self.sh.batch_import_findings(Findings=[asff("a"), asff("b")])
        got = self.delivered()
        self.assertEqual([(e["source"], e["detail-type"], e["region"]) for e in got],
                         [("aws.securityhub", "Security Hub Findings - Imported", REGION)] * 2)
        # moto's SQS delivery leaves out the envelope's "account"; the recorded events carry it
        self.assertEqual({e["account"] for e in self.srv.events()}, {ACCOUNT})
        self.assertEqual(sorted(e["detail"]["findings"][0]["Id"] for e in got), ["a", "b"])
        self.sh.batch_update_findings(FindingIdentifiers=[{"Id": "a", "ProductArn": PRODUCT}],
                                      Workflow={"Status": "NOTIFIED"})
        (update,) = self.delivered()
        self.assertEqual(update["detail-type"], "Security Hub Findings - Imported")
        self.assertEqual(update["detail"]["findings"][0]["Workflow"]["Status"], "NOTIFIED")
        recorded = self.srv.events()
        self.assertEqual(len(recorded), 3)
        self.assertTrue(all(e["delivered"] for e in recorded))

    def test_both_formats_when_v2_is_on(self):
        self.sh.enable_security_hub()
        self.sh.enable_security_hub_v2()
        self.sh.batch_import_findings(Findings=[asff("a")])
        got = {e["detail-type"]: e for e in self.delivered()}
        self.assertEqual(set(got), {"Security Hub Findings - Imported", "Findings Imported V2"})
        v2 = got["Findings Imported V2"]
        self.assertEqual(len(v2["detail"]["findings"]), 1)
        self.assertEqual(v2["detail"]["findings"][0]["compliance"]["control"], "S3.8")
        self.assertEqual(v2["resources"], ["arn:aws:s3:::demo-bucket"])

    def test_ocsf_import_and_v2_update(self):
        self.sh.enable_security_hub_v2()
        self.srv.call("POST", "/_emulator/ocsf/import", {"Findings": [ocsf_finding("u1"), ocsf_finding("u2")]})
        got = self.delivered()
        self.assertEqual([e["detail-type"] for e in got], ["Findings Imported V2"] * 2)
        self.assertEqual(sorted(e["detail"]["findings"][0]["metadata"]["uid"] for e in got), ["u1", "u2"])
        self.sh.batch_update_findings_v2(MetadataUids=["u1"], StatusId=4, Comment="done")
        (update,) = self.delivered()
        f = update["detail"]["findings"][0]
        self.assertEqual((f["metadata"]["uid"], f["status_id"], f["comment"]), ("u1", 4, "done"))

    def test_cspm_only_sends_no_v2_event(self):
        self.sh.enable_security_hub()
        self.sh.batch_import_findings(Findings=[asff("a")])
        self.assertEqual([e["detail-type"] for e in self.delivered()], ["Security Hub Findings - Imported"])


class EventBridgeAway(unittest.TestCase):
    def test_keeps_serving_and_records(self):
        port, dead = free_port(), free_port()
        env = {**os.environ, "SECHUB_EMULATOR_EVENTS_ENDPOINT": f"http://127.0.0.1:{dead}",
               "AWS_MAX_ATTEMPTS": "1"}
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "server.py"), "-p", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}/_emulator/health")
            srv = servers()
            import boto3

            sh = boto3.client("securityhub", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}")
            sh.enable_security_hub()
            self.assertEqual(sh.batch_import_findings(Findings=[asff("a")])["SuccessCount"], 1)
            import urllib.request

            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/events") as r:
                (event,) = json.loads(r.read())["Events"]
            self.assertFalse(event["delivered"])
            self.assertIn("error", event)
            self.assertEqual(event["detail"]["findings"][0]["Id"], "a")
            del srv
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    unittest.main()
