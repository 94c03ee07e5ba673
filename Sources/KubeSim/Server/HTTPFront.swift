import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The listening socket: HTTP/1.1 on loopback, plain or TLS, tracking connections so the
/// "restart" fault can drop them all.
final class HTTPFront: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel
    let port: Int
    private let connections: Tracked

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel, port: Int, connections: Tracked) {
        self.group = group
        self.channel = channel
        self.port = port
        self.connections = connections
    }

    static func start(api: APIServer, host: String, port: Int, tls: NIOSSLContext?, threads: Int) async throws -> HTTPFront {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let tracked = Tracked()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                tracked.add(channel)
                do {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(api: api))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            let actualPort = channel.localAddress?.port ?? port
            return HTTPFront(group: group, channel: channel, port: actualPort, connections: tracked)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Closes every client connection; the listener stays.
    func dropConnections() {
        let all = connections.map.withLock { Array($0.values) }
        for c in all { c.close(promise: nil) }
    }

    func shutdown() async {
        dropConnections()
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    /// Shared connection registry filled by the child initializer.
    private final class Tracked: Sendable {
        let map = Mutex<[ObjectIdentifier: any Channel]>([:])
        func add(_ c: any Channel) {
            let id = ObjectIdentifier(c)
            map.withLock { $0[id] = c }
            c.closeFuture.whenComplete { [self] _ in _ = map.withLock { $0.removeValue(forKey: id) } }
        }
    }
}
