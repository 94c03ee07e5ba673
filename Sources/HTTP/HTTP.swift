/// HTTP: the only importer of libcurl. One curl-multi event loop on its own thread serves
/// `async` requests with streamed bodies, TLS, bearer tokens and S3 SigV4 signing.
///
/// - `HTTPClient.execute(_:)` returns an `HTTPResponse` once the head arrives; its `body` is an
///   `AsyncSequence` of `[UInt8]` chunks with back-pressure (the transfer pauses while the reader
///   is behind), so memory stays flat for any body size. Cancelling the reading task or dropping
///   the body aborts the transfer.
/// - Request bodies: bytes, or `HTTPRequestBody.stream(_:length:)` from any `AsyncSequence` of
///   chunks (Content-Length when known, chunked otherwise).
/// - `HTTPClientConfiguration`: connect/idle timeouts, TLS trust roots and client identity (file
///   or in-memory PEM), HTTP/2 via ALPN, buffer sizes. Connections are reused between requests.
/// - Every failure is an `HTTPError` with a `kind`; messages never contain credentials.
/// - `S3Client`: objects, listing and multipart uploads against S3-compatible servers, signed
///   with SigV4 by libcurl.
///
/// Files: CurlLoop (event-loop thread), Transfer (shared state between the loop and readers),
/// TransferEasy (easy-handle setup and C callbacks), HTTPBody, HTTPClient, S3*.
