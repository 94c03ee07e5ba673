import DynamicJSON
import Foundation
import KubeSim
import Testing

/// A CRD's schema may constrain `metadata.name` and `metadata.generateName`; the real
/// apiextensions server validates them with the rest of the object and answers 422.
@Suite struct CRDMetadataNameTests {
    static let crd: JSONValue = {
        var crd = widgetCRDJSON
        crd[path: ["metadata", "name"]] = "gadgets.example.com"
        crd[path: ["spec", "names"]] = ["plural": "gadgets", "singular": "gadget", "kind": "Gadget"]
        var version = crd[path: ["spec", "versions"]]![0]!
        version[path: ["schema", "openAPIV3Schema", "properties", "metadata"]] = [
            "type": "object",
            "properties": [
                "name": ["type": "string", "maxLength": 12, "pattern": "^g-"],
                "generateName": ["type": "string", "maxLength": 6],
            ],
        ]
        crd[path: ["spec", "versions"]] = [version]
        return crd
    }()

    func gadget(name: String? = nil, generateName: String? = nil) -> JSONValue {
        var meta: [String: JSONValue] = ["namespace": "default"]
        if let name { meta["name"] = .string(name) }
        if let generateName { meta["generateName"] = .string(generateName) }
        return ["apiVersion": "example.com/v1", "kind": "Gadget", "metadata": .object(meta), "spec": ["replicas": 1]]
    }

    @Test func nameConstraintsFromTheSchemaAreEnforcedWith422() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        let store = h.sim.store
        try store.create(Self.crd)

        let ok = try store.create(gadget(name: "g-twelve-ch"))
        #expect(ok["metadata"]?["name"] == "g-twelve-ch")

        let long = #expect(throws: KubeAPIError.self) { try store.create(gadget(name: "g-thirteen-ch")) }
        #expect(long?.code == 422)
        #expect(long?.message == "Gadget.example.com \"g-thirteen-ch\" is invalid: metadata.name: Too long: may not be more than 12 bytes")
        #expect(long?.details?["causes"]?[0]?["field"] == "metadata.name")
        #expect(long?.details?["causes"]?[0]?["reason"] == "FieldValueTooLong")

        let pattern = #expect(throws: KubeAPIError.self) { try store.create(gadget(name: "x-short")) }
        #expect(pattern?.code == 422)
        #expect(pattern?.message.contains("metadata.name: Invalid value: \"x-short\": metadata.name in body should match '^g-'") == true,
                "\(pattern?.message ?? "")")

        // generateName has its own constraint; the generated name is checked as well.
        let prefix = #expect(throws: KubeAPIError.self) { try store.create(gadget(generateName: "g-long-prefix-")) }
        #expect(prefix?.code == 422)
        #expect(prefix?.message.contains("metadata.generateName: Too long: may not be more than 6 bytes") == true, "\(prefix?.message ?? "")")
        let generated = try store.create(gadget(generateName: "g-"))
        #expect(generated["metadata"]?["name"]?.stringValue?.hasPrefix("g-") == true)

        // Nothing was stored for the rejected ones.
        #expect(throws: KubeAPIError.self) { try store.get("example.com/v1", "Gadget", namespace: "default", name: "g-thirteen-ch") }
    }

    @Test func kubectlSeesTheRealServersRejection() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        try h.sim.store.create(Self.crd)
        let manifest = "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g-far-too-long-name\n  namespace: default\nspec:\n  replicas: 1\n"
        let result = try await h.kubectl("apply", "-f", "-", stdin: manifest)
        #expect(result.status != 0)
        #expect(result.stderr.contains("metadata.name: Too long: may not be more than 12 bytes"), "\(result.stderr)")
    }
}
