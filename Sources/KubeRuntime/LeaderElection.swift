import Foundation
import KubeClient
import KubeModel
import Logging
import ServiceLifecycle
import Synchronization

public struct LeaderElectionConfig: Sendable {
    public var leaseName: String
    public var namespace: String
    /// Unique per process: hostname plus a random suffix by default.
    public var identity: String
    /// Followers wait this long after the last observed change before taking over.
    public var leaseDuration: Duration
    /// A leader that could not renew for this long stops its controllers (< leaseDuration).
    public var renewDeadline: Duration
    public var retryPeriod: Duration
    /// Release the Lease on graceful shutdown so a successor takes over at once.
    public var releaseOnShutdown: Bool

    public init(leaseName: String = "backstop-controller", namespace: String, identity: String? = nil,
                leaseDuration: Duration = .seconds(15), renewDeadline: Duration = .seconds(10),
                retryPeriod: Duration = .seconds(2), releaseOnShutdown: Bool = true) {
        self.leaseName = leaseName
        self.namespace = namespace
        self.identity = identity ?? Self.defaultIdentity()
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
        self.releaseOnShutdown = releaseOnShutdown
    }

    public static func defaultIdentity() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "backstop"
        return "\(host)_\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// The decision of one acquire/renew attempt, computed without I/O. Times are local monotonic
/// instants: a follower measures the lease from when *it* last saw the record change, so
/// clock skew between machines does not matter (client-go does the same).
struct LeaseElection {
    struct Record: Equatable {
        var holder: String?
        var leaseDurationSeconds: Int32?
        var renewTime: MicroTime?
        var acquireTime: MicroTime?
        var transitions: Int32?
    }
    enum Decision: Equatable {
        /// Held by another holder whose lease has not expired.
        case heldBy(String)
        /// Write this spec (create or conditional update).
        case write(Lease.Spec)
    }

    let identity: String
    let leaseDuration: Duration
    private(set) var observed: Record?
    private(set) var observedAt: ContinuousClock.Instant?

    init(identity: String, leaseDuration: Duration) {
        self.identity = identity
        self.leaseDuration = leaseDuration
    }

    mutating func decide(current spec: Lease.Spec?, now: ContinuousClock.Instant, wallNow: MicroTime) -> Decision {
        let record = spec.map { Record(holder: $0.holderIdentity, leaseDurationSeconds: $0.leaseDurationSeconds,
                                       renewTime: $0.renewTime, acquireTime: $0.acquireTime, transitions: $0.leaseTransitions) }
        if record != observed || observedAt == nil {
            observed = record
            observedAt = now
        }
        let holder = record?.holder ?? ""
        if !holder.isEmpty, holder != identity {
            let duration = record?.leaseDurationSeconds.map { Duration.seconds(Int64($0)) } ?? leaseDuration
            if let observedAt, now < observedAt + duration { return .heldBy(holder) }
        }
        var next = Lease.Spec(holderIdentity: identity, leaseDurationSeconds: Int32(leaseDuration.components.seconds))
        next.renewTime = wallNow
        if holder == identity {
            next.acquireTime = record?.acquireTime ?? wallNow
            next.leaseTransitions = record?.transitions ?? 0
        } else {
            next.acquireTime = wallNow
            next.leaseTransitions = (record?.transitions ?? 0) + (record == nil || holder.isEmpty ? 0 : 1)
        }
        return .write(next)
    }

    /// After our own successful write, remember it so our next renew is not a "change".
    mutating func wrote(_ spec: Lease.Spec, now: ContinuousClock.Instant) {
        observed = Record(holder: spec.holderIdentity, leaseDurationSeconds: spec.leaseDurationSeconds,
                          renewTime: spec.renewTime, acquireTime: spec.acquireTime, transitions: spec.leaseTransitions)
        observedAt = now
    }
}

/// Leader election on a `coordination.k8s.io/v1` Lease. Publishes its view in `leadership`;
/// on graceful shutdown it releases the Lease (holder cleared) so a successor starts at once.
/// Cancelled without graceful shutdown it just stops, and others take over after the lease
/// duration. A `Service`: register it before the controllers so they stop first.
public final class LeaderElector: Service, Sendable {
    public let config: LeaderElectionConfig
    public let leadership = Leadership()
    private let api: ResourceClient<Lease>
    private let logger: Logger
    private let election: Mutex<LeaseElection>

