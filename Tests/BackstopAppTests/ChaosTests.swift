import BackstopChaos
import BackstopDemo
import Foundation
import Testing
import TestSupport

/// The short profile of `backstop-bench chaos`: 20 SIGKILLs of two operator replicas under the
/// API fault mix while backups, a fenced restore, a drill, a rotation and a cleanup run; every
/// invariant the full run prints must be 0 here too.
@Suite(.serialized) struct ChaosTests {
    @Test func twentyKillsOfTwoReplicasUnderTheFaultMixKeepEveryPromise() async throws {
        let pg = try TestServices.postgres()
        let server = PostgresServer(host: pg.host, port: pg.port, user: pg.user, password: pg.password, bindir: pg.bindir)
        var options = ChaosOptions.ci(postgres: server, backstop: try OperatorSubprocess.backstopBinary())
        options.output = { print($0) }
        let report = try await ChaosRun.run(options)
        print(report.render())
        #expect(report.kills == 20)
        #expect(report.killsMidOperation >= 5, "only \(report.killsMidOperation) kills landed while something ran")
        #expect(report.leaderChanges >= 3, "leadership moved only \(report.leaderChanges) times")
        #expect(report.faultResponses > 0)
        // Each kind of work really happened under the kills.
        for kind in ["backups", "restores", "drills", "rotations", "cleanups"] {
            #expect((report.operations[kind] ?? 0) >= 1, "no \(kind) finished: \(report.operations)")
        }
        // The checks looked at something: the db and rotated passwords, the backups taken.
        #expect((report.coverage["secret values searched for"] ?? 0) >= 3, "\(report.coverage)")
        #expect((report.coverage["backup ids tracked"] ?? 0) >= 2 && (report.coverage["artifacts read back"] ?? 0) >= 2, "\(report.coverage)")
        for invariant in report.invariants {
            #expect(invariant.count == 0, "\(invariant.name): \(invariant.examples.prefix(5))")
        }
        #expect(report.convergeSeconds != nil)
    }
}
