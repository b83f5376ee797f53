"""scripts/emulators.sh: start (twice: no duplicate), the export lines, status, stop."""

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
                for n in ("moto", "ministack", "securityhub")}

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
        self.assertEqual(len(re.findall(r": running on 127\.0\.0\.1:\d+", status.stdout)), 3, status.stdout)

        # the exports reach each emulator; the Security Hub emulator sends to moto's EventBridge
        sh = boto3.client("securityhub", region_name="us-east-1",
                          endpoint_url=exports["AWS_ENDPOINT_URL_SECURITYHUB"])
        sh.enable_security_hub()
        ev = boto3.client("events", region_name="us-east-1", endpoint_url=exports["AWS_ENDPOINT_URL_EVENTBRIDGE"])
        ev.put_rule(Name="probe", EventPattern='{"source":["aws.securityhub"]}')
        sh.batch_import_findings(Findings=[harness.asff("via-script")])
        import json
        import urllib.request

        with urllib.request.urlopen(exports["AWS_ENDPOINT_URL_SECURITYHUB"] + "/_emulator/events") as r:
            self.assertTrue(json.loads(r.read())["Events"][0]["delivered"])
        boto3.client("sns", region_name="us-east-1", endpoint_url=exports["AWS_ENDPOINT_URL"]).list_topics()

        stop = self.sh("stop")
        self.assertEqual(stop.returncode, 0, stop.stderr)
        for pid in pids.values():
            with self.assertRaises(ProcessLookupError):
                os.kill(int(pid), 0)
        status = self.sh("status")
        self.assertEqual(status.returncode, 3)
        self.assertEqual(status.stdout.count(": stopped"), 3)


if __name__ == "__main__":
    unittest.main()
