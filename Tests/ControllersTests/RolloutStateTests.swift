import Controllers
import DynamicJSON
import Testing

/// "Is this rollout done, stalled or still going" from Deployment/StatefulSet/DaemonSet JSON, as the API
/// server reports it.
@Suite struct RolloutStateTests {
    enum Expect: Sendable { case done, progressing(String), stalled(String) }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var object: JSONValue
        var expect: Expect
        var testDescription: String { name }
    }

    static func deployment(generation: Int64 = 2, observed: Int64 = 2, replicas: Int64 = 3, status: [String: JSONValue],
                           conditions: [JSONValue] = []) -> JSONValue {
        var s = status
        s["observedGeneration"] = .int(observed)
        if !conditions.isEmpty { s["conditions"] = .array(conditions) }
        return ["kind": "Deployment", "metadata": ["name": "api", "generation": .int(generation)],
                "spec": ["replicas": .int(replicas)], "status": .object(s)]
    }

    static func statefulSet(replicas: Int64 = 2, ready: Int64, updated: Int64, current: String, update: String) -> JSONValue {
        ["kind": "StatefulSet", "metadata": ["name": "redis", "generation": 4],
         "spec": ["replicas": .int(replicas)],
         "status": ["observedGeneration": 4, "replicas": .int(replicas), "readyReplicas": .int(ready),
                    "updatedReplicas": .int(updated), "currentRevision": .string(current), "updateRevision": .string(update)]]
    }

    static let full: [String: JSONValue] = ["replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3]

    static let rollouts: [Case] = [
        Case(name: "all updated, ready and available", object: deployment(status: full), expect: .done),
        Case(name: "generation not observed yet", object: deployment(generation: 3, observed: 2, status: full),
             expect: .progressing("observe generation 3")),
        Case(name: "new pods still being created",
             object: deployment(status: ["replicas": 3, "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3]),
             expect: .progressing("1 of 3 replicas updated")),
        Case(name: "old pods still terminating",
             object: deployment(status: ["replicas": 4, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3]),
             expect: .progressing("1 old replicas are pending termination")),
        Case(name: "updated but not yet available",
             object: deployment(status: ["replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2]),
             expect: .progressing("2 of 3 updated replicas are available")),
        Case(name: "progress deadline exceeded is stalled",
             object: deployment(status: ["replicas": 3, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2],
                                conditions: [["type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                              "message": "ReplicaSet api-7d has timed out progressing."]]),
             expect: .stalled("ProgressDeadlineExceeded: ReplicaSet api-7d has timed out")),
        Case(name: "a Progressing=True condition is no problem",
             object: deployment(status: full, conditions: [["type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"]]),
             expect: .done),
        Case(name: "unset spec.replicas means 1",
             object: ["kind": "Deployment", "metadata": ["name": "one", "generation": 1], "spec": [:],
                      "status": ["observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
                                 "availableReplicas": 1]],
             expect: .done),
        Case(name: "statefulset at the update revision", object: statefulSet(ready: 2, updated: 2, current: "r2", update: "r2"),
             expect: .done),
        Case(name: "statefulset still rolling", object: statefulSet(ready: 2, updated: 1, current: "r1", update: "r2"),
             expect: .progressing("1 of 2 pods at revision r2")),
        Case(name: "statefulset pods not ready", object: statefulSet(ready: 1, updated: 2, current: "r2", update: "r2"),
             expect: .progressing("1 of 2 replicas ready")),
        Case(name: "daemonset updated and available everywhere", object: daemonSet(desired: 3, updated: 3, available: 3), expect: .done),
        Case(name: "daemonset still updating", object: daemonSet(desired: 3, updated: 1, available: 3),
             expect: .progressing("1 of 3 pods updated")),
        Case(name: "daemonset updated, not yet available", object: daemonSet(desired: 3, updated: 3, available: 2),
             expect: .progressing("2 of 3 updated pods are available")),
    ]

    static func daemonSet(desired: Int64, updated: Int64, available: Int64) -> JSONValue {
        ["kind": "DaemonSet", "metadata": ["name": "agent", "generation": 2],
         "status": ["observedGeneration": 2, "desiredNumberScheduled": .int(desired), "updatedNumberScheduled": .int(updated),
                    "numberAvailable": .int(available)]]
    }

    static func check(_ state: RolloutState, _ expect: Expect) {
        switch (state, expect) {
        case (.done, .done): break
        case (.progressing(let text), .progressing(let part)), (.stalled(let text), .stalled(let part)):
            #expect(text.contains(part), "\(text)")
        default: Issue.record("got \(state), expected \(expect)")
        }
    }

    @Test(arguments: rollouts)
    func rollout(_ c: Case) { Self.check(RolloutState.rollout(c.object), c.expect) }

    static let scaled: [(String, JSONValue, Int64, Expect)] = [
        ("back at the saved count", deployment(replicas: 5, status: ["replicas": 5, "readyReplicas": 5]), 5, .done),
        ("scaled to zero and gone", deployment(replicas: 0, status: [:]), 0, .done),
        ("pods coming up", deployment(replicas: 5, status: ["replicas": 5, "readyReplicas": 3]), 5, .progressing("3 of 5 replicas ready")),
        ("scale not observed yet", deployment(generation: 7, observed: 6, replicas: 5, status: ["replicas": 1, "readyReplicas": 1]), 5,
         .progressing("observe generation 7")),
        ("extra pods still terminating", deployment(replicas: 1, status: ["replicas": 2, "readyReplicas": 2]), 1,
         .progressing("1 extra replicas terminating")),
    ]

    @Test(arguments: scaled.indices)
    func scaledTo(_ i: Int) {
        let (_, object, want, expect) = Self.scaled[i]
        Self.check(RolloutState.scaled(object, to: want), expect)
    }

    @Test func podsThatWillNotBecomeReadyAreNamed() {
        let pods: [JSONValue] = [
            ["metadata": ["name": "api-1"], "status": ["containerStatuses": [["name": "app", "state": ["waiting": ["reason": "CrashLoopBackOff"]]]]]],
            ["metadata": ["name": "api-2"], "status": ["containerStatuses": [["name": "app", "state": ["waiting": ["reason": "ContainerCreating"]]]]]],
            ["metadata": ["name": "api-3"], "status": ["containerStatuses": [["name": "app", "state": ["running": [:]]]]]],
        ]
        #expect(RolloutState.podProblems(pods) == ["api-1/app: CrashLoopBackOff"])
    }
}
