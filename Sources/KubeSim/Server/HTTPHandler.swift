import DynamicJSON
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP/1.1 connection: collects each request, hands it to the API server on the event loop
/// (every handler is short, CPU-only work on in-memory state), writes the answer, and streams
/// watches with chunked encoding.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let maxBody = 32 * 1024 * 1024

    private let api: APIServer
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false
    private var watch: ActiveWatch?

    /// The state of the watch stream this connection is serving.
    private final class ActiveWatch {
        let plan: WatchPlan
        var subscription: Int?
        var first = true
        var timers: [Scheduled<Void>] = []
        let keepAlive: Bool
        init(plan: WatchPlan, keepAlive: Bool) {
            self.plan = plan
            self.keepAlive = keepAlive
        }
    }

    init(api: APIServer) { self.api = api }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = context.channel.allocator.buffer(capacity: 0)
            tooLarge = false
        case .body(var chunk):
            if (body?.readableBytes ?? 0) + chunk.readableBytes > Self.maxBody {
                tooLarge = true
            } else {
                body?.writeBuffer(&chunk)
            }
        case .end:
            guard let h = head else { return }
            head = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            if tooLarge {
                let e = KubeAPIError(code: 413, reason: "RequestEntityTooLarge", message: "the request is too large")
                write(context, .error(e), head: h)
                return
            }
            let request = APIRequest(method: h.method.rawValue, uri: h.uri,
                                     headers: h.headers.map { ($0.name, $0.value) }, body: bytes)
            let (response, delay) = api.handle(request)
            if delay > 0 {
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .nanoseconds(Int64(delay * 1e9))) {
                    let (handler, ctx) = bound.value
                    handler.write(ctx, response, head: h)
                }
            } else {
                write(context, response, head: h)
            }
        }
    }

    private func write(_ context: ChannelHandlerContext, _ response: APIResponse, head h: HTTPRequestHead) {
        guard context.channel.isActive else { return }
        switch response {
        case .data(let status, let contentType, let extra, let bytes):
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(h.method == .HEAD ? 0 : bytes.count))
            headers.add(name: "Cache-Control", value: "no-cache, private")
            for (k, v) in extra { headers.add(name: k, value: v) }
            if !h.isKeepAlive { headers.add(name: "Connection", value: "close") }
            let responseHead = HTTPResponseHead(version: h.version, status: HTTPResponseStatus(statusCode: status), headers: headers)
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            if h.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
            }
            let keepAlive = h.isKeepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        case .watch(let plan):
            startWatch(context, plan, head: h)
        }
    }

    // MARK: - Watch streams

    private func startWatch(_ context: ChannelHandlerContext, _ plan: WatchPlan, head h: HTTPRequestHead) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        headers.add(name: "Cache-Control", value: "no-cache, private")
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .ok, headers: headers))), promise: nil)
        let active = ActiveWatch(plan: plan, keepAlive: h.isKeepAlive)
        watch = active
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let result = plan.register(
            deliver: { event in loop.execute { bound.value.0.deliver(bound.value.1, event) } },
            terminate: { loop.execute { bound.value.0.endWatch(bound.value.1) } })
        switch result {
        case .failure(let e):
            writeChunk(context, WatchPlan.encodeError(e))
            endWatch(context)
        case .success(let (initial, id)):
            active.subscription = id
            for event in initial { deliver(context, event, flush: false) }
            context.flush()
            active.timers.append(loop.scheduleTask(in: .milliseconds(Int64(plan.timeout * 1000))) {
                // A last bookmark (through the store, so it follows queued events), then the end.
                if plan.bookmarks { plan.store.read { $0.bookmark(id) } }
                loop.execute { bound.value.0.endWatch(bound.value.1) }
            })
            if plan.bookmarks, plan.bookmarkInterval > 0 {
                scheduleBookmark(loop, bound, plan, id)
            }
        }
    }

    private func scheduleBookmark(_ loop: any EventLoop, _ bound: NIOLoopBound<(HTTPHandler, ChannelHandlerContext)>,
                                  _ plan: WatchPlan, _ id: Int)
    {
        let task = loop.scheduleTask(in: .milliseconds(Int64(plan.bookmarkInterval * 1000))) {
            let (handler, _) = bound.value
            guard handler.watch?.subscription == id else { return }
            plan.store.read { $0.bookmark(id) }
            handler.scheduleBookmark(loop, bound, plan, id)
        }
        watch?.timers.append(task)
    }

    private func deliver(_ context: ChannelHandlerContext, _ event: StoreEvent, flush: Bool = true) {
        guard let active = watch, let bytes = active.plan.encode(event, first: active.first) else { return }
        if event.type != .bookmark { active.first = false }
        writeChunk(context, bytes, flush: flush)
    }

    private func writeChunk(_ context: ChannelHandlerContext, _ bytes: [UInt8], flush: Bool = true) {
        guard context.channel.isActive else { return }
        let part = wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes))))
        if flush { context.writeAndFlush(part, promise: nil) } else { context.write(part, promise: nil) }
    }

    private func endWatch(_ context: ChannelHandlerContext) {
        guard let active = watch else { return }
        watch = nil
        for t in active.timers { t.cancel() }
        if let id = active.subscription { active.plan.store.unsubscribe(id) }
        guard context.channel.isActive else { return }
        let keepAlive = active.keepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let active = watch {
            watch = nil
            for t in active.timers { t.cancel() }
            if let id = active.subscription { active.plan.store.unsubscribe(id) }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
