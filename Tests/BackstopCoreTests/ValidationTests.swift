import BackstopCore
import DynamicJSON
import Foundation
import KubeModel
import Testing

@Suite("Validation")
struct ValidationTests {
    static let policy: JSONValue = [
        "apiVersion": "backstop.dev/v1alpha1", "kind": "BackupPolicy",
        "metadata": ["name": "pg", "namespace": "demo"],
        "spec": [
            "schedule": "0 2 * * *",
            "source": ["postgres": ["host": "postgres", "database": "app", "user": "app"]],
            "destination": ["volume": ["claimName": "backups"]],
            "retention": ["keepDaily": 7],
        ],
    ]

    func issues(_ doc: JSONValue, context: ValidationContext = ValidationContext()) -> [String] {
        BackstopValidator(context: context).validate(document: doc).map(\.description)
    }

    @Test func validPolicyIsClean() { #expect(issues(Self.policy).isEmpty) }

    @Test func defaultsAreAppliedBeforeRules() {
        let (found, defaulted) = SchemaValidator.validate(Self.policy["spec"]!, against: Backstop.kind(named: "BackupPolicy")!.spec)
        #expect(found.isEmpty)
        #expect(defaulted[path: ["source", "postgres", "port"]] == 5432)
        #expect(defaulted["concurrencyPolicy"] == "Forbid")
        #expect(defaulted["timeZone"] == "UTC")
    }

    @Test func nonBackstopAndWrongVersion() {
        #expect(!BackstopValidator.isBackstopDocument(["apiVersion": "v1", "kind": "ConfigMap"]))
        var doc = Self.policy
        doc["apiVersion"] = "backstop.dev/v1"
        #expect(issues(doc).first?.hasPrefix("apiVersion: Unsupported value") == true)
        doc = Self.policy
        doc["kind"] = "BackupPolicies"
        #expect(issues(doc).first?.contains("supported kinds: BackupPolicy") == true)
    }

    @Test func nullIsAbsentAndRequiredIsReported() {
        var doc = Self.policy
        doc[path: ["spec", "destination"]] = .null
        #expect(issues(doc) == ["spec.destination: Required value: add destination (where artifacts and their manifests go: exactly one member)"])
    }

    @Test func rulesSkippedWhenSubtreeHasSchemaErrors() {
        var doc = Self.policy
        doc[path: ["spec", "source", "redis"]] = ["host": 5]
        let found = issues(doc)
        #expect(found == ["spec.source.redis.host: Invalid value: integer: must be a string"])
    }

    @Test func integralDoublesAreIntegers() {
        var doc = Self.policy
        doc[path: ["spec", "retention", "keepDaily"]] = .double(7)
        #expect(issues(doc).isEmpty)
        doc[path: ["spec", "retention", "keepDaily"]] = .double(7.5)
        #expect(issues(doc) == ["spec.retention.keepDaily: Invalid value: number: must be an integer"])
    }

    @Test func restoreOverSourceNeedsOptIn() {
        let rr: JSONValue = ["apiVersion": "backstop.dev/v1alpha1", "kind": "RestoreRequest",
                             "metadata": ["name": "r", "namespace": "demo"],
                             "spec": ["policyRef": ["name": "pg"], "target": ["postgres": ["database": "app"]]]]
        var context = ValidationContext()
        context.add(try! Self.policy.decode(BackupPolicy.self))
        #expect(issues(rr).isEmpty, "without the policy the target cannot be resolved")
        #expect(issues(rr, context: context).first?.hasPrefix("spec.target: target resolves to the policy's live source (postgres postgres 5432 app)") == true)
        var opted = rr
        opted[path: ["spec", "allowOverwriteSource"]] = true
        #expect(issues(opted, context: context).isEmpty)
    }

    @Test func warningsDoNotHideErrors() {
        var doc = Self.policy
        doc[path: ["spec", "retention"]] = [:]
        let found = BackstopValidator().validate(document: doc)
        #expect(found.count == 1 && found[0].severity == .warning && found[0].path.description == "spec.retention")
    }

    @Test(arguments: ["spec.targets[1].sql.maxAge", "metadata.name", "spec.keys[0]", "a[1][2].b"])
    func fieldPathsRoundTrip(_ text: String) {
        #expect(FieldPath(parsing: text).description == text)
    }

    @Test func childNamesFitAndAreStable() {
        let long = String(repeating: "a", count: Backstop.maxNameLength)
        let job = NameRules.childName(owner: long, purpose: "restore", token: "2026-02-08T02:00:00Z")
        #expect(job.count <= 63 && job.hasPrefix(long + "-restore-"))
        #expect(job == NameRules.childName(owner: long, purpose: "restore", token: "2026-02-08T02:00:00Z"))
        #expect(job != NameRules.childName(owner: long, purpose: "restore", token: "2026-02-08T08:00:00Z"))
        let drill = NameRules.childName(owner: long, purpose: "drill", token: "x", maxLength: Backstop.maxNameLength)
        #expect(drill.count <= Backstop.maxNameLength && NameRules.dnsSubdomainProblem(drill) == nil)
    }

    @Test(arguments: [("ok-name", true), ("a.b", true), ("-bad", false), ("Bad", false), ("a..b", false), ("a_b", false)])
    func dnsNames(_ name: String, _ ok: Bool) {
        #expect((NameRules.dnsSubdomainProblem(name) == nil) == ok)
    }
}
