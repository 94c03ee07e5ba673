import CCurl

/// The libcurl easy handle of a `Transfer`: created, configured, driven and freed on the loop
/// thread only. Callbacks are non-capturing C functions that find their `Transfer` through the
/// userdata pointer; the loop keeps the `Transfer` alive while its handle exists.
extension Transfer {
    /// Creates and configures the handle. Returns an error instead when the request is unusable.
    func makeEasyHandle() -> HTTPError? {
        guard let easy = curl_easy_init() else {
            return HTTPError(kind: .other, message: "curl_easy_init failed", request: requestDescription)
        }
        self.easy = easy
        var failed: CURLcode = CURLE_OK
        func check(_ code: CURLcode) { if code != CURLE_OK && failed == CURLE_OK { failed = code } }
        func setLong(_ o: CURLoption, _ v: Int) { check(backstop_easy_setopt_long(easy, o, v)) }
        func setString(_ o: CURLoption, _ v: String) { check(backstop_easy_setopt_string(easy, o, v)) }
        func setPEM(_ source: TLSConfiguration.PEMSource, file: CURLoption, blob: CURLoption) {
            switch source {
            case .file(let path): setString(file, path)
            case .pem(var bytes):
                bytes.withUnsafeMutableBytes { raw in
                    var b = curl_blob(data: raw.baseAddress, len: raw.count, flags: backstop_blob_copy)
                    check(backstop_easy_setopt_blob(easy, blob, &b))
                }
            }
        }
        let me = Unmanaged.passUnretained(self).toOpaque()
        let config = configuration

        setString(CURLOPT_URL, request.url)
        setString(CURLOPT_PROTOCOLS_STR, "http,https")
        setLong(CURLOPT_NOSIGNAL, 1)
        setLong(CURLOPT_TCP_KEEPALIVE, 1)
        setLong(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        setLong(CURLOPT_FOLLOWLOCATION, config.followRedirects ? 1 : 0)
        setString(CURLOPT_USERAGENT, config.userAgent)
        setLong(CURLOPT_BUFFERSIZE, config.receiveBufferSize)
        check(backstop_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer))
        setLong(CURLOPT_HTTP_VERSION, Int(config.preferHTTP2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1))

        // Timeouts. Low-speed 1 byte/s over N seconds is libcurl's idle timeout.
        setLong(CURLOPT_CONNECTTIMEOUT_MS, Int(config.connectTimeout.milliseconds))
        let idle = request.idleTimeout ?? config.idleTimeout
        if idle > .zero {
            setLong(CURLOPT_LOW_SPEED_LIMIT, 1)
            setLong(CURLOPT_LOW_SPEED_TIME, max(1, Int((idle.milliseconds + 999) / 1000)))
        }
        if let total = request.totalTimeout { setLong(CURLOPT_TIMEOUT_MS, Int(total.milliseconds)) }

        // TLS.
        let tls = config.tls
        if tls.insecureSkipVerify {
            setLong(CURLOPT_SSL_VERIFYPEER, 0)
            setLong(CURLOPT_SSL_VERIFYHOST, 0)
        } else if let roots = tls.trustRoots {
            // Trust exactly these roots, not the system bundle as well.
            check(backstop_easy_setopt_pointer(easy, CURLOPT_CAPATH, nil))
            check(backstop_easy_setopt_pointer(easy, CURLOPT_CAINFO, nil))
            setPEM(roots, file: CURLOPT_CAINFO, blob: CURLOPT_CAINFO_BLOB)
        }
        if let cert = tls.clientCertificate {
            setString(CURLOPT_SSLCERTTYPE, "PEM")
            setPEM(cert, file: CURLOPT_SSLCERT, blob: CURLOPT_SSLCERT_BLOB)
        }
        if let key = tls.clientKey {
            setString(CURLOPT_SSLKEYTYPE, "PEM")
            setPEM(key, file: CURLOPT_SSLKEY, blob: CURLOPT_SSLKEY_BLOB)
        }

        // Method and body.
        let length = request.body.length
        let hasBody: Bool = if case .empty = request.body.storage { false } else { true }
        switch request.method {
        case .get where !hasBody: setLong(CURLOPT_HTTPGET, 1)
        case .head: setLong(CURLOPT_NOBODY, 1)
        case .post:
            setLong(CURLOPT_POST, 1)
            check(backstop_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(length ?? -1)))
        default:
            if hasBody || request.method == .put {
                setLong(CURLOPT_UPLOAD, 1)
                check(backstop_easy_setopt_off(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(length ?? -1)))
            }
            if request.method != .put { setString(CURLOPT_CUSTOMREQUEST, request.method.rawValue) }
        }
        if hasBody || request.method == .post || request.method == .put {
            check(backstop_easy_setopt_read_cb(easy) { buffer, size, count, me in
                let transfer = Unmanaged<Transfer>.fromOpaque(me!).takeUnretainedValue()
                switch transfer.send(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count)) {
                case .bytes(let n): return n
                case .pause: return backstop_readfunc_pause
                case .abort: return backstop_readfunc_abort
                }
            })
            check(backstop_easy_setopt_pointer(easy, CURLOPT_READDATA, me))
        }

        // Headers. "Expect:" turns off 100-continue (a round trip, or a 1 s stall on servers
        // that ignore it); an empty "Content-Type:" stops libcurl's form default on POST.
        // libcurl's SigV4 signer would sign such empty headers that are then never sent, so
        // signed requests keep 100-continue (S3 supports it) and must name their Content-Type.
        var headers = request.headers
        let signed: Bool = if case .awsSigV4? = request.authorization { true } else { false }
        if !signed && !headers.contains("expect") { headers.add("Expect", "") }
        if !signed && request.method == .post && !headers.contains("content-type") { headers.add("Content-Type", "") }
        switch request.authorization {
        case .bearer(let token)?:
            headers.set("Authorization", "Bearer \(token)")
        case .awsSigV4(let credentials, let region, let service)?:
            setString(CURLOPT_AWS_SIGV4, "aws:amz:\(region):\(service)")
            setString(CURLOPT_USERNAME, credentials.accessKeyID)
            setString(CURLOPT_PASSWORD, credentials.secretAccessKey)
            if let token = credentials.sessionToken { headers.set("x-amz-security-token", token) }
        case nil: break
        }
        for field in headers {
            let line = field.value.isEmpty ? "\(field.name):" : "\(field.name): \(field.value)"
            guard let list = curl_slist_append(headerList, line) else { continue }
            headerList = list
        }
        if let headerList { check(backstop_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList)) }

        check(backstop_easy_setopt_header_cb(easy) { data, size, count, me in
            let transfer = Unmanaged<Transfer>.fromOpaque(me!).takeUnretainedValue()
            transfer.headerLine(UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        })
        check(backstop_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me))
        check(backstop_easy_setopt_write_cb(easy) { data, size, count, me in
            let transfer = Unmanaged<Transfer>.fromOpaque(me!).takeUnretainedValue()
            if !transfer.headDelivered { transfer.deliverHead(transfer.currentHead()) }
            let accepted = transfer.receive(UnsafeRawBufferPointer(start: data, count: size * count))
            return accepted ? size * count : backstop_writefunc_pause
        })
        check(backstop_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me))

        guard failed == CURLE_OK else {
            return HTTPError(kind: .invalidRequest, message: "libcurl rejected an option: \(String(cString: curl_easy_strerror(failed)))",
                             request: requestDescription, curlCode: Int(failed.rawValue))
        }
        return nil
    }

    /// Header callback: collects one header block; a blank line ends it, and a final (non-1xx)
    /// block makes the response head. Trailers after the head are ignored.
    func headerLine(_ raw: UnsafeRawBufferPointer) {
        guard !headDelivered else { return }
        let line = String(decoding: raw, as: UTF8.self).trimmingSpaces
        if line.hasPrefix("HTTP/") { headerFields = []; return }
        if line.isEmpty {
            var code = 0
            _ = backstop_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
            // 1xx and, when following redirects, 3xx-with-Location blocks are not the final head.
            let redirect = configuration.followRedirects && (300..<400).contains(code)
                && headerFields.contains { $0.name.lowercased() == "location" }
            if (code >= 200 && !redirect) || code == 101 { deliverHead(currentHead()) } else { headerFields = [] }
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        headerFields.append(.init(name: String(line[..<colon]), value: String(line[line.index(after: colon)...]).trimmingSpaces))
    }

    func currentHead() -> HTTPResponseHead {
        var code = 0, version = 0
        _ = backstop_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
        _ = backstop_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
        let versionText = switch version {
        case CURL_HTTP_VERSION_1_0: "1.0"
        case CURL_HTTP_VERSION_2_0: "2"
        case CURL_HTTP_VERSION_3: "3"
        default: "1.1"
        }
        var headers = HTTPHeaders()
        for f in headerFields { headers.add(f.name, f.value) }
        return HTTPResponseHead(status: code, headers: headers, httpVersion: versionText)
    }

    /// The transfer finished inside libcurl (the loop already removed it from the multi handle).
    func complete(_ code: CURLcode) {
        let result: Result<Void, HTTPError>
        if code == CURLE_OK {
            result = .success(())
        } else if code == CURLE_ABORTED_BY_CALLBACK, let failure = uploadFailure {
            result = .failure(HTTPError(kind: .requestBody, message: failure, request: requestDescription,
                                        curlCode: Int(code.rawValue)))
        } else {
            let detail = String(cString: errorBuffer).trimmingSpaces
            result = .failure(.curl(code, detail: detail, request: requestDescription))
        }
        let head = code == CURLE_OK ? currentHead() : nil
        releaseEasyHandle()
        finish(result, head: head)
    }

    func releaseEasyHandle() {
        if let easy { curl_easy_cleanup(easy) }
        easy = nil
        curl_slist_free_all(headerList)
        headerList = nil
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
