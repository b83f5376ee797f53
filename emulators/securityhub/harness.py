"""Test harness: moto server and the Security Hub emulator on free loopback ports, boto3 clients."""

import json
import os
import socket
import subprocess
import tempfile
import sys
import time
import urllib.request

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_BIN = os.path.dirname(sys.executable)
REGION = "us-east-1"
ACCOUNT = "123456789012"
ENV = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_REGION": REGION}
os.environ.update(ENV)
for k in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL") or k in ("AWS_PROFILE", "AWS_SESSION_TOKEN")]:
    del os.environ[k]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url):
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


class Servers:
    def __init__(self):
        self.procs = []
        moto_port = free_port()
        self.moto = f"http://127.0.0.1:{moto_port}"
        self.procs.append(subprocess.Popen([os.path.join(VENV_BIN, "moto_server"), "-H", "127.0.0.1", "-p",
                                            str(moto_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "SECHUB_EMULATOR_EVENTS_ENDPOINT": self.moto, "SECHUB_EMULATOR_MOTO_ENDPOINT": self.moto}
        self.log = tempfile.NamedTemporaryFile("w", prefix="securityhub-emulator-", suffix=".log", delete=False)
        self.procs.append(subprocess.Popen([sys.executable, os.path.join(HERE, "server.py"), "-p", str(port)],
                                           env=env, stdout=self.log, stderr=subprocess.STDOUT))
        wait_http(self.moto + "/moto-api/")
        wait_http(self.url + "/_emulator/health")

    def stop(self):
        for p in self.procs:
            p.terminate()
            p.wait(10)
        self.log.close()

    def reset(self):
        self.call("POST", "/_emulator/reset")
        urllib.request.urlopen(urllib.request.Request(self.moto + "/moto-api/reset", method="POST"))

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def events(self):
        return self.call("GET", "/_emulator/events")[1]["Events"]

    def client(self, service="securityhub", **kw):
        url = self.url if service == "securityhub" else self.moto
        return boto3.client(service, region_name=kw.pop("region", REGION), endpoint_url=url, **kw)


def asff(finding_id="f-1", **over):
    f = {
        "SchemaVersion": "2018-10-08",
        "Id": finding_id,
        "ProductArn": f"arn:aws:securityhub:{REGION}::product/aws/securityhub",
        "GeneratorId": "security-control/S3.8",
        "AwsAccountId": ACCOUNT,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "CreatedAt": "2025-01-01T00:00:00.000Z",
        "UpdatedAt": "2025-01-01T00:00:00.000Z",
        "Severity": {"Label": "HIGH", "Normalized": 70},
        "Title": "S3 general purpose buckets should block public access",
        "Description": "This control checks whether an S3 bucket blocks public access.",
        "Resources": [{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::demo-bucket", "Region": REGION}],
        "Compliance": {"Status": "FAILED", "SecurityControlId": "S3.8"},
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE",
    }
    f.update(over)
    return f


def ocsf_finding(uid="ocsf-1", account=ACCOUNT, status_id=1, **over):
    f = {
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "severity_id": 4,
        "severity": "High",
        "status_id": status_id,
        "metadata": {"uid": uid, "product": {"uid": f"arn:aws:securityhub:{REGION}::productv2/aws/guardduty",
                                             "name": "GuardDuty"}},
        "finding_info": {"uid": f"gd-{uid}", "title": "Recon", "types": ["Recon:EC2/PortProbeUnprotectedPort"]},
        "cloud": {"account": {"uid": account}, "region": REGION},
        "resources": [{"type": "AWS::EC2::Instance", "uid": "i-0123", "uid_alt":
                       f"arn:aws:ec2:{REGION}:{account}:instance/i-0123"}],
    }
    f.update(over)
    return f


_servers = None


def servers():
    """One moto server and one emulator for the whole test run (stopped at exit); state reset per test."""
    global _servers
    if _servers is None:
        import atexit

        _servers = Servers()
        atexit.register(_servers.stop)
    return _servers


def no_validation():
    """A client config that skips botocore's own parameter checks, so the emulator's are what answers."""
    from botocore.config import Config

    return Config(parameter_validation=False)
