/// A small S3 client (path-style URLs, for MinIO, moto and AWS) on `HTTPClient`, signed with
/// SigV4 by libcurl. Payloads are sent as UNSIGNED-PAYLOAD; queries are built sorted, as
/// libcurl's signer uses them verbatim. Bodies stream both ways.
public struct S3Client: Sendable {
    public let endpoint: String
    public let region: String
    let credentials: AWSCredentials
    let http: HTTPClient

    /// `endpoint` like "http://127.0.0.1:9000" (no trailing path).
    public init(endpoint: String, region: String, credentials: AWSCredentials, httpClient: HTTPClient = HTTPClient()) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.region = region
        self.credentials = credentials
        self.http = httpClient
    }

    // MARK: buckets

    /// The names of every bucket the credentials can list (GET / → ListAllMyBucketsResult),
    /// following continuation tokens where the server paginates.
    public func listBuckets() async throws -> [String] {
        var names: [String] = []
        var token: String?
        repeat {
            let xml = try await xmlResult(.get, bucket: "", query: token.map { ["continuation-token": $0] } ?? [:])
            guard xml.name == "ListAllMyBucketsResult" else {
                throw S3Error(status: 200, code: "MalformedResponse", message: "expected ListAllMyBucketsResult, got \(xml.name)",
                              operation: "GET /")
            }
            names += (xml.child("Buckets")?.children("Bucket") ?? []).compactMap { $0["Name"] }
            token = xml["ContinuationToken"].flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return names
    }

    public func createBucket(_ bucket: String) async throws {
        _ = try await send(.put, bucket: bucket)
    }

    public func deleteBucket(_ bucket: String) async throws {
        _ = try await send(.delete, bucket: bucket)
    }

    // MARK: objects

    /// Uploads `body`, whose length must be known (S3 does not take chunked uploads). Returns the ETag.
    @discardableResult
    public func putObject(bucket: String, key: String, body: HTTPRequestBody, contentType: String? = nil,
                          metadata: [String: String] = [:]) async throws -> String {
        var headers = HTTPHeaders()
        if let contentType { headers.add("Content-Type", contentType) }
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) { headers.add("x-amz-meta-\(name)", value) }
        let head = try await send(.put, bucket: bucket, key: key, headers: headers, body: body)
        return head.headers["etag"] ?? ""
    }

    /// Starts a download; read `body` to stream it.
    public func getObject(bucket: String, key: String) async throws -> S3Object {
        let response = try await execute(.get, bucket: bucket, key: key)
        return S3Object(info: Self.info(response.head), body: response.body)
    }

    /// nil when the object does not exist.
    public func headObject(bucket: String, key: String) async throws -> S3ObjectInfo? {
        let response = try await http.execute(request(.head, bucket: bucket, key: key))
        if response.status == 404 { return nil }
        guard response.head.isSuccess else { throw try await error(response, "HEAD \(bucket)/\(key)") }
        return Self.info(response.head)
    }

    public func deleteObject(bucket: String, key: String) async throws {
        _ = try await send(.delete, bucket: bucket, key: key)
    }

    /// One page of ListObjectsV2.
    public func listObjectsV2(bucket: String, prefix: String = "", delimiter: String? = nil,
                              continuationToken: String? = nil, maxKeys: Int? = nil) async throws -> S3ListPage {
        var query = ["list-type": "2"]
        if !prefix.isEmpty { query["prefix"] = prefix }
        if let delimiter { query["delimiter"] = delimiter }
        if let continuationToken { query["continuation-token"] = continuationToken }
        if let maxKeys { query["max-keys"] = String(maxKeys) }
        let xml = try await xmlResult(.get, bucket: bucket, query: query)
        let objects = xml.children("Contents").map {
            S3ObjectSummary(key: $0["Key"] ?? "", size: Int64($0["Size"] ?? "") ?? 0, etag: $0["ETag"] ?? "",
                            lastModified: $0["LastModified"] ?? "")
        }
        let prefixes = xml.children("CommonPrefixes").compactMap { $0["Prefix"] }
        let truncated = xml["IsTruncated"] == "true"
        return S3ListPage(objects: objects, commonPrefixes: prefixes,
                          nextContinuationToken: truncated ? xml["NextContinuationToken"] : nil)
    }

    /// Every object under `prefix`, following continuation tokens.
    public func listAllObjects(bucket: String, prefix: String = "", pageSize: Int? = nil) async throws -> [S3ObjectSummary] {
        var all: [S3ObjectSummary] = []
        var token: String?
        repeat {
            let page = try await listObjectsV2(bucket: bucket, prefix: prefix, continuationToken: token, maxKeys: pageSize)
            all += page.objects
            token = page.nextContinuationToken
        } while token != nil
        return all
    }

    // MARK: multipart

    /// Returns the upload id.
    public func createMultipartUpload(bucket: String, key: String, contentType: String? = nil) async throws -> String {
        // Always named: libcurl would otherwise send (and sign) a form content type.
        let headers: HTTPHeaders = ["Content-Type": contentType ?? "application/octet-stream"]
        let xml = try await xmlResult(.post, bucket: bucket, key: key, query: ["uploads": ""], headers: headers)
        guard let id = xml["UploadId"], !id.isEmpty else {
            throw S3Error(status: 200, code: "MalformedResponse", message: "no UploadId", operation: "POST \(bucket)/\(key)?uploads")
        }
        return id
    }

    /// Uploads part `partNumber` (1…10000; every part but the last must be at least 5 MiB).
    /// `body` must have a known length. Returns the part's ETag for `completeMultipartUpload`.
    public func uploadPart(bucket: String, key: String, uploadID: String, partNumber: Int,
                           body: HTTPRequestBody) async throws -> String {
        let head = try await send(.put, bucket: bucket, key: key,
                                  query: ["partNumber": String(partNumber), "uploadId": uploadID], body: body)
        return head.headers["etag"] ?? ""
    }

    /// Returns the final object's ETag.
    @discardableResult
    public func completeMultipartUpload(bucket: String, key: String, uploadID: String,
                                        parts: [S3CompletedPart]) async throws -> String {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts.sorted(by: { $0.partNumber < $1.partNumber }) {
            xml += "<Part><PartNumber>\(part.partNumber)</PartNumber><ETag>\(xmlEscape(part.etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        // S3 can answer 200 and still report an error in the body.
        let result = try await xmlResult(.post, bucket: bucket, key: key, query: ["uploadId": uploadID],
                                         headers: ["Content-Type": "application/xml"], body: .string(xml))
        if result.name == "Error" {
            throw S3Error(status: 200, code: result["Code"] ?? "", message: result["Message"] ?? "",
                          operation: "POST \(bucket)/\(key)?uploadId", requestID: result["RequestId"])
        }
        return result["ETag"] ?? ""
    }

    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws {
        _ = try await send(.delete, bucket: bucket, key: key, query: ["uploadId": uploadID])
    }

    /// In-progress multipart uploads under `prefix` (first 1000).
    public func listMultipartUploads(bucket: String, prefix: String = "") async throws -> [S3MultipartUpload] {
        var query = ["uploads": ""]
        if !prefix.isEmpty { query["prefix"] = prefix }
        let xml = try await xmlResult(.get, bucket: bucket, query: query)
        return xml.children("Upload").map {
            S3MultipartUpload(key: $0["Key"] ?? "", uploadID: $0["UploadId"] ?? "", initiated: $0["Initiated"])
        }
    }

    // MARK: plumbing

    func request(_ method: HTTPMethod, bucket: String, key: String? = nil, query: [String: String] = [:],
                 headers: HTTPHeaders = [:], body: HTTPRequestBody = .empty) -> HTTPRequest {
        var url = "\(endpoint)/\(s3Encode(bucket))"
        if let key { url += "/" + s3Encode(key, keepSlash: true) }
        if !query.isEmpty {
            // Sorted and with "k=" for empty values: libcurl signs the query string as written.
            url += "?" + query.map { (s3Encode($0.key), s3Encode($0.value)) }.sorted { $0.0 < $1.0 }
                .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        }
        var headers = headers
        headers.set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        return HTTPRequest(method: method, url: url, headers: headers, body: body,
                           authorization: .awsSigV4(credentials, region: region, service: "s3"))
    }

    func operation(_ method: HTTPMethod, _ bucket: String, _ key: String?) -> String {
        bucket.isEmpty ? "\(method) /" : "\(method) \(bucket)\(key.map { "/\($0)" } ?? "")"
    }

    /// Sends a request and returns the successful response unread.
    func execute(_ method: HTTPMethod, bucket: String, key: String? = nil, query: [String: String] = [:],
                 headers: HTTPHeaders = [:], body: HTTPRequestBody = .empty) async throws -> HTTPResponse {
        if method == .put, body.length == nil {
            throw S3Error(status: 0, code: "MissingContentLength", message: "S3 uploads need a body of known length",
                          operation: operation(method, bucket, key))
        }
        let response = try await http.execute(request(method, bucket: bucket, key: key, query: query, headers: headers, body: body))
        guard response.head.isSuccess else { throw try await error(response, operation(method, bucket, key)) }
        return response
    }

    /// Sends a request, drains the (small) body, returns the head.
    func send(_ method: HTTPMethod, bucket: String, key: String? = nil, query: [String: String] = [:],
              headers: HTTPHeaders = [:], body: HTTPRequestBody = .empty) async throws -> HTTPResponseHead {
        let response = try await execute(method, bucket: bucket, key: key, query: query, headers: headers, body: body)
        _ = try await response.body.collect(upTo: 1 << 20)
        return response.head
    }

    func xmlResult(_ method: HTTPMethod, bucket: String, key: String? = nil, query: [String: String] = [:],
                   headers: HTTPHeaders = [:], body: HTTPRequestBody = .empty) async throws -> XMLNode {
        let response = try await execute(method, bucket: bucket, key: key, query: query, headers: headers, body: body)
        let bytes = try await response.body.collect(upTo: 16 << 20)
        do { return try XMLNode.parse(bytes) } catch {
            throw S3Error(status: response.status, code: "MalformedResponse", message: error.description,
                          operation: operation(method, bucket, key))
        }
    }

    func error(_ response: HTTPResponse, _ operation: String) async throws -> S3Error {
        let bytes = try await response.body.collect(upTo: 64 << 10, truncating: true)
        let xml = try? XMLNode.parse(bytes)
        return S3Error(status: response.status, code: xml?["Code"] ?? "HTTP\(response.status)",
                       message: xml?["Message"] ?? "", operation: operation, requestID: xml?["RequestId"])
    }

    static func info(_ head: HTTPResponseHead) -> S3ObjectInfo {
        var metadata: [String: String] = [:]
        for field in head.headers where field.name.lowercased().hasPrefix("x-amz-meta-") {
            metadata[String(field.name.lowercased().dropFirst("x-amz-meta-".count))] = field.value
        }
        return S3ObjectInfo(size: head.contentLength ?? 0, etag: head.headers["etag"],
                            lastModified: head.headers["last-modified"], contentType: head.headers["content-type"],
                            metadata: metadata)
    }
}
