#!/usr/bin/env bash
# The whole test suite: starts the real data stores on loopback, builds once, runs every test.
# Extra arguments go to `swift test` (e.g. `hack/test.sh --filter KubeSimTests`).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
exec hack/test-services.sh run -- swift test --skip-build "$@"
