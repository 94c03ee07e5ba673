import BackstopApp
import Foundation
import KubeModel
import Testing

/// `backstop status` answers "when was the DB password last rotated, and did every consumer
/// restart healthy" — rolled-back rotations first, with the consumer that failed.
@Suite struct StatusRotationsTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func rotation(_ name: String, phase: String, lastRotated: TimeInterval?, consumers: [(String, Bool)], message: String? = nil) -> SecretRotation {
        var status = SecretRotationStatus()
        status.phase = RotationPhase(rawValue: phase)
        status.lastRotationTime = lastRotated.map { Time(now.addingTimeInterval(-$0)) }
        status.consumers = consumers.map { ConsumerStatus(kind: "Deployment", name: $0.0, restartedAt: Time(now), ready: $0.1) }
        status.message = message
        return SecretRotation(metadata: ObjectMeta(name: name, namespace: "prod"),
                              spec: SecretRotationSpec(secretRef: LocalObjectReference(name: "\(name)-creds"), keys: [RotatedKey(key: "password")]),
                              status: status)
    }

    @Test func rolledBackRotationsComeFirstNamingTheConsumerThatWasNotReady() {
        let healthy = Self.rotation("db", phase: "Succeeded", lastRotated: 3 * 3600, consumers: [("api", true), ("worker", true)])
        let rolledBack = Self.rotation("cache", phase: "RolledBack", lastRotated: nil, consumers: [("legacy", false)],
                                       message: "Restart failed: ConsumerNotReady: consumer Deployment/legacy was not ready")
        let text = StatusReport.renderRotations([healthy, rolledBack], now: Self.now)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(text)")
        #expect(lines[1].contains("cache") && lines[1].contains("RolledBack") && lines[1].contains("never")
                && lines[1].contains("not ready: Deployment/legacy"), "\(text)")
        #expect(lines[2].contains("db-creds") && lines[2].contains("3h ago") && lines[2].contains("2/2 ready") && lines[2].contains("on demand"), "\(text)")
        #expect(lines[3] == "2 rotation(s), 1 healthy (last run succeeded, every consumer ready).")
        #expect(StatusReport.renderRotations([], now: Self.now).isEmpty)
    }
}
