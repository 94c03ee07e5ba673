/// BackstopApp: the operator process assembled from the modules below it, kept out of the
/// executable so `backstop run`, `backstop-demo`, the benchmark and the tests drive one code path.
///
/// - `OperatorOptions` / `OperatorProcess`: config → KubeClient → Manager with
///   `backstopControllers(ControllerSettings)` → HealthServer, all in one ServiceGroup.
/// - `StatusReport`: the `backstop status` incident view (pure formatting + one LIST).
/// - The embedded demo lives in `BackstopDemo` (it needs the simulator; the operator does not).
/// - `ManifestFiles`: reads the `manifests/` kustomize base, so tests and the benchmark apply
///   exactly the RBAC that ships.
/// - `ChildProcess`: child processes awaited without blocking the cooperative pool.
import KubeRuntime
