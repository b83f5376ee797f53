#!/usr/bin/env bash
# Install the pinned AWS emulators (moto server, ministack) into the project-local virtualenv .venv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${SECAUTO_EMULATOR_VENV:-$root/.venv}"
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp="$venv/.secauto-requirements"
if ! cmp -s "$root/scripts/emulators-requirements.txt" "$stamp" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/emulators-requirements.txt"
  cp "$root/scripts/emulators-requirements.txt" "$stamp"
fi
"$venv/bin/moto_server" --help >/dev/null
"$venv/bin/python" -c 'import ministack, cbor2' 
echo "emulators ready in $venv"
