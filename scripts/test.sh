#!/usr/bin/env bash
# The test suite: installs the pinned emulators into .venv (once), then runs every test.
# Integration tests start their own emulators on free loopback ports; nothing needs to be running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-emulators.sh
export AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
cargo test --workspace --all-targets "$@"
