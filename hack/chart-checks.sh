#!/usr/bin/env bash
# The Helm chart, manifests/ and alert checks, with real tools: helm lint --strict and render
# (Helm's library), kubernetes-validate --strict for 1.32, the ServiceMonitor and PrometheusRule
# against the Prometheus Operator's API, checkov on the rendered chart and on
# `kubectl kustomize manifests/`, chart-vs-manifests drift, promtool check rules and promtool
# test rules. One PASS/FAIL line per check; exits non-zero when any check fails.
# Run by hack/test.sh before the Swift build; runs alone in ~10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/install-chart-tools.sh
exec .cache/chart-venv/bin/python hack/chart_checks.py "$@"
