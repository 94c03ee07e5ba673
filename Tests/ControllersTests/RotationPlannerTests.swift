import Controllers
import DynamicJSON
import Foundation
import KubeModel
import Testing

/// The SecretRotation planner as tables, without I/O: the step machine's order with the
/// planner's verdicts, bad input at Validate, restart pacing, and what a roll-back undoes.
@Suite struct RotationPlannerTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    let planner = RotationPlanner(agentImage: "backstop:test")

    static func rotation(keys: [RotatedKey] = [RotatedKey(key: "password", generate: GenerateSpec(length: 32, charset: .alphanumeric))],
                         apply: RotationApply? = RotationApply(postgres: PostgresRoleApply(host: "db", role: "app", passwordKey: "password",
                                                                                           adminSecretRef: AdminCredentialsRef(name: "pg-admin"))),
                         workloads: [WorkloadReference] = [], discover: Bool? = nil, maxConcurrent: Int? = nil) -> SecretRotation {
        var spec = SecretRotationSpec(secretRef: LocalObjectReference(name: "db-creds"), keys: keys)
        spec.apply = apply
        spec.consumers = RotationConsumers(discover: discover, workloads: workloads)
        spec.rollout = RotationRollout(maxConcurrent: maxConcurrent, timeout: "60s")
        var meta = ObjectMeta(name: "db", namespace: "team")
        meta.uid = "rot-uid"
        return SecretRotation(metadata: meta, spec: spec)
    }

    static func observed(_ rotation: SecretRotation = rotation(), secrets: RotationSecrets = healthySecrets,
                         consumers: [String: ConsumerObservation] = [:], discovered: [WorkloadReference] = [], at offset: TimeInterval = 0) -> RotationObserved {
        RotationObserved(rotation: rotation, secrets: secrets, discovered: discovered, consumers: consumers, now: now.addingTimeInterval(offset))
    }

    static var healthySecrets: RotationSecrets {
        RotationSecrets(targetKeys: ["password"], adminKeys: ["username", "password"])
    }

    static func status(_ steps: [(RotationStep, StepPhase, String?)] = []) -> SecretRotationStatus {
        var s = SecretRotationStatus()
        s.run = RotationRun(id: "run-1", trigger: "manual", startedAt: Time(now))
        s.steps = steps.map { StepStatus(name: $0.0.rawValue, phase: $0.1, startedAt: Time(now), message: $0.2) }
        return s
    }

    static func failure(_ verdict: RotationVerdict) -> (reason: RotationReason, message: String)? {
        if case .failed(_, let reason, let message) = verdict { return (reason, message) }
        return nil
    }

    // MARK: Validate: bad input is a clear failure before anything changes

    @Test(arguments: [
        ("target missing", RotationSecrets(targetKeys: nil, adminKeys: ["password"]), RotationReason.secretNotFound, "create it or fix spec.secretRef"),
        ("admin missing", RotationSecrets(targetKeys: ["password"], adminKeys: nil), RotationReason.adminSecretNotFound, "Secret pg-admin not found"),
        ("admin without password", RotationSecrets(targetKeys: ["password"], adminKeys: ["username"]), RotationReason.adminSecretNotFound, "has no key password"),
        ("no current password", RotationSecrets(targetKeys: ["other"], adminKeys: ["password"]), RotationReason.secretNotFound, "current password"),
    ])
    func validateRefusesMissingSecrets(_ name: String, _ secrets: RotationSecrets, _ reason: RotationReason, _ text: String) {
        var status = Self.status()
        let verdict = planner.decide(.validate, Self.observed(secrets: secrets), status: &status)
        let f = Self.failure(verdict)
        #expect(f?.reason == reason, "\(name): \(verdict)")
        #expect(f?.message.contains(text) == true, "\(name): \(f?.message ?? "")")
    }

    @Test func validateRefusesAStagedSecretThatIsMissingOrLacksTheKey() {
        let rotation = Self.rotation(keys: [RotatedKey(key: "token", from: SecretKeySelector(name: "token-next", key: "token"))], apply: nil)
        var status = Self.status()
        var secrets = RotationSecrets(targetKeys: ["token"])
        #expect(Self.failure(planner.decide(.validate, Self.observed(rotation, secrets: secrets), status: &status))?.reason == RotationReason.stagedSecretNotFound)
        secrets.staged["token-next"] = ["other"]
        #expect(Self.failure(planner.decide(.validate, Self.observed(rotation, secrets: secrets), status: &status))?.message.contains("has no key token") == true)
        secrets.staged["token-next"] = ["token"]
        #expect(planner.decide(.validate, Self.observed(rotation, secrets: secrets), status: &status).isSucceeded)
    }

    @Test(arguments: [(GenerateSpec(length: 8), "length 8"), (GenerateSpec(length: 4096), "length 4096"),
                      (GenerateSpec(length: 32, charset: Charset(rawValue: "Emoji")), "charset Emoji")])
    func validateRefusesWhatCannotBeGenerated(_ generate: GenerateSpec, _ text: String) {
        var status = Self.status()
        let rotation = Self.rotation(keys: [RotatedKey(key: "password", generate: generate)])
        let f = Self.failure(planner.decide(.validate, Self.observed(rotation), status: &status))
        #expect(f?.reason == RotationReason.cannotGenerate && f?.message.contains(text) == true, "\(String(describing: f))")
    }

    @Test func validateRefusesAMissingConsumerAndWaitsForAnEarlierRotationOfTheSameSecret() {
        var status = Self.status()
        let rotation = Self.rotation(workloads: [WorkloadReference(kind: .deployment, name: "ghost")])
        let f = Self.failure(planner.decide(.validate, Self.observed(rotation), status: &status))
        #expect(f?.reason == RotationReason.workloadNotFound && f?.message.contains("Deployment/ghost") == true)
        var blocked = Self.observed()
        blocked.blockedBy = "db-other"
        guard case .running(let actions, let message) = planner.decide(.validate, blocked, status: &status) else {
            Issue.record("a blocked rotation waits")
            return
        }
        #expect(actions.isEmpty && message?.contains("db-other") == true)
    }

    // MARK: the forward steps

    @Test func generateStagesOnceAndUpdateWritesUntilTheTargetHoldsTheNewValue() {
        var status = Self.status()
        #expect(planner.decide(.generate, Self.observed(), status: &status) == .running(actions: [.createPending], message: "staging the new values"))
        var secrets = Self.healthySecrets
        secrets.pendingExists = true
        #expect(planner.decide(.generate, Self.observed(secrets: secrets), status: &status).isSucceeded, "an existing pending Secret is never replaced")
        #expect(planner.decide(.update, Self.observed(secrets: secrets), status: &status)
                == .running(actions: [.updateTarget], message: "writing the new values into Secret db-creds"))
        secrets.targetHoldsNew = true
        #expect(planner.decide(.update, Self.observed(secrets: secrets), status: &status).isSucceeded)
        // The target deleted between Validate and Generate: Generate fails clearly instead of retrying.
        let gone = RotationSecrets(targetKeys: nil, adminKeys: ["password"])
        #expect(Self.failure(planner.decide(.generate, Self.observed(secrets: gone), status: &status))?.reason == RotationReason.secretNotFound)
    }

    @Test func applyCreatesOneAgentJobThatMountsTheValuesAsFilesOnly() throws {
        var status = Self.status()
        var secrets = Self.healthySecrets
        secrets.pendingExists = true
        guard case .running(let actions, _) = planner.decide(.apply, Self.observed(secrets: secrets), status: &status),
              case .createJob(let job)? = actions.first else {
            Issue.record("Apply creates a Job")
            return
        }
        let container = try #require(job.spec?.template.spec?.containers.first)
        #expect(container.args?.prefix(2) == ["agent", "rotate"])
        let spec = try #require(container.env?.first { $0.name == "BACKSTOP_SPEC" }?.value)
        #expect(spec.contains("\"operation\":\"apply\"") && spec.contains("newPasswordFile") && spec.contains("\"role\":\"app\""))
        #expect(container.env?.allSatisfy { $0.valueFrom == nil } == true, "no value from a Secret in the env")
        let mounted = Set((job.spec?.template.spec?.volumes ?? []).compactMap { $0.secret?.secretName })
        #expect(mounted == ["pg-admin", planner.pendingName(Self.rotation(), status)])
        #expect(job.metadata.name == planner.jobName(.apply, Self.rotation(), status))
    }

    @Test func restartPacesConsumersAndFailsNamingTheOneThatIsNotReady() {
        let api = WorkloadReference(kind: .deployment, name: "api"), web = WorkloadReference(kind: .deployment, name: "web")
        let rotation = Self.rotation(workloads: [web], maxConcurrent: 1)
        var status = Self.status()
        let idle = ConsumerObservation(restartedAt: nil, rollout: .done)
        // Listed first, then discovered; one at a time.
        let first = planner.decide(.restart, Self.observed(rotation, consumers: [api.key: idle, web.key: idle], discovered: [api]), status: &status)
        #expect(status.consumers?.map(\.name) == ["web", "api"])
        #expect(first == .running(actions: [.restart(web, at: Time(Self.now))], message: "Deployment/web: restarting; Deployment/api: waiting for its turn"))
        // Crash and reconcile again before the annotation landed: the same restart time again, not a new one.
        let again = planner.decide(.restart, Self.observed(rotation, consumers: [api.key: idle, web.key: idle], discovered: [api], at: 5), status: &status)
        #expect(again == .running(actions: [.restart(web, at: Time(Self.now))], message: "Deployment/web: restarting; Deployment/api: waiting for its turn"))
        // web rolled out: api's turn.
        let stamp = Time(Self.now).rfc3339
        let webDone = ConsumerObservation(restartedAt: stamp, rollout: .done)
        if case .running(let actions, _) = planner.decide(.restart, Self.observed(rotation, consumers: [api.key: idle, web.key: webDone], discovered: [api], at: 6), status: &status) {
            #expect(actions == [.restart(api, at: Time(Self.now.addingTimeInterval(6)))])
        } else {
            Issue.record("api restarts next")
        }
        #expect(status.consumersReady == "1/2")
        // api never becomes ready: past rollout.timeout the step fails naming it.
        let apiStuck = ConsumerObservation(restartedAt: Time(Self.now.addingTimeInterval(6)).rfc3339, rollout: .progressing("Deployment/api: 0 of 1 replicas ready"))
        let f = Self.failure(planner.decide(.restart, Self.observed(rotation, consumers: [api.key: apiStuck, web.key: webDone], discovered: [api], at: 70), status: &status))
        #expect(f?.reason == RotationReason.consumerNotReady && f?.message.contains("Deployment/api") == true, "\(String(describing: f))")
    }

    // MARK: the roll-back

    @Test(arguments: [
        // (recorded steps, undo at the source, Secret, consumers)
        ([(RotationStep.validate, StepPhase.failed, "SecretNotFound: x")], false, false, false),
        ([(.validate, .succeeded, nil), (.generate, .succeeded, nil), (.apply, .failed, "PermissionDenied: may not")], false, false, false),
        ([(.validate, .succeeded, nil), (.generate, .succeeded, nil), (.apply, .failed, "QueryFailed: connection lost")], true, false, false),
        ([(.apply, .succeeded, nil), (.update, .failed, "boom")], true, true, false),
        ([(.apply, .succeeded, nil), (.update, .succeeded, nil), (.restart, .failed, "ConsumerNotReady: x")], true, true, true),
        ([(.apply, .succeeded, nil), (.update, .succeeded, nil), (.restart, .succeeded, nil), (.verify, .succeeded, nil), (.finalize, .failed, "x")], false, false, false),
    ] as [([(RotationStep, StepPhase, String?)], Bool, Bool, Bool)])
    func rollBackUndoesExactlyWhatTheRunChanged(_ steps: [(RotationStep, StepPhase, String?)], _ source: Bool, _ secret: Bool, _ consumers: Bool) {
        let scope = RollBackScope.of(Self.status(steps).steps ?? [], applies: true)
        #expect([scope.source, scope.secret, scope.consumers] == [source, secret, consumers], "\(steps.map(\.0.rawValue))")
    }

    @Test func rollBackOrderIsSourceThenSecretThenConsumersThenThePendingSecret() throws {
        var status = Self.status([(.apply, .succeeded, nil), (.update, .succeeded, nil), (.restart, .failed, "ConsumerNotReady: x")])
        status.consumers = [ConsumerStatus(kind: "Deployment", name: "api", restartedAt: Time(Self.now), ready: false)]
        var secrets = Self.healthySecrets
        secrets.pendingExists = true
        let api = WorkloadReference(kind: .deployment, name: "api")
        let stuck = ConsumerObservation(restartedAt: Time(Self.now).rfc3339, rollout: .progressing("not ready"))
        // 1. the source, by an agent Job.
        guard case .running(let a1, _) = planner.decide(.rollBack, Self.observed(secrets: secrets, consumers: [api.key: stuck], at: 10), status: &status),
              case .createJob(let job)? = a1.first else { Issue.record("an undo Job first"); return }
        #expect(job.spec?.template.spec?.containers.first?.env?.first { $0.name == "BACKSTOP_SPEC" }?.value?.contains("\"operation\":\"rollback\"") == true)
        // 2. the Secret, once the Job succeeded.
        var o = Self.observed(secrets: secrets, consumers: [api.key: stuck], at: 11)
        o.jobs[.rollBack] = try finishedJob(job)
        o.results[job.metadata.name ?? ""] = AgentResult(ok: true, message: nil, json: ["ok": true, "message": "previous password set again"])
        #expect(planner.decide(.rollBack, o, status: &status) == .running(actions: [.restoreTarget], message: "writing the old values back into Secret db-creds"))
        // 3. consumers restarted on the old values, at a recorded time distinct from the forward restart.
        o.secrets.targetHoldsOld = true
        guard case .running(let a3, _) = planner.decide(.rollBack, o, status: &status), case .restart(let ref, let at)? = a3.first else {
            Issue.record("then the consumers"); return
        }
        #expect(ref == api && at == status.run?.rollbackRestartedAt && at.rfc3339 != Time(Self.now).rfc3339)
        // 4. ready again: the pending Secret goes; without it the roll-back is done.
        o.consumers[api.key] = ConsumerObservation(restartedAt: at.rfc3339, rollout: .done)
        #expect(planner.decide(.rollBack, o, status: &status) == .running(actions: [.deletePending], message: "deleting the pending Secret"))
        o.secrets.pendingExists = false
        o.secrets.targetHoldsOld = false
        guard case .succeeded(_, let message) = planner.decide(.rollBack, o, status: &status) else { Issue.record("done"); return }
        #expect(message?.hasPrefix("rolled back") == true && status.consumersReady == "1/1")
    }

    func finishedJob(_ job: Job) throws -> Job {
        var json = try JSONValue.encode(job)
        json["status"] = ["conditions": [["type": "Complete", "status": "True"]], "succeeded": 1]
        return try json.decode(Job.self)
    }

    // MARK: values

    @Test func generatedValuesUseOnlyTheCharsetAndTheWholeOfIt() {
        var rng = SystemRandomNumberGenerator()
        for charset in Charset.knownValues {
            let alphabet = Set(RotationValues.alphabet(charset) ?? [])
            var seen = Set<Character>()
            for _ in 0..<200 {
                let value = RotationValues.generate(GenerateSpec(length: 64, charset: charset), using: &rng)
                #expect(value.count == 64 && value.allSatisfy(alphabet.contains), "\(charset.rawValue)")
                seen.formUnion(value)
            }
            #expect(seen == alphabet, "\(charset.rawValue): every character is drawn")
        }
    }

    @Test(arguments: [
        ("env", #"{"containers": [{"name": "c", "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "k"}}}]}]}"#, true),
        ("envFrom", #"{"containers": [{"name": "c", "envFrom": [{"secretRef": {"name": "db-creds"}}]}]}"#, true),
        ("init container", #"{"containers": [{"name": "c"}], "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "db-creds"}}]}]}"#, true),
        ("volume", #"{"containers": [{"name": "c"}], "volumes": [{"name": "v", "secret": {"secretName": "db-creds"}}]}"#, true),
        ("projected", #"{"containers": [{"name": "c"}], "volumes": [{"name": "v", "projected": {"sources": [{"secret": {"name": "db-creds"}}]}}]}"#, true),
        ("pull secret", #"{"containers": [{"name": "c"}], "imagePullSecrets": [{"name": "db-creds"}]}"#, true),
        ("another Secret", #"{"containers": [{"name": "c", "envFrom": [{"secretRef": {"name": "other"}}]}], "volumes": [{"name": "v", "secret": {"secretName": "other"}}]}"#, false),
        ("a ConfigMap of the same name", #"{"containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "db-creds"}}]}]}"#, false),
    ])
    func discoveryFindsEveryWayAPodUsesTheSecret(_ name: String, _ json: String, _ expected: Bool) throws {
        let podSpec = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        #expect(RotationValues.references(podSpec: podSpec, secret: "db-creds") == expected, "\(name)")
    }
}

extension RotationVerdict {
    var isSucceeded: Bool {
        if case .succeeded = self { return true }
        return false
    }
}
