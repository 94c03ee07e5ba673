import KubeClient
import KubeModel

/// A Backstop kind with a status subresource.
public protocol StatusBearing: KubeResource {
    associatedtype Status: Codable & Sendable & Hashable
    var status: Status? { get set }
}

extension BackupPolicy: StatusBearing {}
extension RestoreRequest: StatusBearing {}
extension DrillRun: StatusBearing {}
extension SecretRotation: StatusBearing {}
extension CleanupPolicy: StatusBearing {}

/// Writes `/status` only when the planned status differs from the observed one (an idle
/// object costs no request), as a PUT carrying the observed resourceVersion. A 409 is not
/// handled here: it propagates to the runtime's `Controller`, which requeues the key
/// (rate-limited, logged at debug) so the next reconcile plans from the fresher cache — never
/// a blind retry of a status computed from stale input.
public struct StatusWriter: Sendable {
    let client: KubeClient

    public init(client: KubeClient) { self.client = client }

    /// Returns true when a write was made.
    @discardableResult
    public func write<Object: StatusBearing>(_ observed: Object, status: Object.Status) async throws(KubeError) -> Bool {
        guard observed.status != status else { return false }
        var updated = observed
        updated.status = status
        try await client.resource(Object.self, namespace: observed.metadata.namespace).updateStatusReturningMetadata(updated)
        return true
    }

    /// `write`, for a reconcile that writes status more than once (a step-wise resource):
    /// `object` becomes the object as written, so the next write carries its new resourceVersion.
    @discardableResult
    public func write<Object: StatusBearing>(_ object: inout Object, status: Object.Status) async throws(KubeError) -> Bool {
        guard object.status != status else { return false }
        var updated = object
        updated.status = status
        object = try await client.resource(Object.self, namespace: object.metadata.namespace).updateStatus(updated)
        return true
    }
}
