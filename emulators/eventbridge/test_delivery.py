"""The EventBridge emulator over moto (control plane) and ministack (targets): PutEvents answered as AWS
answers it, rules matched into arrays of objects, DISABLED rules and other buses not firing, Lambda
targets invoked only with the function's permission, failures in the dead-letter queue with AWS's
attributes and in the rule's FailedInvocations metric, unreachable targets retried, the control plane
passed to moto as it is (a bus policy read back as given)."""

import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import zipfile

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)
ACCOUNT, REGION = "000000000000", "us-east-1"
os.environ.update({"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "testing",
                   "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION})
for k in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL") or k in ("AWS_PROFILE", "AWS_SESSION_TOKEN")]:
    del os.environ[k]
# A function that sends the event it gets to the queue named by its environment.
FUNCTION = """import boto3, json, os
def handler(event, context):
    sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    url = sqs.get_queue_url(QueueName=os.environ["QUEUE"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url):
    for _ in range(600):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


class Servers:
    """moto (held to ministack's account), ministack and the EventBridge emulator."""

    def __init__(self):
        self.procs, self.dir = [], tempfile.mkdtemp(prefix="eventbridge-emulator-")
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.moto = self.start([os.path.join(BIN, "moto_server"), "-H", "127.0.0.1", "-p", "{port}"],
                               {"MOTO_ACCOUNT_ID": ACCOUNT}, "/moto-api/")
        self.ministack = self.start([sys.executable, "-m", "ministack"],
                                    {"GATEWAY_PORT": "{port}", "BIND_HOST": "127.0.0.1", "IOT_MTLS_ENABLED": "0",
                                     "SFTP_ENABLED": "0"}, "/")
        self.url = self.start([sys.executable, os.path.join(HERE, "server.py"), "-p", "{port}"],
                              {"EVENTBRIDGE_EMULATOR_CONTROL_ENDPOINT": self.moto,
                               "EVENTBRIDGE_EMULATOR_TARGETS_ENDPOINT": self.ministack}, "/_emulator/health")

    def start(self, argv, env, probe):
        port = str(free_port())
        argv = [a.replace("{port}", port) for a in argv]
        env = {**os.environ, **{k: v.replace("{port}", port) for k, v in env.items()}}
        self.procs.append(subprocess.Popen(argv, env=env, cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT))
        url = f"http://127.0.0.1:{port}"
        wait_http(url + probe)
        return url

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            p.wait(10)
        self.log.close()

    def recorded(self):
        with urllib.request.urlopen(self.url + "/_emulator/events") as r:
            return json.loads(r.read())

    def service_events(self, entries, account=ACCOUNT):
        req = urllib.request.Request(f"{self.url}/_emulator/service-events?account={account}&region={REGION}",
                                     data=json.dumps({"Entries": entries}).encode(), method="POST")
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


def setUpModule():
    global srv
    srv = Servers()


def tearDownModule():
    srv.stop()


class Delivery(unittest.TestCase):
    def setUp(self):
        self.ev = boto3.client("events", endpoint_url=srv.url)
        self.sqs = boto3.client("sqs", endpoint_url=srv.ministack)
        self.lam = boto3.client("lambda", endpoint_url=srv.ministack)
        self.name = self.id().rsplit(".", 1)[1][5:25].replace("_", "-")

    def queue(self, suffix):
        url = self.sqs.create_queue(QueueName=f"{self.name}-{suffix}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def received(self, url, wait=10):
        msgs = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait, MaxNumberOfMessages=10,
                                        MessageAttributeNames=["All"]).get("Messages", [])
        for m in msgs:
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return msgs

    def function(self, queue_name):
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("index.py", FUNCTION)
        return self.lam.create_function(FunctionName=f"{self.name}-fn", Runtime="python3.11", Handler="index.handler",
                                        Role=f"arn:aws:iam::{ACCOUNT}:role/fn", Code={"ZipFile": code.getvalue()},
                                        Environment={"Variables": {"QUEUE": queue_name}})["FunctionArn"]

    def rule(self, pattern, targets, bus="default", name=None):
        name = name or self.name
        arn = self.ev.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))["RuleArn"]
        self.ev.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        return arn

    def put(self, detail, source="secauto.test", bus="default"):
        out = self.ev.put_events(Entries=[{"Source": source, "DetailType": "probe", "Detail": json.dumps(detail),
                                           "EventBusName": bus}])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        return out["Entries"][0]["EventId"]

    def deliveries(self, event_id, count, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = [d for d in srv.recorded()["Deliveries"] if d["EventId"] == event_id]
            if len(got) >= count:
                return got
            time.sleep(0.1)
        self.fail(f"{count} deliveries of {event_id} expected: {srv.recorded()}")

    def test_put_events_answers_as_aws(self):
        entries = [{"Source": "aws.securityhub", "DetailType": "x", "Detail": "{}"},
                   {"Source": "a", "DetailType": "x"},
                   {"Source": "a", "DetailType": "x", "Detail": "[1]"},
                   {"Source": "a", "DetailType": "x", "Detail": "{}", "EventBusName": "no-such-bus"}]
        out = self.ev.put_events(Entries=entries)
        self.assertEqual(out["FailedEntryCount"], 3)
        self.assertEqual([e.get("ErrorCode") for e in out["Entries"]],
                         ["NotAuthorizedForSourceException", "InvalidArgument", "MalformedDetail", None])
        # AWS accepts an event for a bus that does not exist, and drops it
        event_id = out["Entries"][3]["EventId"]
        for _ in range(50):
            seen = [e for e in srv.recorded()["Events"] if e["EventId"] == event_id]
            if seen:
                break
            time.sleep(0.1)
        self.assertIn("no-such-bus", seen[0]["Dropped"])
        with self.assertRaises(self.ev.exceptions.ClientError) as e:
            self.ev.put_events(Entries=[{"Source": "a", "DetailType": "x", "Detail": "{}"}] * 11)
        self.assertEqual(e.exception.response["Error"]["Code"], "ValidationException")
        # an AWS service's own events come in through the service endpoint, to the default bus
        status, out = srv.service_events([{"Source": "aws.securityhub", "DetailType": "x", "Detail": "{}"}])
        self.assertEqual((status, out["FailedEntryCount"]), (200, 0), out)
        self.assertEqual(srv.service_events([], account="")[0], 400)

    def test_matching_rule_delivers_into_arrays_to_sqs_and_lambda(self):
        url, arn = self.queue("inbox")
        fn = self.function(f"{self.name}-inbox")
        rule = self.rule({"source": ["secauto.test"], "detail": {"findings": {"Severity": {"Label": ["HIGH"]}}}},
                         [{"Id": "q", "Arn": arn}, {"Id": "f", "Arn": fn}])
        self.lam.add_permission(FunctionName=fn, StatementId="events", Action="lambda:InvokeFunction",
                                Principal="events.amazonaws.com", SourceArn=rule)
        self.put({"findings": [{"Severity": {"Label": "LOW"}}]})
        event_id = self.put({"findings": [{"Severity": {"Label": "LOW"}}, {"Severity": {"Label": "HIGH"}}]})
        got = []
        for _ in range(5):
            got += [json.loads(m["Body"]) for m in self.received(url)]
            if len(got) >= 2:
                break
        self.assertEqual([e["id"] for e in got], [event_id, event_id])
        self.assertEqual({(e["account"], e["region"], e["detail-type"]) for e in got}, {(ACCOUNT, REGION, "probe")})
        self.assertEqual({d["Outcome"] for d in self.deliveries(event_id, 2)}, {"delivered"})

    def test_disabled_rule_and_other_buses_do_not_fire(self):
        url, arn = self.queue("inbox")
        self.ev.create_event_bus(Name=f"{self.name}-bus")
        self.rule({"source": ["secauto.test"]}, [{"Id": "q", "Arn": arn}], name=f"{self.name}-off")
        self.ev.disable_rule(Name=f"{self.name}-off")
        self.rule({"detail": {"mark": [self.name]}}, [{"Id": "q", "Arn": arn}], bus=f"{self.name}-bus")
        default_event = self.put({"mark": self.name})
        self.assertEqual(self.received(url, wait=2), [])
        bus_event = self.put({"mark": self.name}, bus=f"{self.name}-bus")
        (msg,) = self.received(url)
        self.assertEqual(json.loads(msg["Body"])["id"], bus_event)
        seen = {e["EventId"]: e["MatchedRules"] for e in srv.recorded()["Events"]}
        self.assertEqual(seen[default_event], [])
        self.assertEqual(len(seen[bus_event]), 1)

    def test_missing_function_and_missing_permission_go_to_the_dlq(self):
        dlq_url, dlq = self.queue("dlq")
        fn = self.function(f"{self.name}-dlq")
        missing = fn.replace(f"{self.name}-fn", f"{self.name}-gone")
        rule = self.rule({"detail": {"mark": [self.name]}},
                         [{"Id": "gone", "Arn": missing, "DeadLetterConfig": {"Arn": dlq}},
                          {"Id": "denied", "Arn": fn, "DeadLetterConfig": {"Arn": dlq}}])
        self.lam.add_permission(FunctionName=fn, StatementId="other", Action="lambda:InvokeFunction",
                                Principal="events.amazonaws.com", SourceArn=rule + "-other")
        event_id = self.put({"mark": self.name})
        outcomes = {d["TargetId"]: d for d in self.deliveries(event_id, 2)}
        self.assertEqual(outcomes["gone"]["ErrorCode"], "NO_RESOURCE")
        self.assertEqual(outcomes["denied"]["ErrorCode"], "NO_PERMISSIONS")
        msgs = self.received(dlq_url) + self.received(dlq_url, wait=1)
        attrs = {m["MessageAttributes"]["TARGET_ARN"]["StringValue"]:
                 {k: v["StringValue"] for k, v in m["MessageAttributes"].items()} for m in msgs}
        self.assertEqual(attrs[missing]["ERROR_CODE"], "NO_RESOURCE")
        self.assertEqual(attrs[fn]["ERROR_CODE"], "NO_PERMISSIONS")
        self.assertEqual({a["RULE_ARN"] for a in attrs.values()}, {rule})
        self.assertEqual({a["RETRY_ATTEMPTS"] for a in attrs.values()}, {"0"})
        self.assertEqual(json.loads(msgs[0]["Body"])["id"], event_id)
        cw = boto3.client("cloudwatch", endpoint_url=srv.ministack)
        for _ in range(50):
            stats = cw.get_metric_statistics(Namespace="AWS/Events", MetricName="FailedInvocations",
                                             Dimensions=[{"Name": "RuleName", "Value": self.name}],
                                             StartTime=time.time() - 600, EndTime=time.time() + 60, Period=60,
                                             Statistics=["Sum"])["Datapoints"]
            if sum(p["Sum"] for p in stats) >= 2:
                break
            time.sleep(0.1)
        self.assertEqual(sum(p["Sum"] for p in stats), 2)

    def test_an_unreachable_target_is_retried_until_the_retry_policy_gives_up(self):
        # a second EventBridge emulator whose targets' service does not answer
        dead = f"http://127.0.0.1:{free_port()}"
        url = srv.start([sys.executable, os.path.join(HERE, "server.py"), "-p", "{port}"],
                        {"EVENTBRIDGE_EMULATOR_CONTROL_ENDPOINT": srv.moto,
                         "EVENTBRIDGE_EMULATOR_TARGETS_ENDPOINT": dead}, "/_emulator/health")
        ev = boto3.client("events", endpoint_url=url)
        _, arn = self.queue("inbox")
        self.rule({"detail": {"mark": [self.name]}},
                  [{"Id": "q", "Arn": arn, "DeadLetterConfig": {"Arn": arn},
                    "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60}}])
        event_id = ev.put_events(Entries=[{"Source": "secauto.test", "DetailType": "probe",
                                           "Detail": json.dumps({"mark": self.name})}])["Entries"][0]["EventId"]
        for _ in range(150):
            with urllib.request.urlopen(url + "/_emulator/events") as r:
                got = [d for d in json.loads(r.read())["Deliveries"] if d["EventId"] == event_id]
            if got:
                break
            time.sleep(0.1)
        self.assertEqual((got[0]["ErrorCode"], got[0]["Attempts"], got[0]["ExhaustedRetryCondition"],
                          got[0]["DeadLetter"]), ("CONNECTION_FAILURE", 3, "MaximumRetryAttempts", "failed"), got)

    def test_the_control_plane_is_moto_as_given(self):
        bus = f"{self.name}-bus"
        arn = self.ev.create_event_bus(Name=bus)["EventBusArn"]
        policy = {"Version": "2012-10-17", "Statement": [{
            "Sid": "OnlyOne", "Effect": "Deny", "Principal": "*", "Action": "events:PutEvents", "Resource": arn,
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/one"}}}]}
        self.ev.put_permission(EventBusName=bus, Policy=json.dumps(policy))
        self.assertEqual(json.loads(self.ev.describe_event_bus(Name=bus)["Policy"]), policy)
        moto = boto3.client("events", endpoint_url=srv.moto)
        self.assertEqual(self.ev.list_event_buses()["EventBuses"], moto.list_event_buses()["EventBuses"])
        with self.assertRaises(self.ev.exceptions.ResourceNotFoundException):
            self.ev.describe_rule(Name="no-such-rule")


if __name__ == "__main__":
    unittest.main()
