"""scripts/emulators.sh: start (twice: no duplicate), the export lines, status, stop; an imported finding's
event reaches a rule's target in ministack through the EventBridge emulator."""

import json
import os
import re
import subprocess
import tempfile
import unittest

import boto3

import harness  # noqa: F401  (static credentials, no metadata service, no inherited endpoints)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "emulators.sh")


class EmulatorsSh(unittest.TestCase):
    def setUp(self):
        self.state = tempfile.mkdtemp(prefix="emulators-sh-")
        self.env = {**os.environ, "SECAUTO_EMULATORS_DIR": self.state,
                    "SECAUTO_EMULATOR_VENV": os.path.dirname(os.path.dirname(harness.sys.executable))}
        self.addCleanup(self.sh, "stop")

    def sh(self, *args):
        return subprocess.run(["bash", SCRIPT, *args], env=self.env, capture_output=True, text=True, timeout=120)

    def pids(self):
        return {n: open(os.path.join(self.state, f"{n}.pid")).read().strip()
                for n in ("moto", "ministack", "eventbridge", "securityhub")}

    def test_start_twice_status_stop(self):
        first = self.sh()
        self.assertEqual(first.returncode, 0, first.stderr)
        exports = dict(re.findall(r"(AWS_[A-Z0-9_]+)=(\S+)", first.stdout))
        for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EVENTBRIDGE", "AWS_ENDPOINT_URL_SSM",
                    "AWS_ENDPOINT_URL_SECURITYHUB", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
            self.assertIn(key, exports)
        self.assertEqual(exports["AWS_EC2_METADATA_DISABLED"], "true")
        pids = self.pids()

        second = self.sh()
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertNotIn("started", second.stderr)
        self.assertEqual(self.pids(), pids)
        self.assertEqual(second.stdout, first.stdout)

        status = self.sh("status")
        self.assertEqual(status.returncode, 0)
        self.assertEqual(len(re.findall(r": running on 127\.0\.0\.1:\d+", status.stdout)), 4, status.stdout)

        # the exports reach each emulator; the Security Hub emulator's events reach a rule's target in
        # ministack through the EventBridge emulator, in the one account of STS, Security Hub and the rules
        account = boto3.client("sts", region_name="us-east-1",
                               endpoint_url=exports["AWS_ENDPOINT_URL"]).get_caller_identity()["Account"]
        sh = boto3.client("securityhub", region_name="us-east-1",
                          endpoint_url=exports["AWS_ENDPOINT_URL_SECURITYHUB"])
        sh.enable_security_hub()
        sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=exports["AWS_ENDPOINT_URL"])
        queue = sqs.create_queue(QueueName="probe")["QueueUrl"]
        ev = boto3.client("events", region_name="us-east-1", endpoint_url=exports["AWS_ENDPOINT_URL_EVENTBRIDGE"])
        ev.put_rule(Name="probe", EventPattern='{"source":["aws.securityhub"]}')
        ev.put_targets(Rule="probe", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:{account}:probe"}])
        self.assertIn(f":{account}:", ev.describe_rule(Name="probe")["Arn"])
        finding = harness.asff("via-script")
        finding["AwsAccountId"] = account
        sh.batch_import_findings(Findings=[finding])
        (msg,) = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10)["Messages"]
        event = json.loads(msg["Body"])
        self.assertEqual((event["source"], event["account"], event["detail"]["findings"][0]["Id"]),
                         ("aws.securityhub", account, "via-script"))

        stop = self.sh("stop")
        self.assertEqual(stop.returncode, 0, stop.stderr)
        for pid in pids.values():
            with self.assertRaises(ProcessLookupError):
                os.kill(int(pid), 0)
        status = self.sh("status")
        self.assertEqual(status.returncode, 3)
        self.assertEqual(status.stdout.count(": stopped"), 4)


if __name__ == "__main__":
    unittest.main()
