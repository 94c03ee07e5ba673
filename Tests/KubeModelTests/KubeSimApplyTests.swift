import BackstopCore
import Foundation
import KubeModel
import KubeSim
import Testing
import TestSupport
import YAML

/// The CRDs, the examples and the invalid corpus through a real client (kubectl 1.32) against
/// KubeSim: examples apply, `kubectl get backstop` shows the printer columns, and every invalid
/// manifest whose header says the API server rejects it is rejected at the expected field.
@Suite("KubeSim apply", .serialized)
struct KubeSimApplyTests {
    static let kubectl = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"

    struct Cluster {
        let sim: KubeSim
        let dir: URL

        static func start() async throws -> Cluster {
            let sim = try await KubeSim.start()
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("backstop-kubesim-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try sim.writeKubeconfig(to: dir.appendingPathComponent("kubeconfig"))
            let c = Cluster(sim: sim, dir: dir)
            let (status, out) = try await c.kubectl("apply -f " + Repo.url("crds").path)
            #expect(status == 0, "CRDs: \(out)")
            let namespaces = ["openclaw-agent-staging", "agentfs", "agenttrace", "clawdbot", "godel", "demo"]
                .map { "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \($0)\n" }.joined(separator: "---\n")
            try Data(namespaces.utf8).write(to: dir.appendingPathComponent("ns.yaml"))
            let (nsStatus, nsOut) = try await c.kubectl("apply -f " + dir.appendingPathComponent("ns.yaml").path)
            #expect(nsStatus == 0, "namespaces: \(nsOut)")
            return c
        }

        /// Runs kubectl with this cluster's kubeconfig; returns status and combined output.
        func kubectl(_ args: String) async throws -> (Int32, String) {
            let out = dir.appendingPathComponent("out-\(UUID().uuidString).txt")
            let cmd = "\(KubeSimApplyTests.kubectl) --kubeconfig \(dir.path)/kubeconfig --cache-dir \(dir.path)/cache \(args) > \(out.path) 2>&1"
            let status = try await runCommand(["sh", "-c", cmd])
            let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: out)
            return (status, text)
        }

        func stop() async {
            await sim.shutdown()
            try? FileManager.default.removeItem(at: dir)
        }
    }

    @Test func examplesApplyAndShowPrinterColumns() async throws {
        let c = try await Cluster.start()
        let (status, out) = try await c.kubectl("apply -f " + Repo.url("docs/examples").path)
        #expect(status == 0, "\(out)")
        let (getStatus, table) = try await c.kubectl("get backstop -A")
        #expect(getStatus == 0)
        for header in ["LAST SUCCESS", "LAST VERIFIED", "ARTIFACTS", "READY", "PHASE", "RESULT", "RTO", "RPO",
                       "CONSUMERS READY", "DELETED", "backuppolicy.backstop.dev/agentfs-postgres",
                       "drillrun.backstop.dev/agentfs-dr-2026q1", "secretrotation.backstop.dev/erpx-token"] {
            #expect(table.contains(header), "kubectl get backstop lacks \(header)")
        }
        let documents = try ExampleTests.files.flatMap { try YAML.parse(try Repo.text($0)) }
        #expect(table.components(separatedBy: "\n").filter { $0.contains(".backstop.dev/") }.count == documents.count)
        // RestoreRequest and DrillRun specs are immutable (`self == oldSelf`).
        let (patchStatus, patchOut) = try await c.kubectl(
            #"patch rr agentfs-restore-full -n agentfs --type merge -p '{"spec":{"mode":"Create"}}'"#)
        #expect(patchStatus != 0 && patchOut.contains("spec is immutable"), "\(patchOut)")
        await c.stop()
    }

    @Test func invalidManifestsTheSchemaCanExpressAreRejected() async throws {
        let c = try await Cluster.start()
        var rejected = 0
        for file in InvalidCorpusTests.files {
            let text = try Repo.text(file)
            guard text.contains("# apiserver: rejects") else { continue }
            let field = text.split(separator: "\n")[0].replacingOccurrences(of: "# expect-field: ", with: "")
            let (status, out) = try await c.kubectl("apply -f " + file.path)
            #expect(status != 0, "\(file.lastPathComponent) was accepted")
            #expect(out.contains(field), "\(file.lastPathComponent): rejection does not name \(field): \(out.prefix(400))")
            if status != 0 { rejected += 1 }
            _ = try await c.kubectl("delete --ignore-not-found -f " + file.path)
        }
        #expect(rejected >= 40)
        await c.stop()
    }
}
