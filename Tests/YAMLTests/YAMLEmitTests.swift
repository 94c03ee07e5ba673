import DynamicJSON
import Foundation
import Testing
import YAML

@Suite("YAML emitting")
struct YAMLEmitTests {
    @Test("strings that would change type or meaning are quoted and read back as strings", arguments: [
        "yes", "no", "on", "Off", "y", "N", "true", "null", "Null", "~", "", "1.0", "42", "0644", "0x10", "1e3", ".inf", ".nan",
        ":", "a: b", "- a", "-", "#x", "x #y", "<<", "@x", "`x", "*alias", "&anchor", "!tag", "%x", "[x]", "{x}", "'", "\"",
        "  leading", "trailing ", "tab\there", "ünïcødé ✓", "multi\nline\n", "no trailing newline\nend", "\n", "?", ",",
        "key:", "http://example.com/a#b", "v1.2.3", "12:30",
    ])
    func quoting(_ text: String) throws {
        let value: JSONValue = ["k": .string(text), "list": [.string(text)]]
        let yaml = try YAML.emit(value)
        #expect(try YAML.parseSingle(yaml) == value, "emitted:\n\(yaml)")
        let asKey: JSONValue = [text: "v"]
        #expect(try YAML.parseSingle(try YAML.emit(asKey)) == asKey)
    }

    @Test("quoted forms of look-alike strings, plain forms of real scalars")
    func styles() throws {
        let yaml = try YAML.emit(["a": "yes", "b": "1.0", "c": "null", "d": true, "e": 1.0, "f": 7, "g": nil, "h": "plain text"],
                                 options: YAMLEmitOptions(keyOrder: .sorted))
        #expect(yaml == "a: \"yes\"\nb: \"1.0\"\nc: \"null\"\nd: true\ne: 1.0\nf: 7\ng: null\nh: plain text\n")
    }

    @Test("multi-line strings use literal block style")
    func literal() throws {
        let yaml = try YAML.emit(["script": "set -e\necho hi\n"])
        #expect(yaml == "script: |\n  set -e\n  echo hi\n")
    }

    @Test("numbers keep their JSON type across a round trip", arguments: [
        JSONValue.double(1.0), .double(-0.5), .double(1e20), .double(.leastNonzeroMagnitude), .double(.infinity), .int(.max), .int(.min), .int(0),
    ])
    func numbers(_ value: JSONValue) throws {
        #expect(try YAML.parseSingle(try YAML.emit(["n": value])) == ["n": value])
    }

    @Test("Kubernetes key order and stable output")
    func keyOrder() throws {
        let value: JSONValue = ["spec": ["z": 1, "a": 2], "kind": "ConfigMap", "data": ["b": "2", "a": "1"],
                                "metadata": ["namespace": "ns", "labels": ["x": "y"], "name": "cm"], "apiVersion": "v1"]
        let yaml = try YAML.emit(value)
        #expect(yaml == """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: cm
              namespace: ns
              labels:
                x: "y"
            data:
              a: "1"
              b: "2"
            spec:
              a: 2
              z: 1

            """)
        #expect(try YAML.emit(value) == yaml)
    }

    @Test("emit then parse gives the same value for nested, empty and multi-document content")
    func roundTrip() throws {
        let documents: [JSONValue] = [
            ["apiVersion": "v1", "kind": "List", "items": [["a": [], "b": [:], "c": [[1, 2], ["x": nil]]], "s"]],
            nil,
            ["nested": ["deeper": ["list": [true, false, 1.5, "text with: colon", "multi\n  indented\nlines"]]]],
        ]
        let yaml = try YAML.emit(documents: documents)
        #expect(yaml.components(separatedBy: "\n---").count == 3)
        #expect(try YAML.parse(yaml) == documents)
    }

    @Test("Kubernetes manifests survive parse → emit → parse", arguments: KubernetesSamples.all)
    func kubernetesSamples(_ text: String) throws {
        let first = try YAML.parse(text)
        #expect(!first.isEmpty)
        let again = try YAML.parse(try YAML.emit(documents: first))
        #expect(again == first)
    }

    @Test("Kubernetes reading of typical manifest values")
    func kubernetesMeaning() throws {
        let docs = try YAML.parse(KubernetesSamples.configMapAndPod)
        #expect(docs.count == 2)
        #expect(docs[0]["data"]?["enabled"] == "yes")          // quoted: a string
        #expect(docs[0]["data"]?["flag"] == .bool(true))       // plain yes: a boolean, as kubectl reads it
        #expect(docs[0]["data"]?["script"] == "#!/bin/sh\necho \"hello\"\n")
        #expect(docs[0]["data"]?["folded"] == "one two\n")
        #expect(docs[1]["spec"]?["volumes"]?[0]?["configMap"]?["defaultMode"] == 420)  // 0644
        #expect(docs[1]["spec"]?["containers"]?[0]?["args"] == ["--port", "8080", "--verbose"])
        #expect(docs[1]["spec"]?["containers"]?[0]?["env"]?[0]?["value"] == "1.0")
    }
}
