import Foundation
import Testing
@testable import DynamicJSON

/// `JSONValue.encode` and `JSONValue.decode` work without Foundation's coders: they must give
/// what Foundation's `JSONEncoder` text would parse to, and read back what it reads.
@Suite struct CodingTests {
    enum Color: String, Codable, Equatable { case red, green }
    struct Inner: Codable, Equatable {
        var name: String
        var tags: [String]?
        var weights: [String: Double]
    }
    struct Sample: Codable, Equatable {
        var int: Int = -3
        var int64: Int64 = Int64.max
        var uint8: UInt8 = 200
        var whole: Double = 2
        var fraction: Double = 0.25
        var flag: Bool = true
        var text: String = "é \"quoted\" / slash"
        var optional: String? = nil
        var color: Color = .green
        var data: Data = Data([0, 1, 2, 250])
        var url: URL = URL(string: "https://example.com/a?b=c")!
        var date: Date = Date(timeIntervalSinceReferenceDate: 12.5)
        var inner: Inner = Inner(name: "n", tags: ["a", "b"], weights: ["x": 1.5, "y": 3])
        var list: [Inner] = [Inner(name: "m", tags: nil, weights: [:])]
        var nested: [[Int]] = [[1, 2], []]
        var any: JSONValue = ["k": [1, "two", nil]]
    }

    @Test func encodingMatchesFoundationsText() throws {
        let sample = Sample()
        let viaFoundation = try JSONValue(parsing: JSONEncoder().encode(sample))
        #expect(try JSONValue.encode(sample) == viaFoundation)
    }

    @Test func decodingReadsWhatFoundationWrites() throws {
        let sample = Sample()
        let value = try JSONValue(parsing: JSONEncoder().encode(sample))
        #expect(try value.decode(Sample.self) == sample)
        #expect(try JSONValue.encode(sample).decode(Sample.self) == sample)
    }

    /// Hand-written Codable that uses nested containers and super encoders.
    struct Manual: Codable, Equatable {
        var a: Int
        var b: [String]
        enum Keys: String, CodingKey { case outer, list, base }
        enum Inner: String, CodingKey { case a }
        init(a: Int, b: [String]) { self.a = a; self.b = b }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            a = try c.nestedContainer(keyedBy: Inner.self, forKey: .outer).decode(Int.self, forKey: .a)
            var list = try c.nestedUnkeyedContainer(forKey: .list)
            var b: [String] = []
            while !list.isAtEnd { b.append(try list.decode(String.self)) }
            self.b = b
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            var list = c.nestedUnkeyedContainer(forKey: .list)
            var outer = c.nestedContainer(keyedBy: Inner.self, forKey: .outer)
            // Filled after the containers were handed out: they are references.
            try outer.encode(a, forKey: .a)
            for s in b { try list.encode(s) }
            var nestedInList = list.nestedContainer(keyedBy: Inner.self)
            try nestedInList.encode(a + 1, forKey: .a)
            try "base".encode(to: c.superEncoder(forKey: .base))
        }
    }

    @Test func nestedContainersFilledLaterAreKept() throws {
        let manual = Manual(a: 7, b: ["x", "y"])
        let encoded = try JSONValue.encode(manual)
        #expect(encoded == (try JSONValue(parsing: JSONEncoder().encode(manual))))
        #expect(encoded["outer"]?["a"] == 7)
        #expect(encoded["list"] == ["x", "y", ["a": 8]])
        #expect(encoded["base"] == "base")
    }

    @Test func nonFiniteNumbersAreRejected() {
        #expect(throws: EncodingError.self) { try JSONValue.encode(["x": Double.nan]) }
        #expect(throws: EncodingError.self) { try JSONValue.encode([Double.infinity]) }
    }

    @Test func decodingErrorsNameThePath() throws {
        let value: JSONValue = ["name": "n", "tags": ["a", 3], "weights": [:]]
        do {
            _ = try value.decode(Inner.self)
            Issue.record("decoded a number as a String")
        } catch DecodingError.typeMismatch(_, let context) {
            #expect(context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue } == ["tags", "1"])
        }
        do {
            _ = try JSONValue.object(["tags": []]).decode(Inner.self)
            Issue.record("decoded without the required name")
        } catch DecodingError.keyNotFound(let key, _) {
            #expect(key.stringValue == "name")
        }
        do {
            _ = try JSONValue.object(["name": nil, "weights": [:]]).decode(Inner.self)
            Issue.record("decoded null as a String")
        } catch DecodingError.valueNotFound(_, let context) {
            #expect(context.codingPath.map(\.stringValue) == ["name"])
        }
        #expect(throws: DecodingError.self) { try JSONValue.string("not base64!").decode(Data.self) }
        #expect(throws: DecodingError.self) { try JSONValue.int(300).decode(UInt8.self) }
        #expect(throws: DecodingError.self) { try JSONValue.string("blue").decode(Color.self) }
    }

    @Test func optionalsAreNilWhenMissingOrNull() throws {
        #expect(try JSONValue.object(["name": "n", "tags": nil, "weights": [:]]).decode(Inner.self).tags == nil)
        #expect(try JSONValue.object(["name": "n", "weights": [:]]).decode(Inner.self).tags == nil)
        #expect(try JSONValue.double(3).decode(Int.self) == 3)
        #expect(throws: DecodingError.self) { try JSONValue.double(3.5).decode(Int.self) }
    }
}
