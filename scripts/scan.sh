#!/usr/bin/env bash
# Deploy the stack against the emulators (as the demo does: ministack, and moto for the SSM
# document) and scan it with Prowler (its IAM, Lambda, SNS, SQS and KMS checks),
# as security teams scan every account. Not part of the test suite: Prowler is large; this script
# installs it (pinned) into its own virtualenv, .venv-prowler, on first use.
#   bash scripts/scan.sh            # prints the FAIL findings of the stack's resources
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup-emulators.sh >/dev/null
venv="${SECAUTO_EMULATOR_VENV:-$root/.venv}"
pv="$root/.venv-prowler"
if [ ! -x "$pv/bin/prowler" ]; then
  python3 -m venv "$pv"
  "$pv/bin/pip" install --quiet --disable-pip-version-check "prowler==5.46.0"
fi
cargo build --quiet -p secauto
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
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
export AWS_ACCESS_KEY_ID=scan AWS_SECRET_ACCESS_KEY=scan AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL="http://127.0.0.1:$cw_port"
export AWS_ENDPOINT_URL_SSM="http://127.0.0.1:$moto_port" AWS_ENDPOINT_URL_EVENTBRIDGE="http://127.0.0.1:$moto_port"
cat >"$work/secauto.toml" <<TOML
[stack]
name = "scan"
[securityhub]
automation_rules = false
custom_actions = false
[lambda]
artifacts_dir = "$work/bundles"
role_propagation_timeout_seconds = 0
TOML
secauto="$root/target/debug/secauto"
"$secauto" build --bootstrap /bin/true --config "$work/secauto.toml" >/dev/null
"$secauto" deploy --config "$work/secauto.toml" --state "$work/state.json" --no-progress >/dev/null
"$pv/bin/prowler" aws --region us-east-1 --services iam awslambda sns sqs kms \
  -M json-ocsf -o "$work/out" --no-banner >"$work/prowler.log" 2>&1 || true
"$venv/bin/python" - "$work"/out/*.ocsf.json <<'PY'
import json, sys
findings = json.load(open(sys.argv[1]))
ours = [f for f in findings if "scan-" in json.dumps(f.get("resources", []))]
fails = [f for f in ours if f.get("status_code") == "FAIL"]
print(f"{len(ours)} checks of the stack's resources, {len(fails)} FAIL")
for f in fails:
    print(f"FAIL {f['metadata']['event_code']}: {f['resources'][0].get('uid', '')}")
PY
