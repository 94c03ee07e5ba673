@testable import HTTP
import Testing

@Suite("S3 XML reader and encoding")
struct S3XMLTests {
    @Test func listResultWithEntitiesCDATAAndNamespaces() throws {
        let xml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <!-- comment -->
        <s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">
          <IsTruncated>true</IsTruncated>
          <Contents><Key>a &amp; b &lt;c&gt; &#x41;&#66;</Key><Size>12</Size><ETag>&quot;abc&quot;</ETag></Contents>
          <Contents><Key><![CDATA[x<y]]></Key><Size>3</Size><Owner/></Contents>
          <NextContinuationToken attr='a>b'>tok+/=</NextContinuationToken>
        </s3:ListBucketResult>
        """
        let root = try XMLNode.parse(Array(xml.utf8))
        #expect(root.name == "ListBucketResult")
        #expect(root["IsTruncated"] == "true")
        let contents = root.children("Contents")
        #expect(contents.map { $0["Key"] } == ["a & b <c> AB", "x<y"])
        #expect(contents[0]["ETag"] == "\"abc\"")
        #expect(contents[1].child("Owner") != nil)
        #expect(root["NextContinuationToken"] == "tok+/=")
    }

    @Test(arguments: ["", "<a><b></a>", "<a>", "<a></b>", "text only"])
    func malformedDocumentsThrow(text: String) {
        #expect(throws: XMLNode.ParseError.self) { try XMLNode.parse(Array(text.utf8)) }
    }

    @Test func xmlEscapeRoundTrips() throws {
        let text = "\"e\" & <t> 'q'"
        #expect(try XMLNode.parse(Array("<a>\(xmlEscape(text))</a>".utf8)).text == text)
    }

    @Test(arguments: [
        ("plain.txt", false, "plain.txt"),
        ("dir one/a+b=c&d ü", true, "dir%20one/a%2Bb%3Dc%26d%20%C3%BC"),
        ("a/b", false, "a%2Fb"),
        ("-_.~", false, "-_.~"),
    ])
    func sigV4Encoding(input: String, keepSlash: Bool, expected: String) {
        #expect(s3Encode(input, keepSlash: keepSlash) == expected)
    }

    @Test func urlsAreSortedAndSigned() {
        let s3 = S3Client(endpoint: "http://127.0.0.1:9000/", region: "us-east-1",
                          credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "SECRET-VALUE"))
        let request = s3.request(.get, bucket: "b", key: "k 1", query: ["uploadId": "u/1", "partNumber": "2", "uploads": ""])
        #expect(request.url == "http://127.0.0.1:9000/b/k%201?partNumber=2&uploadId=u%2F1&uploads=")
        #expect(request.headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD")
        #expect(!"\(request) \(request.authorization!)".contains("SECRET-VALUE"))
    }
}
