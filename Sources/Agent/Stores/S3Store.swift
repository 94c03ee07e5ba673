import AgentContract
import BackstopCore
import Foundation
import HTTP

/// An S3 bucket (MinIO, AWS, moto) through the HTTP module's `S3Client`. Artifacts go up as
/// multipart uploads (see `S3Upload`); small objects (manifests) with one PUT.
public struct S3Store: ArtifactStore {
    public private(set) var bucket: String
    let client: S3Client
    let endpoint: String

    public init(spec: S3StoreSpec) throws {
        let connection = spec.connection
        guard let accessFile = connection.accessKeyIdFile, let secretFile = connection.secretAccessKeyFile else {
            throw AgentError(.specInvalid, "s3: accessKeyIdFile and secretAccessKeyFile are required")
        }
        let access = try SecretValue.read(file: accessFile, purpose: "S3 access key id")
        let secret = try SecretValue.read(file: secretFile, purpose: "S3 secret access key")
        var configuration = HTTPClientConfiguration()
        configuration.idleTimeout = .seconds(connection.timeoutSeconds ?? 60)
        configuration.connectTimeout = .seconds(min(10, connection.timeoutSeconds ?? 10))
        client = S3Client(endpoint: connection.endpoint, region: connection.region ?? "us-east-1",
                          credentials: AWSCredentials(accessKeyID: access.value, secretAccessKey: secret.value),
                          httpClient: HTTPClient(configuration: configuration))
        bucket = spec.bucket
        endpoint = connection.endpoint
    }

    public var location: String { "s3://\(bucket) at \(endpoint)" }

    /// Another bucket of the same endpoint, sharing credentials and connections.
    func with(bucket: String) -> S3Store {
        var copy = self
        copy.bucket = bucket
        return copy
    }

    public func localPath(key: String) -> String? { nil }

    public func beginUpload(key: String, contentType: String) async throws -> any ArtifactUpload {
        try StoreKey.validate(key)
        let id = try await mapErrors("start upload of \(key)") {
            try await client.createMultipartUpload(bucket: bucket, key: key, contentType: contentType)
        }
        return S3Upload(client: client, bucket: bucket, key: key, uploadID: id)
    }

    public func put(key: String, bytes: [UInt8], contentType: String) async throws {
        try StoreKey.validate(key)
        try await mapErrors("put \(key)") {
            _ = try await client.putObject(bucket: bucket, key: key, body: .bytes(bytes), contentType: contentType)
        }
    }

    public func list(prefix: String) async throws -> [StoredObject] {
        try await mapErrors("list \(prefix)") {
            try await client.listAllObjects(bucket: bucket, prefix: prefix).map {
                StoredObject(key: $0.key, size: $0.size,
                             lastModified: UTCTimestamp.parseRFC3339($0.lastModified) ?? Date(timeIntervalSince1970: 0))
            }.sorted { $0.key < $1.key }
        }
    }

    public func read(key: String) async throws -> [UInt8] {
        try await mapErrors("get \(key)") {
            let object = try await client.getObject(bucket: bucket, key: key)
            return try await object.body.collect(upTo: 64 << 20)
        }
    }

    public func open(key: String) async throws -> any ByteStream {
        let object = try await mapErrors("get \(key)") { try await client.getObject(bucket: bucket, key: key) }
        return S3DownloadStream(body: object.body, label: key)
    }

    public func removeStale(prefix: String, before: Date, dryRun: Bool) async throws -> [String] {
        let uploads = try await mapErrors("list uploads \(prefix)") { try await client.listMultipartUploads(bucket: bucket, prefix: prefix) }
        var removed: [String] = []
        for upload in uploads {
            // An artifact's key carries its start time; some servers (moto) report a fixed `Initiated`.
            let name = upload.key.split(separator: "/").last.map(String.init) ?? ""
            let started = (try? ArtifactID(parsing: name.prefix { $0 != "." }))?.time
                ?? upload.initiated.flatMap { UTCTimestamp.parseRFC3339($0) }
            guard let started, started < before else { continue }
            if !dryRun {
                try await mapErrors("abort upload of \(upload.key)") {
                    try await client.abortMultipartUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID)
                }
            }
            removed.append(upload.key)
        }
        return removed
    }

    public func delete(key: String) async throws {
        try await mapErrors("delete \(key)") { try await client.deleteObject(bucket: bucket, key: key) }
    }

    func mapErrors<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch { throw Self.agentError(error, what: "s3://\(bucket): \(what)") }
    }

    static func agentError(_ error: any Error, what: String) -> AgentError {
        if let agent = error as? AgentError { return agent }
        if let s3 = error as? S3Error {
            switch s3.code {
            case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidClientTokenId":
                return AgentError(.storeAccessDenied, "\(what): credentials rejected (\(s3.code)): \(s3.message)")
            case "NoSuchKey": return AgentError(.artifactNotFound, "\(what): no such object")
            case "NoSuchBucket": return AgentError(.storeUnreachable, "\(what): bucket does not exist")
            default:
                if s3.status == 404 { return AgentError(.artifactNotFound, "\(what): not found") }
                return AgentError(.storeFailed, "\(what): \(s3)")
            }
        }
        if let http = error as? HTTPError {
            switch http.kind {
            case .connectFailed, .timedOut, .tls, .connectionClosed:
                return AgentError(.storeUnreachable, "\(what): \(http.message)")
            case .status where http.status == 404: return AgentError(.artifactNotFound, "\(what): not found")
            default: return AgentError(.storeFailed, "\(what): \(http.message)")
            }
        }
        return AgentError(.storeFailed, "\(what): \(error)")
    }
}

/// A streamed download as a `ByteStream`.
final class S3DownloadStream: ByteStream, @unchecked Sendable {
    // One consumer calls next() sequentially (the ByteStream contract), so the iterator is
    // never used concurrently; @unchecked because AsyncIterator itself is not Sendable.
    private var iterator: HTTPBody.AsyncIterator?
    private let label: String

    init(body: HTTPBody, label: String) {
        iterator = body.makeAsyncIterator()
        self.label = label
    }

    func next() async throws -> ByteChunk? {
        guard var it = iterator else { return nil }
        do {
            let chunk = try await it.next()
            iterator = chunk == nil ? nil : it
            return chunk
        } catch {
            iterator = nil
            throw S3Store.agentError(error, what: "download \(label)")
        }
    }

    func cancel() async { iterator = nil }
}
