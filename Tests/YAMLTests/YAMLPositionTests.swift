import DynamicJSON
import Foundation
import Testing
import YAML

@Suite("YAML positions and Codable")
struct YAMLPositionTests {
    static let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          labels: {app: web}
        spec:
          replicas: 3
          template:
            spec:
              containers:
                - name: nginx
                  image: nginx:1.27
                  ports:
                    - containerPort: 80
                - name: sidecar
                  image: busybox
        """

    @Test("positions of nodes and keys by path")
    func positions() throws {
        let doc = try #require(try YAML.parseDocuments(Self.deployment).first)
        #expect(doc.position(of: []) == YAMLPosition(line: 1, column: 1))
        #expect(doc.position(of: ["spec", "replicas"]) == YAMLPosition(line: 7, column: 13))
        #expect(doc.keyPosition(of: ["spec", "replicas"]) == YAMLPosition(line: 7, column: 3))
        #expect(doc.position(of: ["spec", "template", "spec", "containers", 1, "image"]) == YAMLPosition(line: 16, column: 18))
        #expect(doc.position(of: ["spec", "template", "spec", "containers", 0]) == YAMLPosition(line: 11, column: 11))
        #expect(doc.position(of: ["metadata", "labels", "app"]) == YAMLPosition(line: 5, column: 17))
        #expect(doc.position(of: ["spec", "nope"]) == nil)
        #expect(doc.nearestPosition(of: ["spec", "template", "nope", "deeper"]) == YAMLPosition(line: 8, column: 3))
    }

    @Test("inside an alias expansion, lookups stop at the alias")
    func aliasPositions() throws {
        let doc = try #require(try YAML.parseDocuments("base: &b\n  x: 1\ncopy: *b\nmerged:\n  <<: *b\n  z: 2\n").first)
        #expect(doc.position(of: ["base", "x"]) == YAMLPosition(line: 2, column: 6))
        #expect(doc.position(of: ["copy"]) == YAMLPosition(line: 3, column: 7))
        #expect(doc.position(of: ["copy", "x"]) == nil)
        #expect(doc.nearestPosition(of: ["copy", "x"]) == YAMLPosition(line: 3, column: 1))
        #expect(doc.value["merged"] == ["x": 1, "z": 2])
        #expect(doc.keyPosition(of: ["merged", "z"]) == YAMLPosition(line: 6, column: 3))
        #expect(doc.nearestPosition(of: ["merged", "x"]) == YAMLPosition(line: 4, column: 1))
        struct Key: CodingKey {
            var stringValue: String; var intValue: Int?
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { return nil }
        }
        #expect(doc.nearestPosition(of: [Key(stringValue: "merged"), Key(stringValue: "z")]) == YAMLPosition(line: 6, column: 3))
    }

    struct Deployment: Codable, Equatable {
        var apiVersion: String
        var kind: String
        var metadata: Metadata
        var spec: Spec
        struct Metadata: Codable, Equatable { var name: String; var labels: [String: String]? }
        struct Spec: Codable, Equatable { var replicas: Int; var template: Template }
        struct Template: Codable, Equatable { var spec: PodSpec }
        struct PodSpec: Codable, Equatable { var containers: [Container] }
        struct Container: Codable, Equatable { var name: String; var image: String; var ports: [Port]? }
        struct Port: Codable, Equatable { var containerPort: Int }
    }

    @Test("decoding a Kubernetes manifest, and encoding it back")
    func codable() throws {
        let deployment = try YAMLDecoder().decode(Deployment.self, from: Self.deployment)
        #expect(deployment.spec.template.spec.containers.map(\.image) == ["nginx:1.27", "busybox"])
        let text = try YAMLEncoder().encode(deployment)
        #expect(text.hasPrefix("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"))
        #expect(try YAMLDecoder().decode(Deployment.self, from: text) == deployment)
    }

    @Test("a decoding error points at the line of the bad field")
    func decodingErrorPosition() throws {
        let bad = Self.deployment.replacingOccurrences(of: "containerPort: 80", with: "containerPort: eighty")
        let error = #expect(throws: YAMLError.self) { try YAMLDecoder().decode(Deployment.self, from: bad) }
        #expect(error?.kind == .decoding)
        #expect(error?.position == YAMLPosition(line: 14, column: 15))  // the field's key
        #expect(error?.path == ["spec", "template", "spec", "containers", 0, "ports", 0, "containerPort"])
        #expect(error?.description.hasPrefix("line 14, column 15: spec.template.spec.containers[0].ports[0].containerPort: ") == true)

        let missing = Self.deployment.replacingOccurrences(of: "  replicas: 3\n", with: "")
        let absent = #expect(throws: YAMLError.self) { try YAMLDecoder().decode(Deployment.self, from: missing) }
        #expect(absent?.message.contains("replicas") == true)
        #expect(absent?.position?.line == 6)  // the `spec:` mapping that lacks it
    }

    @Test("encoding several documents writes a stream that decodes back")
    func multiDocumentCodable() throws {
        struct Item: Codable, Equatable { var kind: String; var count: Int }
        let items = [Item(kind: "A", count: 1), Item(kind: "B", count: 2)]
        let text = try YAMLEncoder().encode(documents: items)
        #expect(text == "kind: A\ncount: 1\n---\nkind: B\ncount: 2\n")
        #expect(try YAMLDecoder().decodeAll(Item.self, from: text) == items)
    }

    @Test("decodeAll skips empty documents of a multi-document file")
    func decodeAll() throws {
        struct Named: Decodable, Equatable { var kind: String }
        let kinds = try YAMLDecoder().decodeAll(Named.self, from: "---\nkind: A\n---\n---\nkind: B\n---\n")
        #expect(kinds == [Named(kind: "A"), Named(kind: "B")])
    }
}
