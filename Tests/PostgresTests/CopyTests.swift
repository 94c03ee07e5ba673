import Foundation
import Postgres
import Testing

@Suite("Postgres COPY streams", .serialized)
struct CopyTests {
    /// Creates `name` with `rows` rows of about 260 bytes each in COPY text form.
    private func makeTable(_ db: PostgresConnection, _ name: String, rows: Int) async throws {
        try await db.execute("CREATE TABLE \(name) (id int8 primary key, body text, note text)")
        try await db.execute("""
            INSERT INTO \(name) SELECT g, repeat(md5(g::text), 8), CASE WHEN g % 7 = 0 THEN NULL ELSE E'tab\\there ' || g END
            FROM generate_series(1, $1::int) g
            """, [rows])
    }

    private func drop(_ db: PostgresConnection, _ names: String...) async throws {
        for name in names { try await db.execute("DROP TABLE IF EXISTS \(name)") }
    }

    @Test("COPY out of one table and into another reproduces it exactly")
    func roundTrip() async throws {
        let db = try await connectTest()
        let source = uniqueName("copy_src"), target = uniqueName("copy_dst")
        try await makeTable(db, source, rows: 1000)
        try await db.execute("CREATE TABLE \(target) (LIKE \(source))")

        var collected = [UInt8]()
        let out = try await db.copyOut("COPY \(source) TO STDOUT", chunkSize: 4096)
        for try await chunk in out {
            #expect(chunk.count <= 4096 + 300)  // one row may straddle the limit
            collected += chunk
        }
        #expect(out.rowCount == 1000)
        #expect(collected.split(separator: UInt8(ascii: "\n")).count == 1000)

        // Feed it back in deliberately odd-sized pieces.
        let pieces = stride(from: 0, to: collected.count, by: 777).map { Array(collected[$0..<min($0 + 777, collected.count)]) }
        let copied = try await db.copyIn("COPY \(target) FROM STDIN", from: AsyncStream { c in
            pieces.forEach { c.yield($0) }
            c.finish()
        })
        #expect(copied == 1000)
        let diff = try await db.query("SELECT count(*) AS n FROM (SELECT * FROM \(source) EXCEPT SELECT * FROM \(target)) d")
        #expect(try diff.first?["n", as: Int.self] == 0)
        #expect(try await db.query("SELECT count(*) FROM \(target) WHERE note IS NULL").first?[0, as: Int.self] == 142)
        try await drop(db, source, target)
    }

    @Test("a 50 MB table streams from one connection into another with bounded memory")
    func largeStream() async throws {
        let a = try await connectTest(), b = try await connectTest()
        let source = uniqueName("copy_big"), target = uniqueName("copy_big_dst")
        try await makeTable(a, source, rows: 200_000)
        try await a.execute("CREATE TABLE \(target) (LIKE \(source))")
        let expectedBytes = try await a.query("SELECT sum(octet_length(body) + octet_length(coalesce(note, '')) + 12)::int8 FROM \(source)")
        #expect(try expectedBytes.first![0, as: Int64.self] > 50_000_000)

        let meter = MemoryMeter()
        let out = try await a.copyOut("COPY \(source) TO STDOUT")
        let copied = try await b.copyIn("COPY \(target) FROM STDIN", from: meter.measure(out))
        #expect(copied == 200_000)
        #expect(meter.bytes > 50_000_000)
        // Holding the data would take > 50 MB; streaming holds a few chunks at most.
        #expect(meter.peakGrowth < 16_000_000, "RSS grew by \(meter.peakGrowth) bytes for \(meter.bytes) streamed")
        let sums = try await a.query("SELECT (SELECT sum(id) FROM \(source)) = (SELECT sum(id) FROM \(target)) AS same")
        #expect(try sums.first?["same", as: Bool.self] == true)
        try await drop(a, source, target)
    }

    @Test("an abandoned COPY OUT stream is cancelled and the connection becomes usable again")
    func abandoned() async throws {
        let db = try await connectTest()
        do {
            let out = try await db.copyOut("COPY (SELECT g FROM generate_series(1, 5000000) g) TO STDOUT", chunkSize: 1024)
            var iterator = out.makeAsyncIterator()
            #expect(try await iterator.next()?.isEmpty == false)
            let blocked = await #expect(throws: PostgresError.self) { try await db.query("SELECT 1") }
            #expect(blocked?.kind == .misuse)
        }
        // The drop is handled on the connection's thread before this statement.
        #expect(try await db.query("SELECT 3 AS three").first?["three", as: Int.self] == 3)
    }

    @Test("a failing source aborts COPY IN: nothing is written and the error is rethrown")
    func failingSource() async throws {
        let db = try await connectTest()
        let table = uniqueName("copy_fail")
        try await db.execute("CREATE TABLE \(table) (id int)")
        struct SourceFailed: Error {}
        let source = AsyncThrowingStream<[UInt8], Error> { c in
            c.yield(Array("1\n2\n".utf8))
            c.finish(throwing: SourceFailed())
        }
        await #expect(throws: SourceFailed.self) { try await db.copyIn("COPY \(table) FROM STDIN", from: source, flushSize: 1) }
        #expect(try await db.query("SELECT count(*) FROM \(table)").first?[0, as: Int.self] == 0)
        try await drop(db, table)
    }

    @Test("bad COPY data reports the server error with SQLSTATE")
    func badData() async throws {
        let db = try await connectTest()
        let table = uniqueName("copy_bad")
        try await db.execute("CREATE TABLE \(table) (id int)")
        let source = AsyncStream<[UInt8]> { c in c.yield(Array("1\nnot-a-number\n".utf8)); c.finish() }
        let error = await #expect(throws: PostgresError.self) { try await db.copyIn("COPY \(table) FROM STDIN", from: source) }
        #expect(error?.sqlState == "22P02")
        #expect(try await db.query("SELECT count(*) FROM \(table)").first?[0, as: Int.self] == 0)
        try await drop(db, table)
    }

    @Test("COPY statements through query() and non-COPY statements through copyOut are refused cleanly")
    func misuse() async throws {
        let db = try await connectTest()
        let viaQuery = await #expect(throws: PostgresError.self) { try await db.query("COPY (SELECT 1) TO STDOUT") }
        #expect(viaQuery?.kind == .misuse)
        let notCopy = await #expect(throws: PostgresError.self) { try await db.copyOut("SELECT 1") }
        #expect(notCopy?.kind == .misuse)
        #expect(try await db.query("SELECT 4 AS four").first?["four", as: Int.self] == 4)
    }
}

/// Counts bytes passing through and samples RSS at every chunk.
final class MemoryMeter: @unchecked Sendable {
    private(set) var bytes = 0
    private(set) var peakGrowth = 0
    private let baseline = residentBytes()

    func measure(_ stream: PostgresCopyOutStream) -> Metered { Metered(base: stream, meter: self) }

    fileprivate func record(_ chunk: [UInt8]) {
        bytes += chunk.count
        peakGrowth = max(peakGrowth, residentBytes() - baseline)
    }

    struct Metered: AsyncSequence {
        let base: PostgresCopyOutStream
        let meter: MemoryMeter
        func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator(), meter: meter) }

        struct Iterator: AsyncIteratorProtocol {
            var base: PostgresCopyOutStream.Iterator
            let meter: MemoryMeter
            mutating func next() async throws -> [UInt8]? {
                guard let chunk = try await base.next() else { return nil }
                meter.record(chunk)
                return chunk
            }
        }
    }
}
