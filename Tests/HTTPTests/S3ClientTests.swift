import Foundation
import HTTP
import Testing
import TestSupport

@Suite("S3 client against moto's S3 server with signature checking")
struct S3ClientTests {
    let service: TestServices.S3
    let s3: S3Client
    let bucket = "http-tests-\(UUID().uuidString.prefix(8).lowercased())"

    init() throws {
        service = try TestServices.s3()
        s3 = S3Client(endpoint: service.endpoint, region: service.region,
                      credentials: AWSCredentials(accessKeyID: service.accessKey, secretAccessKey: service.secretKey))
    }

    func download(_ key: String) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in try await s3.getObject(bucket: bucket, key: key).body { bytes += chunk }
        return bytes
    }

    @Test func putGetHeadListDelete() async throws {
        try await s3.createBucket(bucket)
        let key = "dir one/a+b=c&d ü.txt"
        let payload = patternBytes(from: 0, count: 300_000)
        let etag = try await s3.putObject(bucket: bucket, key: key, body: .bytes(payload), contentType: "text/plain",
                                          metadata: ["origin": "test"])
        #expect(!etag.isEmpty)
        #expect(try await download(key) == payload)

        let info = try #require(try await s3.headObject(bucket: bucket, key: key))
        #expect(info.size == Int64(payload.count))
        #expect(info.metadata["origin"] == "test")
        #expect(info.contentType == "text/plain")

        for i in 0..<5 {
            try await s3.putObject(bucket: bucket, key: "paged/\(i)", body: .stream(PatternChunks(total: 1000 + i), length: Int64(1000 + i)))
        }
        let firstPage = try await s3.listObjectsV2(bucket: bucket, prefix: "paged/", maxKeys: 2)
        #expect(firstPage.objects.map(\.key) == ["paged/0", "paged/1"])
        #expect(firstPage.nextContinuationToken != nil)
        let all = try await s3.listAllObjects(bucket: bucket, prefix: "paged/", pageSize: 2)
        #expect(all.map(\.key) == (0..<5).map { "paged/\($0)" })
        #expect(all.map(\.size) == (0..<5).map { Int64(1000 + $0) })
        let top = try await s3.listObjectsV2(bucket: bucket, delimiter: "/")
        #expect(Set(top.commonPrefixes) == ["dir one/", "paged/"])

        try await s3.deleteObject(bucket: bucket, key: key)
        #expect(try await s3.headObject(bucket: bucket, key: key) == nil)
        do {
            _ = try await s3.getObject(bucket: bucket, key: key)
            Issue.record("GET of a deleted object succeeded")
        } catch let error as S3Error {
            #expect(error.status == 404)
            #expect(error.code == "NoSuchKey")
        }
    }

    @Test func listBucketsNamesCreatedAndNotDeletedBuckets() async throws {
        let other = bucket + "-b"
        try await s3.createBucket(bucket)
        try await s3.createBucket(other)
        let names = try await s3.listBuckets()
        #expect(names.contains(bucket) && names.contains(other), "\(names)")
        try await s3.deleteBucket(other)
        let after = try await s3.listBuckets()
        #expect(after.contains(bucket) && !after.contains(other), "\(after)")
        let wrong = S3Client(endpoint: service.endpoint, region: service.region,
                             credentials: AWSCredentials(accessKeyID: service.accessKey, secretAccessKey: "not-the-secret"))
        await #expect(throws: S3Error.self) { _ = try await wrong.listBuckets() }
    }

    @Test func multipartUploadFromStreams() async throws {
        try await s3.createBucket(bucket)
        let key = "big/object.bin"
        let sizes = [5 << 20, 5 << 20 + 7, 1 << 20]
        let id = try await s3.createMultipartUpload(bucket: bucket, key: key)
        var parts: [S3CompletedPart] = []
        var offset = 0
        for (index, size) in sizes.enumerated() {
            let body = HTTPRequestBody.stream(PatternChunks(total: size, start: offset), length: Int64(size))
            let etag = try await s3.uploadPart(bucket: bucket, key: key, uploadID: id, partNumber: index + 1, body: body)
            parts.append(S3CompletedPart(partNumber: index + 1, etag: etag))
            offset += size
        }
        #expect(try await s3.listMultipartUploads(bucket: bucket, prefix: "big/").map(\.uploadID) == [id])
        try await s3.completeMultipartUpload(bucket: bucket, key: key, uploadID: id, parts: parts)
        #expect(try await s3.listMultipartUploads(bucket: bucket, prefix: "big/").isEmpty)

        let bytes = try await download(key)
        #expect(bytes.count == sizes.reduce(0, +))
        #expect(bytes == patternBytes(from: 0, count: sizes.reduce(0, +)))
    }

    @Test func multipartAbort() async throws {
        try await s3.createBucket(bucket)
        let id = try await s3.createMultipartUpload(bucket: bucket, key: "aborted.bin")
        _ = try await s3.uploadPart(bucket: bucket, key: "aborted.bin", uploadID: id, partNumber: 1,
                                    body: .stream(PatternChunks(total: 5 << 20), length: 5 << 20))
        #expect(try await s3.listMultipartUploads(bucket: bucket).map(\.key) == ["aborted.bin"])
        try await s3.abortMultipartUpload(bucket: bucket, key: "aborted.bin", uploadID: id)
        #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)
        #expect(try await s3.headObject(bucket: bucket, key: "aborted.bin") == nil)
    }

    @Test func tooSmallPartsAreATypedError() async throws {
        try await s3.createBucket(bucket)
        let id = try await s3.createMultipartUpload(bucket: bucket, key: "small.bin")
        var parts: [S3CompletedPart] = []
        for n in 1...2 {
            let etag = try await s3.uploadPart(bucket: bucket, key: "small.bin", uploadID: id, partNumber: n, body: .bytes([1, 2, 3]))
            parts.append(S3CompletedPart(partNumber: n, etag: etag))
        }
        await #expect(throws: S3Error.self) {
            try await s3.completeMultipartUpload(bucket: bucket, key: "small.bin", uploadID: id, parts: parts)
        }
        try await s3.abortMultipartUpload(bucket: bucket, key: "small.bin", uploadID: id)
    }

    @Test func wrongSecretIsRejectedWithoutLeakingIt() async throws {
        try await s3.createBucket(bucket)
        let wrongSecret = "wrong-\(UUID().uuidString)"
        let bad = S3Client(endpoint: service.endpoint, region: service.region,
                           credentials: AWSCredentials(accessKeyID: service.accessKey, secretAccessKey: wrongSecret))
        do {
            _ = try await bad.listObjectsV2(bucket: bucket)
            Issue.record("a wrong secret was accepted")
        } catch let error as S3Error {
            #expect(error.status == 403)
            #expect(error.code == "SignatureDoesNotMatch")
            let text = "\(error) \(String(reflecting: error))"
            #expect(!text.contains(wrongSecret))
            #expect(!text.contains(service.secretKey))
        }
    }
}
