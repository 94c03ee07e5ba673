/// An HTTP/1.1 and HTTP/2 client over libcurl. Requests from any task share one event-loop
/// thread and its connection cache; nothing here blocks the cooperative pool. Keep one client
/// per set of TLS settings and reuse it: connections are kept alive between requests.
public final class HTTPClient: Sendable {
    public let configuration: HTTPClientConfiguration
    let loop: CurlLoop

    public init(configuration: HTTPClientConfiguration = .init()) {
        self.configuration = configuration
        loop = CurlLoop(configuration: configuration)
    }

    /// The loop thread exits once the transfers still running (bodies being read) are done.
    deinit { loop.submit(.shutdown) }

    /// Sends `request` and returns when the response head has arrived; read the body from
    /// `response.body`. Cancelling the calling task aborts the request.
    public func execute(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let transfer = Transfer(request: request, configuration: configuration, loop: loop)
        if case .stream(_, let pump) = request.body.storage {
            let task = Task {
                do {
                    try await pump(UploadSink(transfer: transfer))
                    transfer.endUpload(failure: nil)
                } catch {
                    transfer.endUpload(failure: "the body source threw \(type(of: error)): \(error)")
                }
            }
            transfer.attachPump(task)
        }
        let head = await withTaskCancellationHandler {
            await transfer.start()
        } onCancel: {
            transfer.cancel()
        }
        return HTTPResponse(head: try head.get(), body: HTTPBody(reader: BodyReader(transfer: transfer)))
    }

    /// Sends `request` and reads the whole body, throwing `.tooLarge` beyond `maxBytes`.
    public func data(_ request: HTTPRequest, maxBytes: Int = 64 << 20) async throws(HTTPError) -> (HTTPResponseHead, [UInt8]) {
        let response = try await execute(request)
        if let length = response.head.contentLength, length > maxBytes {
            throw HTTPError(kind: .tooLarge, message: "Content-Length \(length) exceeds \(maxBytes) bytes",
                            request: request.description)
        }
        return (response.head, try await response.body.collect(upTo: maxBytes))
    }
}
