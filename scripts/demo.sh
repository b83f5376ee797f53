#!/usr/bin/env bash
# The whole job against local AWS emulators: build, deploy, status, a drift and its repair, destroy.
# ministack serves IAM, STS, KMS, SNS, SQS, Lambda (which keeps DeadLetterConfig, as AWS does) and
# CloudWatch; moto serves EventBridge (ministack ignores a bus policy given whole, as PutPermission's
# Policy) and the SSM document ministack lacks.
# Both run on free loopback ports and are stopped on exit. Nothing here reaches AWS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup-emulators.sh
venv="${SECAUTO_EMULATOR_VENV:-$root/.venv}"

echo "== building secauto (debug; a first build takes several minutes)"
cargo build --quiet -p secauto
secauto="$root/target/debug/secauto"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "$1 did not start" >&2; exit 1; }

moto_port=$(free_port)
MOTO_IAM_LOAD_MANAGED_POLICIES=true "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
cw_port=$(free_port)
(cd "$work" && BIND_HOST=127.0.0.1 GATEWAY_PORT="$cw_port" IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 \
  exec "$venv/bin/python" -m ministack >"$work/ministack.log" 2>&1) &
pids+=($!)
wait_http "http://127.0.0.1:$moto_port/moto-api/"
wait_http "http://127.0.0.1:$cw_port/"
echo "== emulators: ministack on :$cw_port, moto (EventBridge, SSM) on :$moto_port"

export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$cw_port" AWS_ENDPOINT_URL_SSM="http://127.0.0.1:$moto_port"
export AWS_ENDPOINT_URL_EVENTBRIDGE="http://127.0.0.1:$moto_port"

cat >"$work/secauto.toml" <<TOML
[stack]
name = "demo"

[notifications]
emails = ["soc@example.com"]

# Security Hub automation rules and custom actions exist in no local emulator; against AWS leave
# these on (the default).
[securityhub]
automation_rules = false
custom_actions = false

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
"$venv/bin/python" - <<PY
import boto3
kw = dict(region_name="us-east-1", endpoint_url="http://127.0.0.1:$cw_port")
boto3.client("events", region_name="us-east-1", endpoint_url="http://127.0.0.1:$moto_port").put_rule(Name="demo-findings", EventPattern='{"source":["aws.securityhub"]}')
boto3.client("lambda", **kw).delete_function(FunctionName="demo-notification")
PY
run_rc status
run deploy
run status
run destroy --yes
echo; echo "== demo done: everything was created, checked, repaired and deleted"
