import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization

/// `/healthz` (the process answers), `/readyz` (`ready()` is true: caches synced and
/// leadership known) and `/metrics` (Prometheus text) over plain HTTP/1.1 on NIO. A `Service`.
public final class HealthServer: Service, Sendable {
    public let host: String
    public let port: Int
    private let registry: PrometheusCollectorRegistry
    private let objectGauges: ObjectGauges?
    private let ready: @Sendable () -> Bool
    private let logger: Logger
    private let bound = Mutex<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    /// - Parameter objectGauges: per-object series served after the registry's (`Manager.objectGauges`).
    public init(host: String = "0.0.0.0", port: Int = 8080, registry: PrometheusCollectorRegistry, objectGauges: ObjectGauges? = nil,
                logger: Logger, ready: @escaping @Sendable () -> Bool) {
        self.host = host
        self.port = port
        self.registry = registry
        self.objectGauges = objectGauges
        self.ready = ready
        self.logger = logger
    }

    /// The port actually bound (useful with port 0); waits until the server listens.
    public func boundPort() async -> Int {
        await withCheckedContinuation { c in
            let port = bound.withLock { b -> Int? in
                if let p = b.port { return p }
                b.waiters.append(c)
                return nil
            }
            if let port { c.resume(returning: port) }
        }
    }

    public func run() async throws {
        let registry = self.registry, objectGauges = self.objectGauges, ready = self.ready
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HealthHandler(registry: registry, objectGauges: objectGauges, ready: ready))
                }
            }
            .bind(host: host, port: port).get()
        let port = channel.localAddress?.port ?? port
        let waiters = bound.withLock { b in
            b.port = port
            defer { b.waiters = [] }
            return b.waiters
        }
        for w in waiters { w.resume(returning: port) }
        logger.info("health and metrics server listening", metadata: ["address": "\(host):\(port)"])
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await channel.closeFuture.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

private final class HealthHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let registry: PrometheusCollectorRegistry
    let objectGauges: ObjectGauges?
    let ready: @Sendable () -> Bool
    var path = ""
    var keepAlive = true

    init(registry: PrometheusCollectorRegistry, objectGauges: ObjectGauges?, ready: @escaping @Sendable () -> Bool) {
        self.registry = registry
        self.objectGauges = objectGauges
        self.ready = ready
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let (status, type, body): (HTTPResponseStatus, String, [UInt8])
            switch path {
            case "/healthz", "/livez":
                (status, type, body) = (.ok, "text/plain", Array("ok\n".utf8))
            case "/readyz":
                (status, type, body) = ready() ? (.ok, "text/plain", Array("ok\n".utf8))
                    : (.serviceUnavailable, "text/plain", Array("not ready: caches syncing or leadership unknown\n".utf8))
            case "/metrics":
                var buffer: [UInt8] = []
                registry.emit(into: &buffer)
                objectGauges?.emit(into: &buffer)
                (status, type, body) = (.ok, "text/plain; version=0.0.4; charset=utf-8", buffer)
            default:
                (status, type, body) = (.notFound, "text/plain", Array("not found\n".utf8))
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: String(body.count))
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            let keepAlive = self.keepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}
