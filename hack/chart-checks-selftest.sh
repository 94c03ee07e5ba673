#!/usr/bin/env bash
# Shows that every check of hack/chart-checks.sh can fail: each case copies the work tree,
# breaks one thing, runs the checks and expects the named check to FAIL (and the run to exit
# non-zero). A check that cannot fail is a defect. Not part of hack/test.sh (about 2 minutes);
# run it after changing hack/chart_checks.py.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/install-chart-tools.sh
repo=$(pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failures=0

expect_fail() {
  local check="$1" what="$2" breakage="$3" tree="$scratch/tree" out
  rm -rf "$tree" && mkdir -p "$tree/.cache"
  tar -C "$repo" --exclude=./.git --exclude=./.venv --exclude=./.cache --exclude='./.build*' -cf - . | tar -C "$tree" -xf -
  ln -s "$repo/.cache/chart-venv" "$tree/.cache/chart-venv"
  ln -s "$repo/.cache/promtool" "$tree/.cache/promtool"
  (cd "$tree" && eval "$breakage")
  if out=$(cd "$tree" && .cache/chart-venv/bin/python hack/chart_checks.py 2>&1); then
    echo "selftest: DEFECT $check passed although $what"; failures=$((failures + 1))
  elif grep -q "^chart-checks: FAIL $check (" <<<"$out"; then   # failed when run, not "not run"
    echo "selftest: ok   $check fails when $what"
  else
    echo "selftest: DEFECT $check did not fail when $what:"; grep '^chart-checks:' <<<"$out"; failures=$((failures + 1))
  fi
}

expect_fail crds-in-sync "a chart CRD differs from crds/" \
  'echo "# edited" >> charts/backstop/crds/backstop.dev_drillruns.yaml'
expect_fail helm-lint-strict "Chart.yaml has an invalid version" \
  'sed -i "s/^version: .*/version: one/" charts/backstop/Chart.yaml'
expect_fail helm-lint-strict "a template uses a deprecated API (a lint warning)" \
  'printf "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: x}\nspec: {minAvailable: 1, selector: {matchLabels: {a: b}}}\n" > charts/backstop/templates/zz-deprecated.yaml'
expect_fail helm-render "the values schema accepts replicaCount 0" \
  'sed -i "s/\"replicaCount\": {\"type\": \"integer\", \"minimum\": 1}/\"replicaCount\": {\"type\": \"integer\"}/" charts/backstop/values.schema.json'
expect_fail kubernetes-validate "a rendered Service has an unknown field (--strict)" \
  'sed -i "s/^  type: {{ .Values.metrics.service.type }}/&\n  bogusField: true/" charts/backstop/templates/service.yaml'
expect_fail prometheus-operator-objects "the ServiceMonitor misspells scrapeTimeout" \
  'sed -i "s/      scrapeTimeout:/      scrapeTimout:/" charts/backstop/templates/servicemonitor.yaml'
expect_fail prometheus-operator-objects "the ServiceMonitor's interval is not a duration" \
  'sed -i "s/interval: {{ .Values.metrics.serviceMonitor.interval }}/interval: every-30s/" charts/backstop/templates/servicemonitor.yaml'
expect_fail checkov "the chart allows privilege escalation" \
  'sed -i "s/allowPrivilegeEscalation: false/allowPrivilegeEscalation: true/" charts/backstop/templates/deployment.yaml'
expect_fail checkov "manifests/ loses its CPU limit" \
  'sed -i "/cpu: \"1\"/d" manifests/deployment.yaml'
expect_fail checkov "a checkov skip has no reason" \
  'sed -i "s/CKV_K8S_38=.*/CKV_K8S_38/" manifests/deployment.yaml'
expect_fail chart-vs-manifests-drift "manifests/ ClusterRole gains a verb" \
  'sed -i "0,/verbs: \[list, watch\]/s//verbs: [get, list, watch]/" manifests/clusterrole.yaml'
expect_fail chart-vs-manifests-drift "the chart's readiness probe path changes" \
  'sed -i "s#path: /readyz#path: /healthz#" charts/backstop/templates/deployment.yaml'
expect_fail chart-vs-manifests-drift "the namespaced install no longer tells the operator its namespaces" \
  'sed -i "s/name: BACKSTOP_NAMESPACES/name: BACKSTOP_WATCH_NAMESPACES/" charts/backstop/templates/deployment.yaml'
expect_fail promtool-check-rules "an alert expression does not parse" \
  'sed -i "s/max by (namespace, policy) (backstop_backup_stale_after_seconds)/max by (namespace, policy (backstop_backup_stale_after_seconds)/" charts/backstop/files/backstop.rules.yaml'
expect_fail promtool-check-rules "an alert's runbook section is missing" \
  'sed -i "s/^## DrillOverdue$/## Drill overdue/" docs/alerts.md'
expect_fail promtool-check-rules "the PrometheusRule renders other rules than the file promtool tests" \
  'sed -i "s#.Files.Get \"files/backstop.rules.yaml\"#& | replace \"severity: warning\" \"severity: info\"#" charts/backstop/templates/prometheusrule.yaml'
expect_fail promtool-test-rules "DrillOverdue waits 200 days instead of 100" \
  'sed -i "s/> 100 \* 86400/> 200 * 86400/" charts/backstop/files/backstop.rules.yaml'
expect_fail promtool-test-rules "BackupFailing ignores the failure that creates its counter" \
  'sed -i "s/(backstop_backup_failures_total unless backstop_backup_failures_total offset 1h) > 0/(backstop_backup_failures_total) < 0/" charts/backstop/files/backstop.rules.yaml'
expect_fail promtool-test-rules "an annotation names a label the alert does not carry" \
  'sed -i "s/{{ \$labels.rotation }} failed\"/{{ \$labels.secret }} failed\"/" charts/backstop/files/backstop.rules.yaml'

if [ "$failures" -gt 0 ]; then
  echo "selftest: $failures check(s) did not fail when they should"; exit 1
fi
echo "selftest: every check fails when what it checks is broken"
