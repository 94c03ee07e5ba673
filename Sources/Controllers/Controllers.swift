/// Controllers: one gather → plan → execute controller per Backstop kind, over KubeRuntime.
///
/// Today: the BackupPolicy, RestoreRequest, DrillRun (plus the drill schedule), CleanupPolicy
/// and SecretRotation controllers.
/// - Register: `for r in backstopControllers(ControllerSettings(agentImage: …)) { try r.setup(manager) }`
///   (or `BackupPolicyController.setup(manager, settings)`), then run `manager.services`.
/// - CleanupPolicy: `CleanupPlanner` (pure, scheduled like a BackupPolicy through `SlotPlanner`),
///   `CleanupJobBuilder` (one `backstop agent cleanup` Job per run, the guard filled in),
///   `CleanupResults` (per-target results → status). Its Jobs carry `backstop.dev/cleanup`.
/// - Notifications (`Notifications/`): each controller stages the transitions its `spec.notify`
///   listens to into `status.notifications.pending` in the status write that records them
///   (`NotificationTriggers` + `NotificationLedger`, pure); `NotificationDispatcher` delivers them
///   off the reconcile path (`WebhookRetry`, `NotificationMessage`) and writes the outcome back.
/// - `ControllerSettings`: `agentImage` (the operator's image; `spec.jobTemplate.image` wins),
///   `clock`, `backupWorkers`, `secretRecheckInterval`, `jobHistoryLimit`, `resultGracePeriod`,
///   `catalogWhenStatusMissing` (turn off for very large benchmarks).
/// - Layout: `Shared/` is the kit every controller uses (agent Job template and child names,
///   create-or-adopt, history trimming, result reader, status writer, condition Events, the slot
///   planner, the step machine, workload helpers; see docs/developer/controller-kit.md), and one
///   folder per controller. BackupPolicy: `BackupPlanner` (pure: `BackupObserved` →
///   `BackupPlan`), `AgentJobBuilder` (its typed agent specs), `BackupResults` (results → status).
///
/// Jobs carry the labels `backstop.dev/policy`, `backstop.dev/operation` (backup|prune|catalog),
/// `backstop.dev/slot` (`yyyymmddThhmmssZ`, `manual`, `follow-up`), `app.kubernetes.io/managed-by:
/// backstop`; Pods also `backstop.dev/job`. Annotations: `backstop.dev/slot-time`,
/// `backstop.dev/run-now` (the value a manual Job answers), `backstop.dev/recorded` (result in
/// status), `backstop.dev/created-at` (creation in Unix seconds with microseconds: orders Jobs
/// created within one second). Names: `NameRules.childName(policy, operation, token)` with the
/// slot, `manual/<value>`, the backup Job's name (prune) or the prune Job's name / policy uid
/// (catalog).
///
/// The agent runs `backstop agent <op> --spec-env BACKSTOP_SPEC --termination-log
/// /dev/termination-log`; Secret keys are mounted as files under `/var/run/backstop/secrets/<n>`,
/// claims at `/var/run/backstop/{store,source}`, scratch (`TMPDIR`) at `/var/run/backstop/tmp`.
/// The spec names those paths through `$(BACKSTOP_FILE_n)` env references (see `AgentJobBuilder`).
///
/// RBAC the controllers need (the ClusterRole in `manifests/` is written from this list):
/// - `backstop.dev` `backuppolicies`: list, watch, get (a finished drill writes the policy's
///   `lastDrill`; a drill's fresh backup is the policy's own run-now Job, never a spec write)
/// - `backstop.dev` `backuppolicies/status`: update
/// - `backstop.dev` `restorerequests`: list, watch, update (the resume finalizer), delete (TTL);
///   `restorerequests/status`: update
/// - `backstop.dev` `drillruns`: list, watch, create (drill schedules), update (the cleanup
///   finalizer), delete (history); `drillruns/status`: update
/// - `backstop.dev` `cleanuppolicies`: list, watch; `cleanuppolicies/status`: update
/// - `backstop.dev` `secretrotations`: list, watch, update (the roll-back finalizer);
///   `secretrotations/status`: update
/// - `apps` `deployments`, `statefulsets`: get; `deployments/scale`, `statefulsets/scale`: patch
///   (a restore fences the writers it names)
/// - `apps` `deployments`, `statefulsets`, `daemonsets`: list, patch (a rotation finds the
///   consumers of its Secret and rollout-restarts them)
/// - `batch` `jobs`: list, watch, create, patch (the `recorded` annotation), delete (history, Replace)
/// - `""` `pods`: list, watch (the agent's result is the Pod's termination message)
/// - `""` `secrets`: get (existence and key names of the Secrets a policy names; never list/watch);
///   create, delete (a rotation's pending Secret), patch (the Secret a rotation rotates)
/// - `backstop.dev` `restorerequests`, `drillruns`, `cleanuppolicies`, `secretrotations`: get too
///   (a webhook delivery writes its outcome into `status.notifications` after a fresh GET; see
///   `Notifications/NotificationDispatcher`)
/// - `""` `secrets`: get also reads a `spec.notify` webhook URL at delivery (never cached or logged)
/// - `""` `events`: create, patch (the EventRecorder)
/// - `coordination.k8s.io` `leases`: get, create, update (leader election, operator namespace)
enum ControllersModule {}
