import BackstopCore
import DynamicJSON
import Foundation
import KubeModel
import Testing
import YAML

@Suite("Examples")
struct ExampleTests {
    static let files = Repo.files(in: "docs/examples")

    @Test func everySeedHasExamples() {
        let names = Self.files.map(\.lastPathComponent)
        for seed in ["000", "001", "002", "003", "004"] {
            #expect(names.contains { $0.hasPrefix(seed + "-") }, "no example for seed \(seed)")
        }
        let readme = (try? Repo.text(Repo.url("docs/examples/README.md"))) ?? ""
        for name in names { #expect(readme.contains(name), "README.md does not mention \(name)") }
    }

    @Test(arguments: files)
    func validatesClean(_ file: URL) throws {
        let issues = try validateStream(try Repo.text(file))
        #expect(issues.isEmpty, "\(file.lastPathComponent): \(issues.map(\.description))")
    }

    /// Typed decode then encode gives back exactly the document: no field is lost or invented.
    @Test(arguments: files)
    func roundTripsWithoutLoss(_ file: URL) throws {
        for doc in try YAML.parse(try Repo.text(file)) {
            let reencoded: JSONValue
            switch doc["kind"]?.stringValue {
            case "BackupPolicy": reencoded = try JSONValue.encode(try doc.decode(BackupPolicy.self))
            case "RestoreRequest": reencoded = try JSONValue.encode(try doc.decode(RestoreRequest.self))
            case "DrillRun": reencoded = try JSONValue.encode(try doc.decode(DrillRun.self))
            case "SecretRotation": reencoded = try JSONValue.encode(try doc.decode(SecretRotation.self))
            case "CleanupPolicy": reencoded = try JSONValue.encode(try doc.decode(CleanupPolicy.self))
            default:
                Issue.record("unexpected kind in \(file.lastPathComponent)")
                continue
            }
            #expect(reencoded == doc, "\(file.lastPathComponent) \(doc["metadata"]?["name"] ?? "")")
        }
    }
}

@Suite("Schema and types agree")
struct SchemaTypeTests {
    /// A value using every schema field decodes into the Swift type and encodes back unchanged:
    /// every field in the CRD exists in Swift under the same name and type.
    @Test(arguments: Backstop.kinds.map(\.kind))
    func sampleRoundTrips(_ kind: String) throws {
        let description = try #require(Backstop.kind(named: kind))
        var sample = description.objectSchema.sample
        sample["metadata"] = ["name": "example", "namespace": "demo"]
        let back: JSONValue
        switch kind {
        case "BackupPolicy": back = try JSONValue.encode(try sample.decode(BackupPolicy.self))
        case "RestoreRequest": back = try JSONValue.encode(try sample.decode(RestoreRequest.self))
        case "DrillRun": back = try JSONValue.encode(try sample.decode(DrillRun.self))
        case "SecretRotation": back = try JSONValue.encode(try sample.decode(SecretRotation.self))
        default: back = try JSONValue.encode(try sample.decode(CleanupPolicy.self))
        }
        #expect(back == sample, "\(Self.diff(sample, back, "").prefix(5))")
    }

    static func diff(_ a: JSONValue, _ b: JSONValue, _ path: String) -> [String] {
        if case .object(let x) = a, case .object(let y) = b {
            return Set(x.keys).union(y.keys).sorted().flatMap { k in
                guard let xa = x[k], let yb = y[k] else { return ["\(path).\(k) missing on one side"] }
                return diff(xa, yb, path + "." + k)
            }
        }
        if case .array(let x) = a, case .array(let y) = b, x.count == y.count {
            return zip(x, y).enumerated().flatMap { diff($1.0, $1.1, "\(path)[\($0)]") }
        }
        return a == b ? [] : ["\(path): \(a) != \(b)"]
    }

    @Test func unknownEnumValuesDecode() throws {
        let json: JSONValue = ["type": "Ready", "status": "Maybe", "lastTransitionTime": "2026-02-08T02:00:00Z",
                               "reason": "X", "message": ""]
        let c = try json.decode(Condition.self)
        #expect(c.status.rawValue == "Maybe" && !c.status.isKnown)
        #expect(try JSONValue.encode(c) == json)
    }

    @Test func unknownFieldsAreTolerated() throws {
        let json: JSONValue = ["metadata": ["name": "x", "futureField": 1], "spec": ["containers": [["name": "c", "newThing": true]]]]
        let pod = try json.decode(Pod.self)
        #expect(pod.spec?.containers.first?.name == "c")
    }
}
