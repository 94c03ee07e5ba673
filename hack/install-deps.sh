#!/usr/bin/env bash
# Installs everything Backstop's build, tests and demo need on a fresh machine of this kind
# (Debian 12 + Swift 6.3). Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in libcurl4-openssl-dev libssl-dev libpq-dev libyaml-dev pkg-config postgresql postgresql-client \
           redis-server redis-tools clickhouse-server clickhouse-client nghttp2-server buildah; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: apt packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's packages start no services here; tests start their own on loopback.
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Python venv for moto's S3 server and the real Kubernetes python client used in tests.
venv=".venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import moto.server, kubernetes, kubernetes_validate, flask_cors' >/dev/null 2>&1; then
  echo "install-deps: python packages (moto[server], kubernetes, kubernetes-validate)"
  "$venv/bin/pip" install -q --disable-pip-version-check 'moto[server]' kubernetes kubernetes-validate
fi

# The chart and alert checks' tools (helm-python-sdk, checkov, promtool).
hack/install-chart-tools.sh

# kubectl 1.32 ships inside the image's Cloud SDK; tests call it directly.
if [ ! -x /usr/lib/google-cloud-sdk/bin/kubectl.1.32 ]; then
  echo "install-deps: kubectl.1.32 not found at /usr/lib/google-cloud-sdk/bin (the real-client tests need it)" >&2
  exit 1
fi
echo "install-deps: ok"
