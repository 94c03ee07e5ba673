import Controllers
import Foundation
import KubeModel
import TestSupport
import Testing

/// Many policies under API faults (500, 429, 409, dropped watches): each one's run-now backup
/// is taken exactly once and recorded.
@Suite(.serialized) struct FaultIntegrationTests {
    @Test func tenPoliciesConvergeUnderTheFaultMix() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        let names = (0..<10).map { "faulty-\($0)" }
        for name in names {
            var policy = BackupIntegrationTests.policy(name, pg: pg, database: database, schedule: "@daily")
            policy.metadata.annotations = [Backstop.runNowAnnotation: "go"]
            try h.create(policy)
        }
        h.sim.faults.injectRate(.internalError, probability: 0.10)
        h.sim.faults.injectRate(.tooManyRequests(retryAfter: 1), probability: 0.05)
        h.sim.faults.injectRate(.conflict, probability: 0.02)
        let dropper = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(3))
                h.sim.faults.dropAllWatches()
            }
        }
        h.startController()
        let converged = await eventually(.seconds(180)) {
            var ok = 0
            for name in names {
                guard let policy = try? await h.policy(name), let s = policy.status else { continue }
                if s.lastManualRun?.result == .succeeded, s.lastPrune != nil, s.activeJob == nil { ok += 1 }
            }
            return ok == names.count
        }
        dropper.cancel()
        h.sim.faults.clear()
        #expect(converged)
        for name in names {
            let backups = try h.jobs(of: name).filter { $0["metadata"]?["labels"]?[BackstopLabels.operation] == "backup" }
            #expect(backups.count == 1, "\(name): \(backups.count) backup Jobs")
            #expect(try await h.policy(name).status?.artifacts?.count == 1)
        }
        await h.stop()
    }
}
