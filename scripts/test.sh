#!/usr/bin/env bash
# The test suite: installs the pinned emulators into .venv (once), then runs every test.
# Integration tests start their own emulators on free loopback ports; nothing needs to be running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-emulators.sh
export AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
# The Security Hub and EventBridge emulators' own tests (Python, seconds).
.venv/bin/python -m unittest discover -s emulators/securityhub -p 'test_*.py'
.venv/bin/python -m unittest discover -s emulators/eventbridge -p 'test_*.py'
cargo test --workspace --all-targets "$@"
