@testable import BackstopDemo
import DynamicJSON
import Foundation
import Testing

/// The demo's cleanup policy is docs/examples/000-cleanup.yaml adapted to one machine, and the
/// built-in copy (used when docs/examples is not at hand) has not drifted from it.
@Suite struct DemoCleanupTests {
    @Test func theDemosCleanupPolicyIsTheExampleAdapted() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/examples")
        let adapted = DemoCleanup.policy(examples: dir, namespace: "staging", postgresPort: 15432)
        #expect(adapted.source == "docs/examples/000-cleanup.yaml")
        #expect(adapted.leftOut == ["minio-exports", "minio-drop"], "the S3 targets are left out")
        let spec = try #require(adapted.policy["spec"])
        #expect(spec["schedule"] == "30 3 * * *" && spec["dryRun"] == true)
        #expect(spec["targets"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["agent-runs", "reports", "benchmark-reports"])
        let sql = spec["targets"]?[0]?["sql"]
        #expect(sql?["connection"]?["host"] == "127.0.0.1" && sql?["connection"]?["port"] == 15432 && sql?["table"] == "agent_runs")
        #expect(sql?["maxAge"] == "365d" && sql?["vacuum"] == true)
        #expect(spec["targets"]?[2]?["volume"]?["claimName"] == .string(DemoCleanup.claim) && spec["targets"]?[2]?["volume"]?["path"] == "benchmark")
        let builtin = DemoCleanup.policy(examples: nil, namespace: "staging", postgresPort: 15432)
        #expect(builtin.source.hasPrefix("a built-in copy"))
        #expect(builtin.policy == adapted.policy, "the built-in copy drifted from the example: \(builtin.policy) vs \(adapted.policy)")
    }
}
