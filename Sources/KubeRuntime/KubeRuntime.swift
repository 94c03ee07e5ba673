/// KubeRuntime: reflectors and caches, the work queue, the controller loop, leader election, the
/// event recorder and the health/metrics server, each a swift-service-lifecycle `Service`.
///
/// ```swift
/// let manager = Manager(client: client, options: ManagerOptions(namespaces: nil,
///                       leaderElection: LeaderElectionConfig(namespace: "backstop-system")))
/// let policies = manager.informer(BackupPolicy.self)          // shared, indexed cache
/// let jobs = manager.informer(Job.self, labelSelector: "app.kubernetes.io/managed-by=backstop")
/// let controller = manager.controller(name: "backuppolicy", workers: 2) { key, ctx in
///     guard let policy = policies.cache.get(key) else { return .done }   // deleted
///     … gather / plan / act …
///     return .requeue(after: .seconds(secondsToNextSlot))   // or .done; throw → backoff;
/// }                                                           // throw TerminalError → no retry
/// controller.watches(policies)                                // own key per change
/// controller.watchesOwned(jobs, ownerKind: "BackupPolicy")   // owner's key per child change
/// manager.recorder.record(policy, type: .warning, reason: "BackupFailed", message: "…")
/// try await ServiceGroup(services: [health] + manager.services …).run()
/// ```
/// Services stop in reverse order: controllers drain first, then the Lease is released.
