import BackstopApp
import BackstopChaos
import Foundation
import KubeModel
import Testing
import TestSupport

/// The six incident questions (docs/incident.md), each answered from the output of one
/// `kubectl` 1.32 command and from `backstop status` (text and `-o json`), on a scripted
/// incident (`IncidentScenario`): a broken policy, a failed drill, a restore held at a step,
/// a rotated password, a dry-run cleanup. Then `--watch` sees the restore move on and ends on Ctrl-C.
@Suite(.serialized) struct IncidentTests {
    @Test func sixQuestionsOneCommandEach() async throws {
        let s = try await IncidentScenario.start()
        defer { Task { await s.shutdown() } }
        let ns = IncidentScenario.ns
        let first = await eventually(.seconds(90)) { s.get(BackupPolicy.self, "BackupPolicy", "pg")?.status?.lastBackup?.verified == true }
        try #require(first, "no verified backup: \(String(describing: s.get(BackupPolicy.self, "BackupPolicy", "pg")?.status))\n\(s.op?.output.suffix(3000) ?? "")")
        // The drill starts over 2 s after the backup, so its RPO misses the 1 s objective.
        try await Task.sleep(for: .seconds(3))
        try s.startDrill()
        let drilled = await eventually(.seconds(90)) { s.get(DrillRun.self, "DrillRun", "pg-drill")?.status?.phase == .completed }
        try #require(drilled, "drill: \(String(describing: s.get(DrillRun.self, "DrillRun", "pg-drill")?.status))\n\(s.op?.output.suffix(3000) ?? "")")
        try s.startRestore()
        let settled = await eventually(.seconds(90)) {
            s.get(BackupPolicy.self, "BackupPolicy", "broken")?.status?.conditions?.find("LastBackupSucceeded")?.status == .false
                && s.get(DrillRun.self, "DrillRun", "pg-drill")?.status?.phase == .completed
                && s.get(RestoreRequest.self, "RestoreRequest", "pg-restore")?.status?.steps?.contains { $0.name == "Quiesce" && ($0.message ?? "").contains("Deployment/writer: 1 pod(s) left") } == true
                && s.get(SecretRotation.self, "SecretRotation", "app-db")?.status?.phase?.rawValue == "Succeeded"
                && s.get(CleanupPolicy.self, "CleanupPolicy", "events")?.status?.lastRunTime != nil
                && !(s.get(BackupPolicy.self, "BackupPolicy", "pg")?.status?.retentionPlan?.wouldDelete ?? []).isEmpty
        }
        try #require(settled, """
            the incident did not form:
            broken: \(String(describing: s.get(BackupPolicy.self, "BackupPolicy", "broken")?.status?.conditions))
            drill: \(String(describing: s.get(DrillRun.self, "DrillRun", "pg-drill")?.status?.message))
            restore: \(String(describing: s.get(RestoreRequest.self, "RestoreRequest", "pg-restore")?.status?.steps))
            rotation: \(String(describing: s.get(SecretRotation.self, "SecretRotation", "app-db")?.status?.message))
            cleanup: \(String(describing: s.get(CleanupPolicy.self, "CleanupPolicy", "events")?.status?.conditions))
            retention: \(String(describing: s.get(BackupPolicy.self, "BackupPolicy", "pg")?.status?.retentionPlan))
            \(s.op?.output.suffix(3000) ?? "")
            """)
        let pg = try #require(s.get(BackupPolicy.self, "BackupPolicy", "pg"))
        let artifact = try #require(pg.status?.lastBackup?.id)

        // One kubectl command for the whole incident.
        let get = try await s.e2e.kubectl("get", "bp,rr,drill,srot,cleanup", "-A")
        #expect(get.succeeded, "\(get.stderr)")
        let tables = KubectlTables(get.stdout)
        let bp = try #require(tables.tables["backuppolicy.backstop.dev"], "\(get.stdout)")
        let age = #/^\d+(s|m\d*s?)$/#
        // (1) last successful and last verified backup.
        let healthy = try #require(bp.row("pg"), "\(get.stdout)")
        #expect(healthy["LAST SUCCESS"]?.wholeMatch(of: age) != nil && healthy["LAST VERIFIED"]?.wholeMatch(of: age) != nil, "\(get.stdout)")
        #expect(healthy["LAST BACKUP"] == "BackupSucceeded" && healthy["READY"] == "True", "\(get.stdout)")
        // (2) what is failing, and why.
        let broken = try #require(bp.row("broken"), "\(get.stdout)")
        #expect(broken["LAST BACKUP"] == "AuthenticationFailed" && broken["READY"] == "False" && broken["REASON"] == "BackupFailed", "\(get.stdout)")
        #expect(broken["LAST SUCCESS"] == "", "never: \(get.stdout)")
        // (3) the last drill: result, RTO and RPO, when.
        let drill = try #require(tables.tables["drillrun.backstop.dev"]?.row("pg-drill"), "\(get.stdout)")
        #expect(drill["RESULT"] == "Failed" && drill["PHASE"] == "Completed", "\(get.stdout)")
        #expect(Int(drill["RTO"] ?? "") != nil && Int(drill["RPO"] ?? "") != nil && drill["FINISHED"]?.wholeMatch(of: age) != nil, "\(get.stdout)")
        #expect(healthy["LAST DRILL"] == "Failed", "\(get.stdout)")
        // (5) the running restore, at its step.
        let restore = try #require(tables.tables["restorerequest.backstop.dev"]?.row("pg-restore"), "\(get.stdout)")
        #expect(restore["STEP"] == "Quiesce" && restore["BACKUP"] == artifact, "\(get.stdout)")
        // (6) the rotation: when, and its consumers.
        let rotation = try #require(tables.tables["secretrotation.backstop.dev"]?.row("app-db"), "\(get.stdout)")
        #expect(rotation["PHASE"] == "Succeeded" && rotation["CONSUMERS READY"] == "1/1", "\(get.stdout)")
        #expect(rotation["LAST ROTATION"]?.wholeMatch(of: age) != nil, "\(get.stdout)")
        let cleanup = try #require(tables.tables["cleanuppolicy.backstop.dev"]?.row("events"), "\(get.stdout)")
        #expect(cleanup["DRY RUN"] == "true" && cleanup["READY"] == "True", "\(get.stdout)")
        // (4) retention's next deletions, one jsonpath command.
        let plan = try await s.e2e.kubectl("get", "bp", "-n", ns, "pg", "-o",
                                           #"jsonpath={range .status.retentionPlan.wouldDelete[*]}{.id}{"\t"}{.reason}{"\n"}{end}"#)
        #expect(plan.stdout.hasPrefix("\(artifact)\t") && plan.stdout.contains("keepLast"), "\(plan.stdout) \(plan.stderr)")
        // (5) with -o wide: what the step waits for.
        let wide = try await s.e2e.kubectl("get", "rr", "-n", ns, "-o", "wide")
        #expect(wide.stdout.contains("Deployment/writer: 1 pod(s) left"), "\(wide.stdout)")

        // kubectl describe: the why in full, and the Events that tell the story.
        let describeBroken = try await s.e2e.kubectl("describe", "bp", "-n", ns, "broken")
        let describeRestore = try await s.e2e.kubectl("describe", "rr", "-n", ns, "pg-restore")
        let describeDrill = try await s.e2e.kubectl("describe", "drill", "-n", ns, "pg-drill")
        let describeRotation = try await s.e2e.kubectl("describe", "srot", "-n", ns, "app-db")
        func events(_ r: ChildProcess.Result) -> String { r.stdout.components(separatedBy: "Events:").last ?? "" }
        #expect(events(describeBroken).contains("BackupFailed") && events(describeBroken).contains("AuthenticationFailed"), "\(describeBroken.stdout)")
        #expect(describeRestore.stdout.contains("Deployment/writer:  1") && events(describeRestore).contains("QuiesceStarted"), "\(describeRestore.stdout)")
        #expect(events(describeDrill).contains("VerifySucceeded") && events(describeDrill).contains("DrillFailed"), "\(describeDrill.stdout)")
        #expect(describeRotation.stdout.contains("Restarted At:") && events(describeRotation).contains("Rotated"), "\(describeRotation.stdout)")

        // The same six answers from `backstop status`, text then JSON.
        let backstop = try OperatorSubprocess.backstopBinary()
        let text = try await ChildProcess.run(backstop, ["status", "--kubeconfig", s.e2e.adminKubeconfig.path], timeout: 30)
        #expect(text.succeeded, "\(text.stderr)")
        let screen = text.stdout
        let failing = try #require(screen.range(of: "\nFAILING\n"), "\(screen)")
        // Failing: the broken policy, the drill, and the policy whose last drill failed.
        #expect(screen.hasPrefix("3 failing, 1 running, 2 ok."), "\(screen)")
        #expect(screen.range(of: "BackupPolicy incident/broken: AuthenticationFailed")?.lowerBound ?? failing.lowerBound > failing.lowerBound, "\(screen)")
        #expect(screen.contains("next: Fix the credentials in Secret db-wrong"), "\(screen)")
        #expect(screen.contains("DrillRun incident/pg-drill: DrillFailed: RPO ") && screen.contains("exceeds objective 1s"), "\(screen)")
        let pgLine = screen.split(separator: "\n").first { $0.hasPrefix(ns) && $0.contains(" pg ") && $0.contains("postgres") }
        #expect(pgLine?.contains("Failed ") == true && pgLine?.contains("RTO \(drill["RTO"] ?? "?")s, RPO \(drill["RPO"] ?? "?")s") == true, "\(screen)")
        #expect(screen.contains("Retention, next deletions:") && screen.contains("\(artifact)  (") , "\(screen)")
        #expect(screen.contains("pg-restore") && screen.contains("Quiesce") && screen.contains("waiting: Deployment/writer: 1 pod(s) left"), "\(screen)")
        #expect(screen.contains("app-db") && screen.contains("1/1 ready") && screen.contains("Succeeded"), "\(screen)")

        let json = try await ChildProcess.run(backstop, ["status", "--kubeconfig", s.e2e.adminKubeconfig.path, "-n", ns, "-o", "json"], timeout: 30)
        #expect(json.succeeded, "\(json.stderr)")
        let doc = try JSONDecoder().decode(StatusDocument.self, from: Data(json.stdout.utf8))
        #expect(doc.kind == "StatusReport" && doc.namespace == ns)
        #expect(doc.summary == StatusDocument.Summary(failing: 3, running: 1, ok: 2), "\(json.stdout)")
        #expect(doc.backupPolicies.map(\.name) == ["broken", "pg"], "failing first")
        let jb = try #require(doc.backupPolicies.first)
        #expect(jb.state == .failing && jb.reason == "AuthenticationFailed" && jb.nextAction?.contains("db-wrong") == true, "\(json.stdout)")
        let jp = try #require(doc.backupPolicies.last)
        #expect(jp.state == .failing && jp.reason == "DrillFailed" && jp.nextAction?.contains("kubectl describe drill -n \(ns) pg-drill") == true)
        #expect(jp.lastSuccessfulTime != nil && jp.lastVerifiedTime != nil && jp.lastBackup?.id == artifact)
        #expect(jp.lastDrill?.result == "Failed" && jp.lastDrill?.rtoSeconds.map(String.init) == drill["RTO"] && jp.lastDrill?.rpoSeconds != nil)
        #expect(jp.retention?.wouldDelete.first?.id == artifact && jp.retention?.nextPruneTime != nil, "\(json.stdout)")
        let jd = try #require(doc.drillRuns.first)
        #expect(jd.state == .failing && jd.result == "Failed" && jd.rtoSeconds != nil && jd.reasons?.first?.hasPrefix("RPO ") == true, "\(json.stdout)")
        let jr = try #require(doc.restoreRequests.first)
        #expect(jr.state == .running && jr.step == "Quiesce" && jr.savedReplicas == ["Deployment/writer": 1], "\(json.stdout)")
        #expect(jr.message?.contains("1 pod(s) left") == true && jr.nextAction?.contains("kubectl delete rr -n \(ns) pg-restore") == true)
        let jrot = try #require(doc.secretRotations.first)
        #expect(jrot.state == .ok && jrot.lastRotationTime != nil && jrot.consumersReady == "1/1", "\(json.stdout)")
        #expect(jrot.consumers.map(\.name) == ["api"] && jrot.consumers.allSatisfy { $0.ready == true && $0.restartedAt != nil })
        let jc = try #require(doc.cleanupPolicies.first)
        #expect(jc.lastRunDryRun == true && jc.wouldDelete == 13, "20 rows 0.5 to 19.5 days old; older than 7 days: 13 — \(json.stdout)")

        // BACKSTOP_INCIDENT_DUMP=DIR keeps the outputs (the samples in docs/incident.md come from there).
        if let dir = ProcessInfo.processInfo.environment["BACKSTOP_INCIDENT_DUMP"] {
            for (name, output) in [("kubectl-get.txt", get.stdout), ("kubectl-retention.txt", plan.stdout), ("kubectl-rr-wide.txt", wide.stdout),
                                   ("status.txt", screen), ("status.json", json.stdout), ("describe-bp.txt", describeBroken.stdout),
                                   ("describe-rr.txt", describeRestore.stdout), ("describe-drill.txt", describeDrill.stdout),
                                   ("describe-srot.txt", describeRotation.stdout)] {
                try Data(output.utf8).write(to: URL(fileURLWithPath: dir).appendingPathComponent(name))
            }
        }
        // No credential in any of it.
        let everything = [get.stdout, plan.stdout, wide.stdout, screen, json.stdout].joined()
        for secret in [s.pg.password, s.wrongPassword, s.initialAppPassword] + (s.appPassword().map { [$0] } ?? []) {
            #expect(!everything.contains(secret), "a credential appears in the incident output")
        }

        // --watch: a frame now, another when the restore gets past Quiesce, and Ctrl-C ends it cleanly.
        let out = s.e2e.work.appendingPathComponent("watch.ndjson")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let watch = Process()
        watch.executableURL = URL(fileURLWithPath: backstop)
        watch.arguments = ["status", "--kubeconfig", s.e2e.adminKubeconfig.path, "-n", ns, "-o", "json", "--watch", "--interval", "0.3"]
        watch.standardOutput = try FileHandle(forWritingTo: out)
        try watch.run()
        func frames() -> [StatusDocument] {
            ((try? String(contentsOf: out, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { try? JSONDecoder().decode(StatusDocument.self, from: Data($0.utf8)) }
        }
        #expect(await eventually(.seconds(10)) { frames().count >= 1 })
        try s.releaseWriter()
        let movedOn = await eventually(.seconds(60)) { frames().last?.restoreRequests.first.map { $0.step != "Quiesce" } ?? true }
        #expect(movedOn, "no frame after the restore moved on: \(frames().count) frames")
        kill(watch.processIdentifier, SIGINT)
        let ended = await eventually(.seconds(10)) { !watch.isRunning }
        if !ended { watch.terminate() }
        #expect(ended && watch.terminationReason == .exit && watch.terminationStatus == 0, "--watch ended by Ctrl-C exits 0")
        let all = frames()
        #expect(all.count >= 2 && all.count < 40, "\(all.count) frames: drawn only on change")
    }
}
