import Foundation
import HTTP
import KubeModel

/// One event of a watch. `ERROR` events are not events: the stream throws them as `KubeError`
/// (410 → `.gone`, which means: list again).
public enum WatchEvent<Object: Sendable>: Sendable {
    case added(Object)
    case modified(Object)
    case deleted(Object)
    /// Progress without a change: the collection is at least at `resourceVersion`.
    case bookmark(resourceVersion: String)
    /// An ADDED/MODIFIED/DELETED whose object failed to decode; `type` is the event type.
    case undecodable(type: String, UndecodableObject)

    public var object: Object? {
        switch self {
        case .added(let o), .modified(let o), .deleted(let o): o
        case .bookmark, .undecodable: nil
        }
    }
}

/// The events of one watch request, decoded one by one as the chunked body arrives. Ends
/// (returns nil) when the server closes the stream cleanly (e.g. after `timeoutSeconds`);
/// throws `KubeError` for an `ERROR` event or a broken connection.
public struct WatchStream<Object: Decodable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = WatchEvent<Object>
    public typealias Failure = KubeError

    let response: HTTPResponse
    let request: String
    let maxEventBytes: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        var body: HTTPBody.AsyncIterator
        var splitter: JSONObjectSplitter
        let request: String
        let decoder = WatchEventDecoder<Object>()
        var finished = false

        public mutating func next() async throws(KubeError) -> WatchEvent<Object>? {
            guard !finished else { return nil }
            while true {
                let object: ArraySlice<UInt8>?
                do { object = try splitter.next() } catch {
                    finished = true
                    throw KubeError(kind: .decoding, request: request, detail: "\(error)")
                }
                if let object { return try decode(object) }
                let chunk: [UInt8]?
                do { chunk = try await body.next() } catch {
                    finished = true
                    if error.kind == .cancelled || Task.isCancelled { throw KubeError(kind: .cancelled, request: request) }
                    throw KubeError(kind: .transport, request: request, detail: error.description)
                }
                guard let chunk else {
                    finished = true
                    return nil
                }
                splitter.append(chunk)
            }
        }

        private mutating func decode(_ bytes: ArraySlice<UInt8>) throws(KubeError) -> WatchEvent<Object> {
            do { return try decoder.decode(bytes, request: request) } catch {
                finished = true
                throw error
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(body: response.body.makeAsyncIterator(), splitter: JSONObjectSplitter(maxObjectBytes: maxEventBytes),
                      request: request)
    }
}

/// Decodes one watch event (`{"type": …, "object": …}`); an `ERROR` event throws its `Status`
/// as a `KubeError`. Public so that a benchmark times exactly what a watch does.
public struct WatchEventDecoder<Object: Decodable & Sendable>: Sendable {
    private let json = JSONDecoder()

    public init() {}

    public func decode(_ bytes: ArraySlice<UInt8>, request: String) throws(KubeError) -> WatchEvent<Object> {
        let raw: RawWatchEvent<Object>
        do { raw = try json.decode(RawWatchEvent<Object>.self, from: Data(bytes)) } catch {
            throw KubeError(kind: .decoding, request: request, detail: "malformed watch event: \(describe(error))")
        }
        switch raw.payload {
        case .error(let status):
            let code = status.code ?? 500
            throw KubeError(kind: KubeError.kind(forCode: code, reason: status.reason), code: code, status: status, request: request)
        case .bookmark(let rv):
            return .bookmark(resourceVersion: rv)
        case .object(let lenient):
            if let failure = lenient.failure { return .undecodable(type: raw.type, failure) }
            guard let object = lenient.value else {
                return .undecodable(type: raw.type, UndecodableObject(name: "<unnamed>", reason: "empty object"))
            }
            switch raw.type {
            case "ADDED": return .added(object)
            case "MODIFIED": return .modified(object)
            case "DELETED": return .deleted(object)
            default: throw KubeError(kind: .decoding, request: request, detail: "unknown watch event type \"\(raw.type)\"")
            }
        }
    }

    /// The event's object, or nil (bookmark, error, undecodable): for benchmarks.
    public func decodeObject(_ bytes: [UInt8]) -> Object? { (try? decode(bytes[...], request: "")).flatMap(\.object) }
}

struct RawWatchEvent<Object: Decodable>: Decodable {
    enum Payload {
        case object(Lenient<Object>)
        case bookmark(String)
        case error(Status)
    }
    var type: String
    var payload: Payload

    enum CodingKeys: String, CodingKey { case type, object }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        switch type {
        case "ERROR": payload = .error(try c.decode(Status.self, forKey: .object))
        case "BOOKMARK":
            let partial = try c.decode(PartialObject.self, forKey: .object)
            payload = .bookmark(partial.metadata?.resourceVersion ?? "")
        default: payload = .object(try c.decode(Lenient<Object>.self, forKey: .object))
        }
    }
}

/// Cuts a byte stream of concatenated JSON objects (newline-separated or not) into whole
/// objects, keeping state across chunk boundaries so each byte is scanned once.
struct JSONObjectSplitter: Sendable {
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }
    private var buffer: [UInt8] = []
    private var start = 0
    private var position = 0
    private var depth = 0
    private var inString = false
    private var escaped = false
    let maxObjectBytes: Int

    init(maxObjectBytes: Int = 64 << 20) { self.maxObjectBytes = maxObjectBytes }

    mutating func append(_ chunk: [UInt8]) {
        if start > 0 {
            buffer.removeFirst(start)
            position -= start
            start = 0
        }
        buffer.append(contentsOf: chunk)
    }

    /// The next complete object, or nil when more bytes are needed.
    mutating func next() throws(Malformed) -> ArraySlice<UInt8>? {
        while position < buffer.count {
            let byte = buffer[position]
            if depth == 0 {
                switch byte {
                case 0x20, 0x0A, 0x0D, 0x09:
                    start = position + 1
                case UInt8(ascii: "{"):
                    start = position
                    depth = 1
                default:
                    throw Malformed(description: "unexpected byte 0x\(String(byte, radix: 16)) between watch events")
                }
            } else if inString {
                if escaped { escaped = false }
                else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        let object = buffer[start...position]
                        position += 1
                        start = position
                        return object
                    }
                default: break
                }
            }
            position += 1
        }
        if depth > 0, position - start > maxObjectBytes {
            throw Malformed(description: "a watch event exceeds \(maxObjectBytes) bytes")
        }
        return nil
    }
}
