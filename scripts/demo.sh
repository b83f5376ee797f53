#!/usr/bin/env bash
# The whole job against local AWS emulators: build, deploy, status, a drift and its repair, destroy.
# scripts/emulators.sh starts them on free loopback ports: ministack (IAM, STS, KMS, SNS, SQS, Lambda —
# which keeps DeadLetterConfig, as AWS does — and CloudWatch), moto (EventBridge, whose bus policy
# ministack does not store as given, and the SSM document) and the project's Security Hub emulator
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
echo "== emulators: ministack $AWS_ENDPOINT_URL, moto (EventBridge, SSM) $AWS_ENDPOINT_URL_EVENTBRIDGE, Security Hub $AWS_ENDPOINT_URL_SECURITYHUB"
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
