#!/usr/bin/env bash
# Runs the kopf peer of `backstop-bench operator --peer kopf` (hack/kopf-peer.py) against the
# cluster KUBECONFIG names. kopf comes from PyPI (the machine's pip mirror) into its own venv,
# .cache/kopf-venv, installed on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/kopf-venv
[ -x "$venv/bin/python" ] || { mkdir -p .cache && python3 -m venv "$venv"; }
"$venv/bin/python" -c 'import kopf' >/dev/null 2>&1 || "$venv/bin/pip" install -q --disable-pip-version-check 'kopf>=1.37,<2'
exec "$venv/bin/kopf" run --standalone --all-namespaces --log-format=plain --quiet hack/kopf-peer.py