    public init(client: KubeClient, config: LeaderElectionConfig, logger: Logger? = nil) {
        self.config = config
        election = Mutex(LeaseElection(identity: config.identity, leaseDuration: config.leaseDuration))
        api = client.resource(Lease.self, namespace: config.namespace)
        var logger = logger ?? client.logger
        logger[metadataKey: "lease"] = "\(config.namespace)/\(config.leaseName)"
        logger[metadataKey: "identity"] = "\(config.identity)"
        self.logger = logger
    }

    public func run() async throws {
        let lastLease = await cancelWhenGracefulShutdown { await self.electionLoop() }
        // Graceful shutdown (not a cancellation of the whole task): hand the lease over. A lease
        // written just before the signal counts even if leadership was not announced yet.
        if config.releaseOnShutdown, !Task.isCancelled, let lease = lastLease { await release(lease) }
        leadership.set(.following(holder: nil))
    }

    /// Clears the holder. A renewal cancelled by the shutdown may still have reached the server,
    /// leaving `lease` one version behind: on a conflict, read it again and release that copy
    /// while it still names us.
    private func release(_ written: Lease) async {
        var lease = written
        for _ in 0..<3 {
            lease.spec?.holderIdentity = nil
            lease.spec?.leaseDurationSeconds = 1
            lease.spec?.renewTime = MicroTime.now()
            do {
                _ = try await api.update(lease)
                logger.info("released the lease")
                return
            } catch where error.kind == .conflict {
                guard let current = try? await api.getIfExists(config.leaseName), current.spec?.holderIdentity == config.identity else { return }
                lease = current
            } catch {
                logger.warning("could not release the lease", metadata: ["error": "\(error)"])
                return
            }
        }
        logger.warning("could not release the lease: it kept changing under us")
    }

    /// Campaigns, leads while renewals succeed, campaigns again after a loss; returns (the
    /// last Lease written while leading) when cancelled.
    private func electionLoop() async -> Lease? {
        var lastLease: Lease?
        while !Task.isCancelled {
            lastLease = nil
            while !Task.isCancelled {
                if let lease = await tryAcquireOrRenew() {
                    lastLease = lease
                    break
                }
                await sleep(config.retryPeriod)
            }
            guard !Task.isCancelled else { break }
            logger.info("became leader")
            leadership.set(.leading)
            var lastRenew = ContinuousClock.now
            while !Task.isCancelled {
                await sleep(config.retryPeriod)
                guard !Task.isCancelled else { break }
                // An attempt may not outlive the renew deadline: a hung request must not keep
                // us "leading" past the point where others may take over.
                let remaining = config.renewDeadline - (ContinuousClock.now - lastRenew)
                if remaining > .zero, let lease = await tryAcquireOrRenew(within: remaining) {
                    lastLease = lease
                    lastRenew = .now
                } else if ContinuousClock.now - lastRenew > config.renewDeadline {
                    logger.error("lost leadership: the lease was not renewed within the renew deadline")
                    leadership.set(.following(holder: nil))
                    lastLease = nil
                    break
                }
            }
        }
        return lastLease
    }

    private func sleep(_ d: Duration) async {
        // A little jitter so that candidates do not move in lockstep.
        try? await Task.sleep(for: d * Double.random(in: 1.0...1.2))
    }

    private func tryAcquireOrRenew(within limit: Duration) async -> Lease? {
        await withTaskGroup(of: Lease?.self) { group in
            group.addTask { await self.tryAcquireOrRenew() }
            group.addTask { try? await Task.sleep(for: limit); return nil }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// One attempt; the Lease as written when we hold it afterwards, nil otherwise.
    private func tryAcquireOrRenew() async -> Lease? {
        do {
            let existing = try await api.getIfExists(config.leaseName)
            let decision = election.withLock { $0.decide(current: existing?.spec, now: .now, wallNow: .now()) }
            switch decision {
            case .heldBy(let holder):
                leadership.set(.following(holder: holder))
                return nil
            case .write(let spec):
                let written: Lease
                if var lease = existing {
                    lease.spec = spec
                    written = try await api.update(lease)
                } else {
                    written = try await api.create(Lease(metadata: ObjectMeta(name: config.leaseName, namespace: config.namespace),
                                                         spec: spec))
                }
                election.withLock { $0.wrote(spec, now: .now) }
                return written
            }
        } catch {
            if error.kind != .conflict && error.kind != .alreadyExists && error.kind != .cancelled {
                logger.debug("lease attempt failed", metadata: ["error": "\(error)"])
            }
            return nil
        }
    }
}
