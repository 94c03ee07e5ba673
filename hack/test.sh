#!/usr/bin/env bash
# The whole test suite: the chart and alert checks (hack/chart-checks.sh), then starts the real
# data stores on loopback (one set for the whole run), builds once, runs every test.
# Extra arguments go to `swift test` (e.g. `hack/test.sh --filter KubeSimTests`); they run
# one at a time like the serial phase below.
#
# Two phases share the data stores:
#  1. the pure suites (no servers, no clocks: JSON, YAML, the API model, the core rules, the
#     planners) run in parallel;
#  2. everything else runs one test at a time: those tests assert time bounds (timeouts,
#     cancellation, backoff) and start operators, Pods and Jobs that two shared cores would
#     slow past those bounds for reasons unrelated to the code under test.
# The serial phase's summary line is printed last.
set -euo pipefail
cd "$(dirname "$0")/.."
# The chart, manifests and alert checks first: they fail fast and keep swift test's summary last.
hack/chart-checks.sh
swift build --build-tests
# The image recipe, checked on the binary just built (the release image links the Swift runtime statically).
hack/image-checks.sh
if [ $# -gt 0 ]; then
  exec hack/test-services.sh run -- swift test --skip-build --no-parallel "$@"
fi
pure='^(DynamicJSONTests|YAMLTests|KubeModelTests|BackstopCoreTests)\.|^ControllersTests\.[A-Za-z]*Planner[A-Za-z]*Tests'
exec hack/test-services.sh run -- bash -c '
  echo "== pure suites, in parallel"
  swift test --skip-build --filter "$1"; pure=$?
  echo "== the other suites, one test at a time"
  swift test --skip-build --no-parallel --skip "$1"; serial=$?
  [ "$pure" -eq 0 ] || echo "the pure suites failed (exit $pure): see the first summary above" >&2
  [ "$pure" -eq 0 ] && [ "$serial" -eq 0 ]
' test-phases "$pure"
