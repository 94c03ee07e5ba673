#!/usr/bin/env bash
# Installs what hack/chart-checks.sh needs on a fresh machine of this kind. Idempotent: a second
# run only checks. Called by hack/install-deps.sh (CI) and by hack/chart-checks.sh itself.
#  - Into their own venv, .cache/chart-venv: helm-python-sdk (Helm 4's library: no helm binary
#    exists for this machine in Debian or on PyPI), checkov, kubernetes-validate, PyYAML, and the
#    Prometheus Operator's API as pydantic models (for the ServiceMonitor and PrometheusRule,
#    which kubernetes-validate cannot check). Not the
#    test venv .venv: checkov pins old boto3/botocore/packaging and would downgrade what moto's
#    S3 server (used by the Swift tests) runs on. checkov and the Helm library are pinned: a new
#    checkov release brings new checks, to be adopted on purpose, not by surprise in CI.
#  - promtool, extracted from Debian's prometheus package into .cache/promtool (installing the
#    package would bring ~350 MB of web UI and a service; promtool alone needs only libc).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.cache/chart-venv
[ -x "$venv/bin/python" ] || { mkdir -p .cache && python3 -m venv "$venv"; }
if ! "$venv/bin/python" -c 'import helm_python, checkov, kubernetes_validate, yaml, cloudcoil.models.prometheus_operator' >/dev/null 2>&1; then
  echo "install-chart-tools: python packages (helm-python-sdk, checkov, kubernetes-validate, Prometheus Operator models)"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    'helm-python-sdk==0.2.2' 'checkov==3.3.30' 'cloudcoil-models-prometheus-operator==0.80.1.0' kubernetes-validate pyyaml
fi

promtool=.cache/promtool/usr/bin/promtool
if ! "$promtool" --version >/dev/null 2>&1; then
  echo "install-chart-tools: promtool (from Debian's prometheus package, extracted)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp"   # apt's download sandbox user must be able to write here
  if ! (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); then
    apt-get update -qq
    (cd "$tmp" && apt-get download -qq prometheus >/dev/null)
  fi
  dpkg -x "$tmp"/prometheus_*.deb "$tmp/root"
  mkdir -p "$(dirname "$promtool")"
  cp "$tmp/root/usr/bin/promtool" "$promtool"
  "$promtool" --version >/dev/null
fi
