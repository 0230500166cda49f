#!/usr/bin/env bash
# The README's demo: start the built-in emulator, then run kubectl through arcproxy's run mode
# against the emulated cluster "demo", exactly as a CI step would against Azure.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/bundle/main.cjs ] || npm run build --silent
./scripts/install-kubectl.sh >/dev/null
KUBECTL=$(command -v ./.tools/kubectl/kubectl || command -v kubectl)

state=$(mktemp -d)
cleanup() { set +x; [ -n "${emu_pid:-}" ] && kill "$emu_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$state"; }
trap cleanup EXIT

./bin/arcproxy.js emulator --write-env "$state/env" --state-dir "$state" >"$state/emulator.log" 2>&1 &
emu_pid=$!
for _ in $(seq 1 100); do
  grep -q 'emulator ready' "$state/emulator.log" 2>/dev/null && break
  kill -0 "$emu_pid" 2>/dev/null || { cat "$state/emulator.log"; exit 1; }
  sleep 0.1
done
grep -q 'emulator ready' "$state/emulator.log" || { echo "emulator did not start"; cat "$state/emulator.log"; exit 1; }
# shellcheck disable=SC1091
. "$state/env"
export HOME="$state"   # keep the demo away from your ~/.kube/config

set -x
./bin/arcproxy.js -n demo -g demo-rg --port 0 -- "$KUBECTL" get pods -o wide
./bin/arcproxy.js -n demo -g demo-rg --port 0 -- "$KUBECTL" exec hello-0 -- echo "hello through Azure Relay"
