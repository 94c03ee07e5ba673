#!/usr/bin/env python3
"""Misbehaving-on-purpose HTTP/1.1 server for the HTTP module's tests and benchmark.

Started by Tests/TestSupport/HTTPTestServer.swift: binds 127.0.0.1 on a free port, writes the
port to --port-file, and exits when its parent dies. Routes:
  GET  /hello               200 "hello" (keep-alive)
  GET  /bytes?n=N           N bytes, byte i = i % 251, with Content-Length
  GET  /forever             chunked stream that never ends
  GET  /close-mid-body      Content-Length 1000, 100 bytes, then close
  GET  /bad-chunk           chunked body with an invalid chunk size
  GET  /garbage             a reply that is not HTTP
  GET  /hang                reads the request, never answers
  GET  /headers             the request headers as JSON
  GET  /status/NNN          status NNN
  GET  /stats               {"connections": accepted so far, "open": still open}
  GET  /pattern-sha256?n=N  sha256 of what /bytes?n=N sends
  PUT|POST /upload          {"bytes": n, "sha256": hex, "chunked": bool, "pattern": body == /bytes?n=bytes}
  POST /webhook/NAME?fail=N&status=S   a webhook receiver: records the request; the first N
                            requests to NAME get status S (default 500), later ones 200
  GET  /webhook/NAME        what NAME received: [{"status", "contentType", "body"}], in order
"""
import argparse, hashlib, json, os, socket, ssl, threading, time

PATTERN = bytes(i % 251 for i in range(251 * 4178))  # ~1 MiB, whole periods
connections = 0
open_connections = 0
lock = threading.Lock()
webhooks = {}  # name -> list of {"status", "contentType", "body"}


class Closed(Exception):
    pass


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise Closed()
        self.buf += data

    def read_until(self, sep):
        while sep not in self.buf:
            self.fill()
        i = self.buf.index(sep)
        out, self.buf = self.buf[:i], self.buf[i + len(sep):]
        return out

    def read_exact(self, n, sink):
        while n > 0:
            if not self.buf:
                self.fill()
            take = self.buf[:n]
            self.buf = self.buf[len(take):]
            sink(take)
            n -= len(take)

    def send(self, data):
        self.sock.sendall(data)


def respond(conn, status, body=b"", headers=(), reason="OK"):
    head = "HTTP/1.1 %d %s\r\nContent-Length: %d\r\n" % (status, reason, len(body))
    head += "".join("%s: %s\r\n" % h for h in headers)
    conn.send(head.encode() + b"\r\n" + body)


def read_body(conn, headers, sink):
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int(conn.read_until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                conn.read_until(b"\r\n")
                return True
            conn.read_exact(size, sink)
            conn.read_until(b"\r\n")
    conn.read_exact(int(headers.get("content-length", "0")), sink)
    return False


def handle_request(conn):
    head = conn.read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
    method, target, _ = head[0].split(" ", 2)
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    path, _, query = target.partition("?")
    params = dict(p.partition("=")[::2] for p in query.split("&") if p)

    if path == "/upload":
        digest, count, pattern = hashlib.sha256(), [0], [True]
        def sink(b):
            digest.update(b)
            start = count[0] % 251
            # Chunks are at most ~512 KiB, well inside the ~1 MiB PATTERN.
            pattern[0] = pattern[0] and b == PATTERN[start:start + len(b)]
            count[0] += len(b)
        chunked = read_body(conn, headers, sink)
        body = json.dumps({"bytes": count[0], "sha256": digest.hexdigest(), "chunked": chunked,
                           "pattern": pattern[0]}).encode()
        return respond(conn, 200, body, [("Content-Type", "application/json")])
    if path.startswith("/webhook/"):
        name = path[len("/webhook/"):]
        if method == "GET":
            with lock:
                body = json.dumps(webhooks.get(name, [])).encode()
            return respond(conn, 200, body, [("Content-Type", "application/json")])
        chunks = []
        read_body(conn, headers, chunks.append)
        with lock:
            received = webhooks.setdefault(name, [])
            status = int(params.get("status", "500")) if len(received) < int(params.get("fail", "0")) else 200
            received.append({"status": status, "contentType": headers.get("content-type", ""),
                             "body": b"".join(chunks).decode("utf-8", "replace")})
        return respond(conn, status, b"{}", [("Content-Type", "application/json")], reason="OK" if status == 200 else "Failing")
    read_body(conn, headers, lambda b: None)
    if path == "/hello":
        respond(conn, 200, b"hello")
    elif path == "/bytes":
        n = int(params.get("n", "0"))
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n" % n)
        view = memoryview(PATTERN)
        while n > 0:
            part = view[:min(n, len(view))]
            conn.send(part)
            n -= len(part)
    elif path == "/forever":
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        while True:
            conn.send(b"5\r\ntick\n\r\n")
            time.sleep(0.005)
    elif path == "/close-mid-body":
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
        raise Closed()
    elif path == "/bad-chunk":
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\nnonsense\r\n")
        time.sleep(0.5)
        raise Closed()
    elif path == "/garbage":
        conn.send(b"SMTP ready, not HTTP at all\r\n\r\n")
        raise Closed()
    elif path == "/hang":
        while True:
            conn.fill()  # until the client gives up and closes
    elif path == "/headers":
        respond(conn, 200, json.dumps(headers).encode(), [("Content-Type", "application/json")])
    elif path.startswith("/status/"):
        code = int(path[len("/status/"):])
        respond(conn, code, b"status %d" % code, reason="Status")
    elif path == "/pattern-sha256":
        n, digest = int(params.get("n", "0")), hashlib.sha256()
        while n > 0:
            part = PATTERN[:min(n, len(PATTERN))]
            digest.update(part)
            n -= len(part)
        respond(conn, 200, digest.hexdigest().encode())
    elif path == "/stats":
        with lock:
            body = json.dumps({"connections": connections, "open": open_connections}).encode()
        respond(conn, 200, body, [("Content-Type", "application/json")])
    else:
        respond(conn, 404, b"no route", reason="Not Found")


def serve_connection(sock, tls):
    global open_connections
    try:
        if tls is not None:
            sock = tls.wrap_socket(sock, server_side=True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(sock)
        while True:
            handle_request(conn)
    except (Closed, OSError, ssl.SSLError, ValueError):
        pass
    finally:
        with lock:
            open_connections -= 1
        try:
            sock.close()
        except OSError:
            pass


def watch_parent(parent):
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main():
    global connections, open_connections
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca", help="require client certificates signed by this CA")
    args = ap.parse_args()
    tls = None
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            tls.verify_mode = ssl.CERT_REQUIRED
            tls.load_verify_locations(args.client_ca)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.rename(tmp, args.port_file)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    while True:
        sock, _ = listener.accept()
        with lock:
            connections += 1
            open_connections += 1
        threading.Thread(target=serve_connection, args=(sock, tls), daemon=True).start()


if __name__ == "__main__":
    main()
