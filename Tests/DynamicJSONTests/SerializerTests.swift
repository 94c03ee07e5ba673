import Foundation
import Testing
@testable import DynamicJSON

/// The byte writer: exact output for escapes and integers (the fast paths copy unescaped runs
/// and format digits in place), agreement with Foundation's parser, and bridged strings.
@Suite struct SerializerTests {
    func text(_ value: JSONValue) -> String { String(decoding: value.serialized(), as: UTF8.self) }

    @Test(arguments: [
        (JSONValue.int(0), "0"), (.int(-1), "-1"), (.int(Int64.max), "9223372036854775807"),
        (.int(Int64.min), "-9223372036854775808"), (.int(1_000_000), "1000000"),
        (.double(2), "2"), (.double(-0.5), "-0.5"), (.double(.nan), "null"), (.double(1e20), "1e+20"),
        (.string(""), "\"\""), (.string("plain"), "\"plain\""), (.string("é😀"), "\"é😀\""),
        (.string("a\"b\\c"), #""a\"b\\c""#), (.string("\n\r\t"), #""\n\r\t""#),
        (.string("\u{00}\u{1f}x\u{7f}"), #""\u0000\u001fx\#u{7f}""#),
        (.string("\"start and end\""), #""\"start and end\"""#),
        (.array([]), "[]"), (.object([:]), "{}"), (.array([1, "x", nil, true]), #"[1,"x",null,true]"#),
    ])
    func exactOutput(_ value: JSONValue, _ expected: String) {
        #expect(text(value) == expected)
    }

    @Test func everyControlCharacterRoundTripsThroughFoundation() throws {
        let all = String(decoding: (0..<128).map { UInt8($0) }, as: UTF8.self) + "ünï😀"
        let bytes = JSONValue.object(["k\u{01}\"": .string(all)]).serialized()
        let decoded = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: String]
        #expect(decoded == ["k\u{01}\"": all])
        #expect(try JSONValue(parsing: bytes) == .object(["k\u{01}\"": .string(all)]))
    }

    @Test func bridgedAndSubstringBackedStringsAreWritten() {
        let bridged = NSString(string: "bridged \"text\" ✓") as String
        #expect(text(.string(bridged)) == #""bridged \"text\" ✓""#)
        let sub = String("xx-middle-xx".dropFirst(3).dropLast(3))
        #expect(text(.string(sub)) == "\"middle\"")
    }

    @Test func prettyAndSortedLayout() {
        let value: JSONValue = ["b": [1, 2], "a": ["c": nil]]
        #expect(String(decoding: value.serialized(sortedKeys: true, pretty: true), as: UTF8.self)
                == "{\n  \"a\": {\n    \"c\": null\n  },\n  \"b\": [\n    1,\n    2\n  ]\n}")
    }

    @Test func largeListSerialisesAndParsesBack() throws {
        let items = (0..<2000).map { i -> JSONValue in
            ["metadata": ["name": .string("cm-\(i)"), "resourceVersion": .string(String(i))], "data": ["k": .string(String(repeating: "v", count: 64))], "n": .int(Int64(i))]
        }
        let list: JSONValue = ["kind": "ConfigMapList", "items": .array(items)]
        let bytes = list.serialized()
        #expect(try JSONValue(parsing: bytes) == list)
        #expect(bytes.count > 2000 * 100)
    }
}
