import Foundation
@testable import Postgres
import Testing

@Suite("Postgres error redaction")
struct RedactionTests {
    @Test("secrets and secret-shaped fragments are masked", arguments: [
        ("could not use canary-Pw-7f3a9c here", "could not use [REDACTED] here"),
        ("bad uri postgresql://bob:canary-Pw-7f3a9c@db:5432/x", "bad uri postgresql://bob:[REDACTED]@db:5432/x"),
        ("host=db password=hunter2 user=x", "host=db password=[REDACTED] user=x"),
        ("password='two words' dbname=x", "password=[REDACTED] dbname=x"),
        ("percent canary%2DPw", "percent canary%2DPw"),
        ("encoded p%40ss%3Aword!", "encoded [REDACTED]!"),
    ])
    func redaction(_ input: String, _ expected: String) {
        #expect(Redactor.redact(input, secrets: ["canary-Pw-7f3a9c", "p@ss:word"]) == expected)
    }

    @Test("connection failure text is classified", arguments: [
        ("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28P01: password authentication failed for user \"x\"\nLOCATION:  auth_failed, auth.c:326\n",
         PostgresError.Kind.authenticationFailed, "28P01"),
        ("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  3D000: database \"nope\" does not exist\n",
         .databaseDoesNotExist, "3D000"),
        ("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  53300: sorry, too many clients already\n",
         .connectionRejected, "53300"),
        ("connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?\n",
         .unreachable, nil),
        ("could not translate host name \"x.invalid\" to address: Name or service not known\n", .unreachable, nil),
        ("connection to server at \"127.0.0.1\", port 5432 failed: server does not support SSL, but SSL was required\n", .tls, nil),
    ] as [(String, PostgresError.Kind, String?)])
    func classification(_ text: String, _ kind: PostgresError.Kind, _ sqlState: String?) {
        let error = ConnectErrorParser.classify(text)
        #expect(error.kind == kind)
        #expect(error.sqlState == sqlState)
        #expect(!error.message.contains("LOCATION"))
    }

    @Test("timestamps format and parse exactly", arguments: [
        (0.0, "1970-01-01 00:00:00+00"),
        (1_709_251_199.5, "2024-02-29 23:59:59.500000+00"),
        (-14_182_940.000001, "1969-07-20 20:17:39.999999+00"),
        (253_402_300_799.0, "9999-12-31 23:59:59+00"),
    ])
    func timestamps(_ seconds: Double, _ text: String) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(PostgresTimestamp.format(date) == text)
        #expect(PostgresTimestamp.parse(text) == date)
    }
}
