import DynamicJSON
import Foundation
import KubeModel
import Testing
import TestSupport
import YAML

@Suite("Generated files")
struct GeneratedFilesTests {
    @Test(arguments: Backstop.kinds.map(\.kind))
    func crdIsFresh(_ kind: String) throws {
        let d = try #require(Backstop.kind(named: kind))
        let expected = KindDescription.crdHeader + (try YAML.emit(d.crd))
        let url = Repo.url("crds/" + d.crdFileName)
        if Repo.regenerate { try Data(expected.utf8).write(to: url) }
        let committed = try? Repo.text(url)
        #expect(committed == expected, "crds/\(d.crdFileName) is stale: run `backstop crds -o crds --reference-dir docs/reference` (or BACKSTOP_REGENERATE=1 swift test)")
    }

    @Test(arguments: Backstop.kinds.map(\.kind))
    func referenceIsFresh(_ kind: String) throws {
        let d = try #require(Backstop.kind(named: kind))
        let url = Repo.url("docs/reference/" + d.referenceFileName)
        if Repo.regenerate { try Data(d.referenceMarkdown.utf8).write(to: url) }
        #expect((try? Repo.text(url)) == d.referenceMarkdown, "docs/reference/\(d.referenceFileName) is stale")
    }

    @Test func crdsAreComplete() throws {
        for d in Backstop.kinds {
            let crd = d.crd
            let names = try #require(crd[path: ["spec", "names"]])
            #expect(names["categories"] == ["backstop"])
            #expect(names["shortNames"]?[0]?.stringValue == d.shortName)
            let version = try #require(crd[path: ["spec", "versions"]]?[0])
            #expect(version["subresources"]?["status"] == [:])
            #expect((version["additionalPrinterColumns"]?.arrayValue?.count ?? 0) >= 5)
            // Every node carries a description, arrays a maxItems, strings a bound (CEL cost).
            Self.checkNodes(try #require(version[path: ["schema", "openAPIV3Schema"]]), "", kind: d.kind)
        }
    }

    static func checkNodes(_ node: JSONValue, _ path: String, kind: String) {
        #expect(node["description"]?.stringValue?.isEmpty == false, "\(kind) \(path) has no description")
        if node["type"] == "array" { #expect(node["maxItems"] != nil, "\(kind) \(path) has no maxItems") }
        for (k, v) in node["properties"]?.objectValue ?? [:] { checkNodes(v, path + "." + k, kind: kind) }
        if let items = node["items"] { checkNodes(items, path + "[]", kind: kind) }
        if let values = node["additionalProperties"] { checkNodes(values, path + "{}", kind: kind) }
    }

    /// kubernetes-validate (Kubernetes 1.32 schemas, strict) accepts every committed CRD, and
    /// rejects a broken one (so the check can fail).
    @Test func kubernetesValidateAcceptsCRDs() async throws {
        let tool = URL(fileURLWithPath: TestServices.python).deletingLastPathComponent()
            .appendingPathComponent("kubernetes-validate").path
        for d in Backstop.kinds {
            let status = try await runCommand([tool, "--strict", "-k", "1.32.0", Repo.url("crds/" + d.crdFileName).path])
            #expect(status == 0, "kubernetes-validate rejected crds/\(d.crdFileName)")
        }
        var broken = Backstop.kinds[0].crd
        broken[path: ["spec", "scopeTypo"]] = "Namespaced"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("backstop-broken-crd-\(getpid()).yaml")
        try Data((try YAML.emit(broken)).utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try await runCommand([tool, "--strict", "-k", "1.32.0", file.path]) != 0)
    }
}
