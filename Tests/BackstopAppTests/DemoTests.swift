import BackstopApp
import BackstopChaos
import BackstopDemo
import Foundation
import KubeModel
import Synchronization
import Testing

/// `backstop-demo` end to end with a short duration: a local PostgreSQL started from the
/// installed binaries, KubeSim's Job runner executing `backstop agent`, the operator in-process.
@Suite(.serialized) struct DemoTests {
    @Test func demoTakesVerifiedBackupsOfTheSeedExamplesAndCleansUp() async throws {
        let lines = Mutex<[String]>([])
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("demo-test-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: work) }
        var options = DemoOptions(agentCommand: [try OperatorSubprocess.backstopBinary()])
        options.duration = .seconds(45)
        options.schedule = "@every 1m"
        options.workDirectory = work
        options.examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/examples")
        options.output = { line in lines.withLock { $0.append(line) } }
        let result = try await Demo.run(options)
        let text = lines.withLock { $0.joined(separator: "\n") }

        // Every postgres example became a policy, and each has a verified, successful backup.
        #expect(result.policies.count >= 5, "\(text)")
        for policy in result.policies {
            let name = "\(policy.metadata.namespace ?? "")/\(policy.metadata.name ?? "")"
            #expect(policy.status?.conditions?.isTrue("LastBackupSucceeded") == true, "\(name): \(Demo.summary(policy))")
            #expect(policy.status?.lastSuccessfulTime != nil, "\(name)")
            #expect(policy.status?.lastBackup?.verified == true, "\(name)")
        }
        // The restore act: into a new database, and over the source with the writer fenced.
        #expect(result.restores.count == 2, "\(text)")
        for r in result.restores {
            #expect(r.status?.phase == .succeeded, "\(r.metadata.name ?? ""): \(String(describing: r.status?.message)) \(text)")
        }
        #expect(result.restores.contains { $0.status?.savedReplicas == ["Deployment/demo-writer": 1] })
        #expect(text.contains("Restore ") && text.contains("Succeeded in"), "\(text)")
        // The drill act: one drill per policy, passed, with its measurements.
        #expect(result.drills.count == result.policies.count, "\(text)")
        for d in result.drills {
            #expect(d.status?.result == .passed, "\(d.metadata.name ?? ""): \(String(describing: d.status?.message)) \(text)")
            #expect(d.status?.measured?.rtoSeconds != nil && d.status?.measured?.rpoSeconds != nil)
        }
        #expect(text.contains("Drill ") && text.contains("Passed — RTO"), "\(text)")
        // The cleanup act: docs/examples/000-cleanup.yaml applied (its S3 targets left out), a dry
        // run that counts, then a real run that deletes the same.
        #expect(text.contains("CleanupPolicy openclaw-agent-staging/openclaw-retention from docs/examples/000-cleanup.yaml"), "\(text)")
        #expect(text.contains("left out (no object store in the demo): minio-exports, minio-drop"), "\(text)")
        #expect(text.contains("Cleanup dry run: agent-runs: would delete 365 of 730"), "\(text)")
        #expect(text.contains("; reports: would delete 2 of 7") && text.contains("benchmark-reports: would delete 2 of 4"), "\(text)")
        #expect(text.contains("Cleanup real run: agent-runs: deleted 365 of 730") && text.contains("; reports: deleted 2 of 7")
                && text.contains("benchmark-reports: deleted 2 of 4"), "\(text)")
        // The rotation act: the consumer's password rotated, the consumer ready on the new one.
        #expect(text.contains("Rotation ") && text.contains("Succeeded — rotated password of Secret demo-app-db; 1 consumer(s) restarted and ready"), "\(text)")
        // Artifacts and their manifests exist on disk, inside the work directory.
        let artifacts = result.artifactFiles.filter { !$0.lastPathComponent.hasSuffix(".manifest.json") }
        let manifests = result.artifactFiles.filter { $0.lastPathComponent.hasSuffix(".manifest.json") }
        #expect(artifacts.count >= result.policies.count)
        #expect(manifests.count == artifacts.count)
        #expect(result.artifactFiles.allSatisfy { $0.path.hasPrefix(work.path) })
        for file in artifacts {
            let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
            #expect(size > 0, "\(file.path)")
        }
        // The narration shows the kubectl view with printer columns and where things are.
        #expect(text.contains("kubectl --kubeconfig \(result.kubeconfig.path) get bp -A"))
        #expect(text.contains("LAST SUCCESS") || text.contains("LAST-SUCCESS"), "\(text)")
        // The story ends on the incident screen, read through the API: nothing failing, every kind on it.
        let screen = try #require(text.components(separatedBy: "$ backstop status\n").dropFirst().first, "\(text)")
        #expect(screen.hasPrefix("0 failing, "), "\(screen)")
        #expect(screen.contains("LAST DRILL") && screen.contains("Passed ") && screen.contains(", RTO "), "\(screen)")
        #expect(screen.contains("CLEANUP") && screen.contains("retention"), "\(screen)")
        #expect(screen.contains("ROTATION") && screen.contains("demo-app-db") && screen.contains("1/1 ready"), "\(screen)")
        #expect(text.contains("PostgreSQL: stopped"))
        // The local PostgreSQL is gone: its postmaster.pid was removed by the shutdown.
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("postgres/data/postmaster.pid").path))
    }

    @Test func seedKeepsOnlyPostgresPoliciesAndPointsThemAtTheLocalServer() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/examples")
        let seed = try DemoSeed.load(examples: dir, interval: "@every 5m", postgresPort: 15432)
        #expect(seed.policies.count >= 5)
        for p in seed.policies {
            #expect(p["spec"]?["schedule"] == "@every 5m")
            #expect(p["spec"]?["source"]?["postgres"]?["port"] == 15432)
            #expect(p["spec"]?["source"]?["postgres"]?["host"] == "127.0.0.1")
            #expect(p["spec"]?["destination"]?["volume"]?["claimName"] == .string(DemoSeed.claimName))
            #expect(p["spec"]?["drill"] == nil && p["spec"]?["notify"] == nil)
            #expect(p["spec"]?["source"]?["redis"] == nil)
        }
        // Every table a policy dumps or counts is created in its database.
        #expect(seed.databases.contains { $0.name == "agentfs" && $0.tables.contains("entries") })
        let objects = seed.supportingObjects(password: "pw")
        #expect(objects.filter { $0["kind"] == "Namespace" }.count == seed.namespaces.count)
        #expect(objects.filter { $0["kind"] == "PersistentVolumeClaim" }.count == seed.namespaces.count)
    }
}
