/// HTTP: the only importer of libcurl. One curl-multi event loop on its own thread serves
/// `async` requests with streamed bodies, TLS, bearer tokens and S3 SigV4 signing.
