#!/usr/bin/env bash
# Benchmarks that print figures (no timed assertions):
#  - fleet speed: 8 targets in one run against the same 8 one after another;
#  - deploy speed against the emulators with latency added to every call (SECAUTO_BENCH_LATENCY_MS,
#    default 100): cold deploy, no-op deploy, destroy, their calls, and the critical-path bound;
#  - time to respond: 20 `secauto verify` runs on the emulators, import → notification median and p95,
#    each hop's share (VERIFY_RUNS);
#  - triage throughput and bootstrap start-up (cargo bench -p secauto-core), with BENCH_CORE=1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-emulators.sh
export AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
cargo test --workspace --test bench_deploy --test bench_fleet --test verify -- --ignored --nocapture --test-threads 1
if [ "${BENCH_CORE:-0}" = 1 ]; then
  cargo bench -p secauto-core
fi
