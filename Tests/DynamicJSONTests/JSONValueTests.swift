import Foundation
import Testing
@testable import DynamicJSON

@Suite struct JSONValueTests {
    @Test(arguments: [
        ("{\"a\":1,\"b\":[true,false,null],\"c\":\"x\"}", JSONValue.object(["a": 1, "b": [true, false, nil], "c": "x"])),
        ("-12", .int(-12)),
        ("1.5e3", .double(1500)),
        ("9223372036854775807", .int(Int64.max)),
        ("100000000000000000000", .double(1e20)),
        ("\"\\u00e9\\n\\\"\"", .string("é\n\"")),
        ("\"\\ud83d\\ude00\"", .string("😀")),
        ("  [ ]  ", .array([])),
    ])
    func parses(text: String, expected: JSONValue) throws {
        #expect(try JSONValue(parsing: text) == expected)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "tru", "\"\u{01}\"", "[1] x", "{1:2}", "\"abc"])
    func rejects(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
    }

    @Test func refusesHostileNesting() {
        let deep = String(repeating: "[", count: 100_000)
        let error = #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
        #expect(error?.message.contains("nesting") == true)
    }

    @Test func roundTripsThroughSerializer() throws {
        let value: JSONValue = ["s": "line\nquote\"tab\t\u{02}", "n": 3.25, "i": -7, "a": [["x": nil]], "b": false]
        for pretty in [false, true] {
            let text = value.serialized(sortedKeys: true, pretty: pretty)
            #expect(try JSONValue(parsing: text) == value)
        }
        #expect(String(decoding: (["b": 1, "a": 2] as JSONValue).serialized(sortedKeys: true), as: UTF8.self) == "{\"a\":2,\"b\":1}")
    }

    @Test func agreesWithFoundationOnCodable() throws {
        struct Sample: Codable, Equatable { var name: String; var count: Int; var tags: [String]; var ratio: Double? }
        let sample = Sample(name: "n", count: 3, tags: ["a"], ratio: 0.5)
        let value = try JSONValue.encode(sample)
        #expect(value["count"] == .int(3))
        #expect(try value.decode(Sample.self) == sample)
        let nested = try JSONDecoder().decode([String: JSONValue].self, from: Data(#"{"x":{"y":[1,"2"]}}"#.utf8))
        #expect(nested["x"]?["y"]?[1] == "2")
    }

    @Test func pathAccessCreatesIntermediateObjects() {
        var value: JSONValue = [:]
        value[path: ["metadata", "labels", "app"]] = "demo"
        #expect(value[path: ["metadata", "labels", "app"]]?.stringValue == "demo")
        value[path: ["metadata", "labels", "app"]] = nil
        #expect(value[path: ["metadata", "labels"]] == .object([:]))
    }
}
