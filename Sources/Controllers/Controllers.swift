/// Controllers: one gather → plan → execute controller per Backstop kind, over KubeRuntime.
///
/// Today: the BackupPolicy controller (`BackupPolicyController`, planner `BackupPlanner`,
/// Job builder `AgentJobBuilder`). Register with `backstopControllers(settings)`.
///
/// RBAC the controllers need (the ClusterRole in `manifests/` is written from this list):
/// - `backstop.dev` `backuppolicies`: get, list, watch
/// - `backstop.dev` `backuppolicies/status`: get, update, patch
/// - `batch` `jobs`: get, list, watch, create, delete, patch
/// - `""` `pods`: get, list, watch (the agent's result is the Pod's termination message)
/// - `""` `secrets`: get (existence and keys of the Secrets a policy names; never list/watch)
/// - `""` `events`: create, patch (the EventRecorder); `events.k8s.io` is not used
/// - `coordination.k8s.io` `leases`: get, create, update (leader election, in the operator namespace)
enum ControllersModule {}
