#!/usr/bin/env bash
# The whole job against local AWS emulators: build, deploy, status, verify, a finding from import to the team,
# a drift and its repair, destroy.
# scripts/emulators.sh starts them on free loopback ports: ministack (IAM, STS, KMS, SNS, SQS, Lambda —
# which keeps DeadLetterConfig, as AWS does, and runs the functions — and CloudWatch), moto (EventBridge's
# rules and targets, whose bus policy ministack does not store as given, and the SSM document), the
# project's EventBridge emulator (delivering the events to the rules' targets) and Security Hub emulator
# (CSPM and today's Security Hub, both turned on here). They are stopped on exit. Nothing here reaches AWS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup-emulators.sh
venv="${SECAUTO_EMULATOR_VENV:-$root/.venv}"

echo "== building secauto (debug; a first build takes several minutes)"
cargo build --quiet -p secauto
secauto="$root/target/debug/secauto"

work=$(mktemp -d)
export SECAUTO_EMULATORS_DIR="$work/emulators"
cleanup() {
  bash "$root/scripts/emulators.sh" stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
eval "$(bash scripts/emulators.sh start)"
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
echo "== emulators: ministack $AWS_ENDPOINT_URL, EventBridge $AWS_ENDPOINT_URL_EVENTBRIDGE, moto (SSM) $AWS_ENDPOINT_URL_SSM, Security Hub $AWS_ENDPOINT_URL_SECURITYHUB"
"$venv/bin/python" - <<'PY'
import boto3
hub = boto3.client("securityhub")
hub.enable_security_hub(EnableDefaultStandards=False)
hub.enable_security_hub_v2()
print("== Security Hub CSPM and Security Hub (OCSF) enabled")
PY

cat >"$work/secauto.toml" <<TOML
[stack]
name = "demo"

[notifications]
emails = ["soc@example.com"]

[lambda]
artifacts_dir = "$work/bundles"
TOML
flags=(--config "$work/secauto.toml" --state "$work/demo.json" --no-progress)
run() { echo; echo "\$ secauto $*"; "$secauto" "$@" "${flags[@]}"; }
run_rc() { set +e; run "$@"; rc=$?; set -e; echo "(exit $rc)"; }

run build --profile dev
run_rc plan
run deploy
run status
echo; echo "== verify: a test finding (marked secauto:verify, about a resource that does not exist) followed through"
echo "   every hop — findings rule → triage → response event → remediation's dry run → notification on the topic —"
echo "   each hop timed; then archived, and verify's own queue and subscription removed"
run verify
echo; echo "== a finding imported into Security Hub reaches the team: findings rule → triage → the stack's bus →"
echo "   remediation and notification → the topic → an SQS queue subscribed to it (in both formats: with both"
echo "   Security Hubs on, the finding also arrives as its OCSF twin; remediation is notify-only here)"
"$venv/bin/python" - "$root/tests/data/ocsf/asff-twins/cspm-ec2.19-fail-new.json" <<'PY'
import json, sys, time
import boto3

account = boto3.client("sts").get_caller_identity()["Account"]
sqs, hub, ec2 = boto3.client("sqs"), boto3.client("securityhub"), boto3.client("ec2")
group = ec2.create_security_group(GroupName="admin-open", Description="EC2.19")["GroupId"]
ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
    {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]} for p in (22, 3389)])
queue = sqs.create_queue(QueueName="demo-inbox")["QueueUrl"]
boto3.client("sns").subscribe(TopicArn=f"arn:aws:sns:us-east-1:{account}:demo-notifications", Protocol="sqs",
                              Endpoint=f"arn:aws:sqs:us-east-1:{account}:demo-inbox")
with open(sys.argv[1]) as f:
    finding = json.loads(f.read().replace("111122223333", account).replace("sg-0a1b2c3d4e5f60718", group))["Findings"][0]
started = time.monotonic()
hub.batch_import_findings(Findings=[finding])
print(f"imported by BatchImportFindings: {finding['Title']} ({group} open to the world on 22 and 3389)")
seen = set()
while len(seen) < 4 and time.monotonic() - started < 60:
    for m in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        note = json.loads(m["Body"])
        seen.add(note["MessageId"])
        print(f"{time.monotonic() - started:5.1f} s  on the queue: {note['Subject']}")
got = hub.get_findings(Filters={"Id": [{"Value": finding["Id"], "Comparison": "EQUALS"}]})["Findings"][0]
print(f"the finding's workflow status in Security Hub: {got['Workflow']['Status']}")
PY
echo; echo "== someone edits the findings rule by hand and deletes a function"
"$venv/bin/python" - <<'PY'
import boto3
boto3.client("events").put_rule(Name="demo-findings", EventPattern='{"source":["aws.securityhub"]}')
boto3.client("lambda").delete_function(FunctionName="demo-notification")
PY
run_rc status
run deploy
run status
run destroy --yes
echo; echo "== demo done: everything was created, checked, repaired and deleted"
