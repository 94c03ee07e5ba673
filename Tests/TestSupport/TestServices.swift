import Foundation

/// The real servers `hack/test-services.sh` started for this test run, read from `BACKSTOP_TEST_*`.
public enum TestServices {
    public struct Postgres: Sendable {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String
        public var bindir: String
    }

    public struct Redis: Sendable {
        public var host = "127.0.0.1"
        public var port: Int
        public var password: String
        public var dir: String
    }

    public struct ClickHouse: Sendable {
        public var url: String
        public var dataDir: String?
    }

    public struct S3: Sendable {
        public var endpoint: String
        public var accessKey: String
        public var secretKey: String
        public var region: String
    }

    public struct NotStarted: Error, CustomStringConvertible {
        public var variable: String
        public var description: String {
            "\(variable) is not set: run the tests through hack/test.sh (or `hack/test-services.sh run -- swift test`)"
        }
    }

    static func value(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw NotStarted(variable: name) }
        return value
    }

    static func port(_ name: String) throws -> Int {
        guard let port = Int(try value(name)) else { throw NotStarted(variable: name) }
        return port
    }

    public static func postgres() throws -> Postgres {
        Postgres(host: try value("BACKSTOP_TEST_PG_HOST"), port: try port("BACKSTOP_TEST_PG_PORT"),
                 user: try value("BACKSTOP_TEST_PG_USER"), password: try value("BACKSTOP_TEST_PG_PASSWORD"),
                 bindir: try value("BACKSTOP_TEST_PG_BINDIR"))
    }

    public static func redis() throws -> Redis {
        Redis(port: try port("BACKSTOP_TEST_REDIS_PORT"), password: try value("BACKSTOP_TEST_REDIS_PASSWORD"),
              dir: try value("BACKSTOP_TEST_REDIS_DIR"))
    }

    public static func clickhouse() throws -> ClickHouse {
        ClickHouse(url: try value("BACKSTOP_TEST_CLICKHOUSE_URL"),
                   dataDir: ProcessInfo.processInfo.environment["BACKSTOP_TEST_CLICKHOUSE_DATA"])
    }

    public static func s3() throws -> S3 {
        S3(endpoint: try value("BACKSTOP_TEST_S3_ENDPOINT"), accessKey: try value("BACKSTOP_TEST_S3_ACCESS_KEY"),
           secretKey: try value("BACKSTOP_TEST_S3_SECRET_KEY"), region: try value("BACKSTOP_TEST_S3_REGION"))
    }

    /// The venv python with moto, kubernetes and kubernetes-validate; falls back to the repo's `.venv`.
    public static var python: String {
        if let configured = ProcessInfo.processInfo.environment["BACKSTOP_TEST_PYTHON"] { return configured }
        return repositoryRoot.appendingPathComponent(".venv/bin/python").path
    }

    /// The checkout's root, found from this source file's location.
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    /// A fresh directory for one test; the caller removes it.
    public static func temporaryDirectory(_ label: String = "test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("backstop-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
