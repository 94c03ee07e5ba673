#!/usr/bin/env bash
# The whole test suite: the chart and alert checks (hack/chart-checks.sh), then starts the real
# data stores on loopback, builds once, runs every test.
# Extra arguments go to `swift test` (e.g. `hack/test.sh --filter KubeSimTests`).
# Tests run one at a time: many assert time bounds (timeouts, cancellation, backoff) that
# 230 tests sharing two cores would break for reasons unrelated to the code under test.
set -euo pipefail
cd "$(dirname "$0")/.."
# The chart, manifests and alert checks first: they fail fast and keep swift test's summary last.
hack/chart-checks.sh
swift build --build-tests
# The image recipe, checked on the binary just built (the release image links the Swift runtime statically).
hack/image-checks.sh
exec hack/test-services.sh run -- swift test --skip-build --no-parallel "$@"
