/// Values and errors of `S3Client`.

/// An error answer from the S3 server, decoded from its XML body. Never contains credentials.
public struct S3Error: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    /// S3's error code, e.g. "NoSuchKey", "SignatureDoesNotMatch", "InvalidAccessKeyId".
    public var code: String
    public var message: String
    /// "PUT bucket/key".
    public var operation: String
    public var requestID: String?

    public var description: String {
        "S3 \(operation) failed: \(status) \(code)\(message.isEmpty ? "" : ": \(message)")"
    }
}

public struct S3ObjectSummary: Sendable, Hashable {
    public var key: String
    public var size: Int64
    public var etag: String
    /// ISO 8601 as sent by the server.
    public var lastModified: String
}

public struct S3ObjectInfo: Sendable, Hashable {
    public var size: Int64
    public var etag: String?
    public var lastModified: String?
    public var contentType: String?
    /// `x-amz-meta-*` headers, names without the prefix, lowercased.
    public var metadata: [String: String]
}

public struct S3ListPage: Sendable, Hashable {
    public var objects: [S3ObjectSummary]
    /// With a delimiter: the "directories" at this level.
    public var commonPrefixes: [String]
    /// Pass to the next `listObjectsV2` call; nil on the last page.
    public var nextContinuationToken: String?
}

public struct S3CompletedPart: Sendable, Hashable {
    public var partNumber: Int
    public var etag: String
    public init(partNumber: Int, etag: String) {
        self.partNumber = partNumber
        self.etag = etag
    }
}

public struct S3MultipartUpload: Sendable, Hashable {
    public var key: String
    public var uploadID: String
    public var initiated: String?
}

/// An object being downloaded: its head and a streamed body (drop it to abort).
public struct S3Object: Sendable {
    public var info: S3ObjectInfo
    public var body: HTTPBody
}

/// Percent-encoding as SigV4 canonicalises it: everything but A–Z a–z 0–9 - _ . ~ (and `/` in
/// object keys) is %XX-encoded, so libcurl signs exactly the path and query we send.
func s3Encode(_ text: String, keepSlash: Bool = false) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        case UInt8(ascii: "/") where keepSlash:
            out += "/"
        default:
            let hex = Array("0123456789ABCDEF".unicodeScalars)
            out += "%"
            out.unicodeScalars.append(hex[Int(byte >> 4)])
            out.unicodeScalars.append(hex[Int(byte & 15)])
        }
    }
    return out
}
