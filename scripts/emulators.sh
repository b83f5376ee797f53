#!/usr/bin/env bash
# Every AWS emulator the project uses, in the background on free loopback ports:
#   moto server (EventBridge's buses, rules, targets and policies, SSM; MOTO_IAM_LOAD_MANAGED_POLICIES=true),
#   ministack (IAM, STS, KMS, SNS, SQS, Lambda, CloudWatch, ...), the EventBridge emulator
#   (emulators/eventbridge: EventBridge's endpoint, delivering each event to the targets of the rules it
#   matches, the functions in ministack included) and the Security Hub emulator (emulators/securityhub,
#   CSPM and V2), which hands its findings' events to the EventBridge emulator. The functions ministack
#   runs call the EventBridge, Security Hub and SSM emulators, as secauto does: an imported finding goes
#   through the deployed rules and functions.
#
#   eval "$(bash scripts/emulators.sh)"   start them (once: a second start reuses the running ones) and
#                                         point secauto and the AWS CLI at them
#   bash scripts/emulators.sh env         print the export lines of the running emulators
#   bash scripts/emulators.sh status      say what runs
#   bash scripts/emulators.sh stop        stop them
#
# State (pids, ports, logs) lives in .emulators/ (SECAUTO_EMULATORS_DIR). Nothing here reaches AWS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${SECAUTO_EMULATOR_VENV:-$root/.venv}"
state="${SECAUTO_EMULATORS_DIR:-$root/.emulators}"
names=(moto ministack eventbridge securityhub)
# ministack's account; moto is held to it, so that EventBridge's rules, the functions they invoke and
# Security Hub's findings are all in one account, as in AWS.
account=000000000000

say() { echo "$*" >&2; }
pid_of() { cat "$state/$1.pid" 2>/dev/null || true; }
port_of() { cat "$state/$1.port" 2>/dev/null || true; }
health_path() { case $1 in moto) echo /moto-api/ ;; ministack) echo / ;; *) echo /_emulator/health ;; esac; }
running() {
  local pid port
  pid=$(pid_of "$1"); port=$(port_of "$1")
  [ -n "$pid" ] && [ -n "$port" ] && kill -0 "$pid" 2>/dev/null &&
    curl -s -o /dev/null "http://127.0.0.1:$port$(health_path "$1")"
}
free_port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 1 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  say "$1 did not start; see $state/$2.log"; return 1
}

url_of() { echo "http://127.0.0.1:$(port_of "$1")"; }

# Start one emulator in its own session (so stop ends it and whatever it spawned), on the port chosen
# for it.
launch() {
  local name=$1 port
  port=$(port_of "$name")
  case $name in
    moto)
      MOTO_ACCOUNT_ID=$account MOTO_IAM_LOAD_MANAGED_POLICIES=true setsid "$venv/bin/moto_server" \
        -H 127.0.0.1 -p "$port" >"$state/moto.log" 2>&1 </dev/null 9>&- &
      ;;
    ministack)
      # The functions it runs inherit its environment: their calls go to ministack itself, and their
      # EventBridge, Security Hub and SSM calls to the same emulators as secauto's.
      mkdir -p "$state/ministack"
      (cd "$state/ministack" && BIND_HOST=127.0.0.1 GATEWAY_PORT="$port" IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 \
        AWS_ENDPOINT_URL="$(url_of ministack)" AWS_ENDPOINT_URL_EVENTBRIDGE="$(url_of eventbridge)" AWS_ENDPOINT_URL_SECURITYHUB="$(url_of securityhub)" \
        AWS_ENDPOINT_URL_SSM="$(url_of moto)" \
        exec setsid "$venv/bin/python" -m ministack >"$state/ministack.log" 2>&1 </dev/null 9>&-) &
      ;;
    eventbridge)
      EVENTBRIDGE_EMULATOR_CONTROL_ENDPOINT="$(url_of moto)" EVENTBRIDGE_EMULATOR_TARGETS_ENDPOINT="$(url_of ministack)" \
        setsid "$venv/bin/python" "$root/emulators/eventbridge/server.py" -H 127.0.0.1 -p "$port" \
        >"$state/eventbridge.log" 2>&1 </dev/null 9>&- &
      ;;
    securityhub)
      # Its events go to the EventBridge emulator; a caller's account is the one STS names, and STS
      # is ministack's here (AWS_ENDPOINT_URL), as it is for secauto.
      SECHUB_EMULATOR_EVENTBRIDGE_EMULATOR="$(url_of eventbridge)" SECHUB_EMULATOR_MOTO_ENDPOINT="$(url_of ministack)" \
        setsid "$venv/bin/python" "$root/emulators/securityhub/server.py" -H 127.0.0.1 -p "$port" \
        >"$state/securityhub.log" 2>&1 </dev/null 9>&- &
      ;;
  esac
  echo $! >"$state/$name.pid"
  wait_http "http://127.0.0.1:$port$(health_path "$name")" "$name"
  say "started $name on 127.0.0.1:$port (pid $(pid_of "$name"))"
}

# Start them all, unless all run: each is started knowing the others' ports, so a partial set is
# stopped and they start again together.
start_all() {
  local n all=1
  for n in "${names[@]}"; do running "$n" || all=0; done
  [ "$all" = 1 ] && return 0
  for n in securityhub eventbridge ministack moto; do stop_one "$n"; done
  for n in "${names[@]}"; do free_port >"$state/$n.port"; done
  for n in "${names[@]}"; do launch "$n"; done
}

exports() {
  local moto="http://127.0.0.1:$(port_of moto)" mini="http://127.0.0.1:$(port_of ministack)"
  cat <<ENV
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN
export AWS_ENDPOINT_URL=$mini
export AWS_ENDPOINT_URL_EVENTBRIDGE=$(url_of eventbridge) AWS_ENDPOINT_URL_SSM=$moto
export AWS_ENDPOINT_URL_SECURITYHUB=http://127.0.0.1:$(port_of securityhub)
ENV
}

stop_one() {
  local pid
  pid=$(pid_of "$1")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    say "stopped $1 (pid $pid)"
  fi
  rm -f "$state/$1.pid" "$state/$1.port"
}

case "${1:-start}" in
  start)
    bash "$root/scripts/setup-emulators.sh" >&2
    mkdir -p "$state"
    exec 9>"$state/.lock"
    flock 9
    start_all
    exports
    ;;
  env)
    for n in "${names[@]}"; do running "$n" || { say "$n is not running: bash scripts/emulators.sh"; exit 1; }; done
    exports
    ;;
  status)
    rc=0
    for n in "${names[@]}"; do
      if running "$n"; then echo "$n: running on 127.0.0.1:$(port_of "$n") (pid $(pid_of "$n"))"
      else echo "$n: stopped"; rc=3; fi
    done
    exit $rc
    ;;
  stop)
    for n in securityhub eventbridge ministack moto; do stop_one "$n"; done
    ;;
  *)
    say "usage: bash scripts/emulators.sh [start|env|status|stop]"; exit 2 ;;
esac
