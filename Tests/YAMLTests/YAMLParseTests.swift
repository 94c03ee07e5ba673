import DynamicJSON
import Foundation
import Testing
import YAML

@Suite("YAML parsing")
struct YAMLParseTests {
    @Test("plain scalars resolve like Kubernetes (go-yaml v2); quoted and tagged ones as written", arguments: [
        ("~", JSONValue.null), ("null", .null), ("", .null), ("NULL", .null),
        ("true", .bool(true)), ("False", .bool(false)), ("yes", .bool(true)), ("off", .bool(false)), ("ON", .bool(true)),
        ("y", .bool(true)), ("n", .bool(false)),
        ("42", .int(42)), ("-17", .int(-17)), ("+5", .int(5)), ("0x1F", .int(31)), ("0o17", .int(15)), ("0644", .int(420)),
        ("0b101", .int(5)), ("0", .int(0)), ("9223372036854775807", .int(.max)), ("-9223372036854775808", .int(.min)),
        ("18446744073709551616", .double(18446744073709551616)),
        ("1.5", .double(1.5)), ("-2e3", .double(-2000)), (".5", .double(0.5)), ("1.", .double(1)),
        (".inf", .double(.infinity)), ("-.Inf", .double(-.infinity)),
        ("'yes'", .string("yes")), ("\"123\"", .string("123")), ("'null'", .string("null")), ("!!str 123", .string("123")),
        ("!!float 1", .double(1)), ("!!int \"7\"", .int(7)), ("!!bool yes", .bool(true)),
        ("1.2.3", .string("1.2.3")), ("0x", .string("0x")), ("-x", .string("-x")), ("12:30", .string("12:30")),
        ("hello world", .string("hello world")), ("v1.2", .string("v1.2")), ("1_000", .string("1_000")),
        ("|\n  line one\n  line two\n", .string("line one\nline two\n")), (">\n  folded\n  text\n", .string("folded text\n")),
    ])
    func scalars(_ text: String, _ expected: JSONValue) throws {
        #expect(try YAML.parseSingle("v: \(text)") == ["v": expected])
    }

    @Test("NaN resolves to a double NaN")
    func nan() throws {
        let value = try YAML.parseSingle("v: .NaN")["v"]?.doubleValue
        #expect(value?.isNaN == true)
    }

    @Test("multi-document streams, including empty documents")
    func multiDocument() throws {
        let docs = try YAML.parse("a: 1\n---\nb: [1, two]\n---\n---\n# only a comment\n...\n")
        #expect(docs == [["a": 1], ["b": [1, "two"]], nil, nil])
        #expect(try YAML.parse("") == [])
        #expect(try YAML.parse("# nothing\n") == [])
        #expect(try YAML.parse("---\n") == [nil])
        let withIndex = try YAML.parseDocuments("x: 1\n---\ny: 2\n")
        #expect(withIndex.map(\.index) == [0, 1])
        #expect(withIndex[1].start.line == 2)
        #expect(throws: YAMLError.self) { try YAML.parseSingle("a: 1\n---\nb: 2\n") }
    }

    @Test("anchors, aliases and merge keys")
    func anchors() throws {
        let value = try YAML.parseSingle("""
            defaults: &defaults
              image: nginx
              ports: [80, 443]
            first: *defaults
            second:
              <<: *defaults
              image: caddy
            both:
              <<: [{a: 1}, {a: 2, b: 2}]
            quoted:
              "<<": literal
            """)
        #expect(value["first"] == value["defaults"])
        #expect(value["second"] == ["image": "caddy", "ports": [80, 443]])
        #expect(value["both"] == ["a": 1, "b": 2])
        #expect(value["quoted"] == ["<<": "literal"])
    }

    @Test("unknown and self-referencing aliases are errors with a position")
    func badAliases() throws {
        let unknown = #expect(throws: YAMLError.self) { try YAML.parse("a: 1\nb: *nope\n") }
        #expect(unknown?.kind == .unsupported)
        #expect(unknown?.position == YAMLPosition(line: 2, column: 4))
        let recursive = #expect(throws: YAMLError.self) { try YAML.parse("a: &x [1, *x]\n") }
        #expect(recursive?.kind == .unsupported)
    }

    @Test("syntax errors report the line and column of the problem", arguments: [
        ("a: 1\nb:\n\tc: 2\n", 3, 1),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n bad: indentation\n", 5, 2),
        ("a: [1, 2\nb: 3\n", 2, 2),
        ("ok: 1\nkey: \"unterminated\n", 3, 1),
    ])
    func syntaxErrors(_ text: String, _ line: Int, _ column: Int) throws {
        let error = #expect(throws: YAMLError.self) { try YAML.parse(text) }
        #expect(error?.kind == .syntax)
        #expect(error?.position == YAMLPosition(line: line, column: column))
        #expect(error?.description.hasPrefix("line \(line), column \(column): ") == true)
    }

    @Test("duplicate keys and non-scalar keys are rejected")
    func keys() throws {
        let duplicate = #expect(throws: YAMLError.self) { try YAML.parse("a: 1\nb: 2\na: 3\n") }
        #expect(duplicate?.position?.line == 3)
        #expect(duplicate?.message.contains("line 1") == true)
        #expect(throws: YAMLError.self) { try YAML.parse("? [1, 2]\n: x\n") }
        #expect(try YAML.parseSingle("1: one\ntrue: yes\n~: none\n0x10: hex\n") == ["1": "one", "true": true, "null": "none", "16": "hex"])
        // As with kubectl (go-yaml v2), a plain `on:` or `y:` key is the boolean true; quote it to keep the word.
        #expect(try YAML.parseSingle("on: push\n'y': yes\n") == ["true": "push", "y": true])
    }

    @Test("a billion-laughs alias bomb is rejected quickly")
    func aliasBomb() throws {
        var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for i in 1...9 {
            text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let started = ContinuousClock.now
        let error = #expect(throws: YAMLError.self) { try YAML.parse(text) }
        #expect(error?.kind == .limit)
        #expect(error?.position?.line == 6)  // a5 would be 10^6 nodes
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test("10k-deep nesting is rejected quickly", arguments: ["[", "{a: "])
    func deepNesting(_ opener: String) throws {
        let closer = opener == "[" ? "]" : "}"
        let text = String(repeating: opener, count: 10_000) + "1" + String(repeating: closer, count: 10_000)
        let started = ContinuousClock.now
        let error = #expect(throws: YAMLError.self) { try YAML.parse(text) }
        #expect(error?.kind == .limit)
        #expect(error?.message.contains("256") == true)
        #expect(ContinuousClock.now - started < .seconds(1))
        // Within the limit the same shape parses.
        let shallow = String(repeating: opener, count: 100) + "1" + String(repeating: closer, count: 100)
        #expect(try YAML.parse(shallow).count == 1)
    }

    @Test("invalid UTF-8 is a syntax error with a position")
    func invalidUTF8() throws {
        let bytes: [UInt8] = Array("a: 1\nb: ".utf8) + [0xFF, 0xFE] + Array("\n".utf8)
        let error = #expect(throws: YAMLError.self) { try YAML.parseDocuments(bytes) }
        #expect(error?.kind == .syntax)
        #expect(error?.position?.line == 2)
    }
}
