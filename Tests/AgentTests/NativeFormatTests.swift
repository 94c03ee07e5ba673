@testable import Agent
import Foundation
import HTTP
import Testing
import TestSupport

@Suite("ClickHouse Native decoder: chunking, truncation, appended errors, unknown types")
struct NativeFormatTests {
    func native(_ ch: ClickHouseFixture, _ sql: String, blockSize: Int) async throws -> [UInt8] {
        let url = ch.url + "/?max_block_size=\(blockSize)"
        let response = try await ch.http.execute(HTTPRequest(method: .post, url: url, body: .string(sql + " FORMAT Native")))
        return try await response.body.collect(upTo: 64 << 20)
    }

    func count(_ bytes: [UInt8], chunk: Int) throws -> NativeBlockCounter {
        var counter = NativeBlockCounter()
        var offset = 0
        while offset < bytes.count {
            try counter.feed(Array(bytes[offset..<min(bytes.count, offset + chunk)]))
            offset += chunk
        }
        try counter.finish()
        return counter
    }

    @Test("the same rows and blocks whatever the chunk size", arguments: [1, 7, 4096, 1 << 24])
    func chunking(chunk: Int) async throws {
        let ch = try ClickHouseFixture()
        let bytes = try await native(ch, """
            SELECT number AS n, toString(number) AS s, [number, 1] AS a, if(number % 2 = 1, NULL, toInt8(1)) AS x,
              toFixedString('ab', 2) AS f, (number, 'x') AS t, toDecimal32(1, 2) AS d FROM system.numbers LIMIT 2000
            """, blockSize: 333)
        let counter = try count(bytes, chunk: chunk)
        #expect(counter.rows == 2000 && counter.blocks == 7 && counter.unsupported == nil)
        #expect(counter.columns?.map(\.name) == ["n", "s", "a", "x", "f", "t", "d"])
    }

    @Test("a cut-off stream and a server error after the data are refused; unknown types stop counting")
    func malformed() async throws {
        let ch = try ClickHouseFixture()
        let bytes = try await native(ch, "SELECT number, toString(number) FROM system.numbers LIMIT 1000", blockSize: 100)
        #expect(throws: NativeFormatError.self) { try count(Array(bytes.dropLast(3)), chunk: 512) }
        #expect(throws: NativeFormatError.self) {
            try count(bytes + Array("Code: 395, e.displayText() = DB::Exception: boom".utf8), chunk: 512)
        }
        let aggregate = try await native(ch, "SELECT uniqState(number) FROM (SELECT number FROM system.numbers LIMIT 10)", blockSize: 100)
        let counter = try count(aggregate, chunk: 64)
        #expect(counter.unsupported?.hasPrefix("AggregateFunction") == true)
    }
}
