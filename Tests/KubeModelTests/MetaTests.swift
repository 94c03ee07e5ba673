import DynamicJSON
import Foundation
import KubeModel
import Testing

@Suite("Meta")
struct MetaTests {
    @Test(arguments: [
        ("2026-02-08T12:00:00Z", "2026-02-08T12:00:00Z"),
        ("2026-02-08T12:00:00.123456Z", "2026-02-08T12:00:00Z"),
        ("2026-02-08T13:00:00+01:00", "2026-02-08T12:00:00Z"),
        ("2024-02-29T23:59:59-00:30", "2024-03-01T00:29:59Z"),
        ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
    ])
    func timeParsesAndEncodesLikeTheAPIServer(_ input: String, _ wire: String) throws {
        let t = try #require(Time(rfc3339: input))
        #expect(t.rfc3339 == wire)
        #expect(try JSONValue.encode(t) == .string(wire))
    }

    @Test func objectMetaSkipsManagedFieldsUnlessTheDecoderAsksForThem() throws {
        let json = Data(#"{"name":"a","namespace":"n","uid":"u","resourceVersion":"7","generation":2,"labels":{"k":"v"},"annotations":{"x":"y"},"finalizers":["f"],"ownerReferences":[{"apiVersion":"v1","kind":"K","name":"o","uid":"ou"}],"managedFields":[{"manager":"m","fieldsV1":{"f:data":{}}}]}"#.utf8)
        let meta = try JSONDecoder().decode(ObjectMeta.self, from: json)
        #expect(meta.managedFields == nil)
        #expect(meta.name == "a" && meta.namespace == "n" && meta.uid == "u" && meta.resourceVersion == "7" && meta.generation == 2)
        #expect(meta.labels == ["k": "v"] && meta.annotations == ["x": "y"] && meta.finalizers == ["f"] && meta.ownerReferences?.first?.uid == "ou")
        let decoder = JSONDecoder()
        decoder.userInfo[ObjectMeta.decodeManagedFields] = true
        #expect(try decoder.decode(ObjectMeta.self, from: json).managedFields?.first?["manager"] == "m")
    }

    @Test func microTimeKeepsMicroseconds() throws {
        let t = try JSONValue.string("2026-02-08T12:00:00.123456+00:00").decode(MicroTime.self)
        #expect(try JSONValue.encode(t) == "2026-02-08T12:00:00.123456Z")
    }

    @Test(arguments: ["2026-02-30T00:00:00Z", "2026-02-08 12:00", "yesterday", "2026-02-08T12:00:00", "2026-13-01T00:00:00Z"])
    func timeRejects(_ input: String) { #expect(Time(rfc3339: input) == nil) }

    @Test func conditionTransitionTimeChangesOnlyOnFlip() {
        var conditions: [Condition] = []
        let t0 = Time(seconds: 1000), t1 = Time(seconds: 2000), t2 = Time(seconds: 3000)
        let r1 = conditions.set(type: "Ready", status: .false, reason: "Pending", message: "waiting", observedGeneration: 1, now: t0)
        #expect(r1)
        let r2 = conditions.set(type: "Ready", status: .false, reason: "BackupFailed", message: "pg_dump exited 1", observedGeneration: 2, now: t1)
        #expect(r2)
        #expect(conditions.find("Ready")?.lastTransitionTime == t0)
        #expect(conditions.find("Ready")?.reason == "BackupFailed")
        let r3 = conditions.set(type: "Ready", status: .false, reason: "BackupFailed", message: "pg_dump exited 1", observedGeneration: 2, now: t2)
        #expect(!r3)
        let r4 = conditions.set(type: "Ready", status: .true, reason: "BackupSucceeded", message: "", observedGeneration: 2, now: t2)
        #expect(r4)
        #expect(conditions.find("Ready")?.lastTransitionTime == t2)
        #expect(conditions.isTrue("Ready") && !conditions.isTrue("Stale") && conditions.count == 1)
        let removed = conditions.remove("Ready")
        #expect(removed && conditions.isEmpty)
    }

    @Test func podTerminationMessageDecodes() throws {
        let json: JSONValue = ["metadata": ["name": "job-abc"], "status": ["phase": "Failed", "containerStatuses": [[
            "name": "agent", "ready": false, "restartCount": 0,
            "state": ["terminated": ["exitCode": 1, "reason": "Error", "message": "{\"error\":\"x\"}"]],
        ]]]]
        let pod = try json.decode(Pod.self)
        #expect(pod.status?.containerStatuses?.first?.state?.terminated?.message == "{\"error\":\"x\"}")
    }

    @Test func listsAndOwnerReferences() throws {
        var bp = BackupPolicy(metadata: ObjectMeta(name: "pg", namespace: "demo"),
                              spec: BackupPolicySpec(schedule: "@daily", source: BackupSource(redis: RedisSource(host: "redis")),
                                                     destination: BackupDestination(volume: VolumeDestination(claimName: "b"))))
        #expect(bp.ownerReference() == nil)
        bp.metadata.uid = "u-1"
        #expect(bp.ownerReference() == OwnerReference(apiVersion: "backstop.dev/v1alpha1", kind: "BackupPolicy", name: "pg", uid: "u-1"))
        let list = KubeList(items: [bp])
        let back = try JSONValue.encode(list).decode(KubeList<BackupPolicy>.self)
        #expect(back.items == [bp] && back.kind == "BackupPolicyList")
        #expect(bp.spec.source.summary == "redis://redis:6379")
    }
}
