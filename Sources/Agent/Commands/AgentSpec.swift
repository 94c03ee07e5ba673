import AgentContract
import BackstopCore
import Foundation

/// The agent's side of `AgentSpec` (declared in AgentContract): decoding with readable
/// errors, and the helpers the commands share.
extension AgentSpec {
    public static func decode(_ bytes: some Collection<UInt8>) throws -> AgentSpec {
        do {
            return try JSONDecoder().decode(AgentSpec.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw AgentError(.specInvalid, "spec: \(describe(error))")
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError(.specInvalid, "spec: \(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "(top level)" : String(p.dropFirst())
        }
        switch error {
        case .keyNotFound(let key, let c): return "\(path(c)).\(key.stringValue) is required".replacingOccurrences(of: "(top level).", with: "")
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "\(path(c)): \(c.debugDescription)"
        case .dataCorrupted(let c): return "\(path(c)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    var storeSpec: StoreSpec? { store ?? destination }
    /// The key prefix of the store (without opening it).
    var storePrefix: String { storeSpec?.s3?.prefix ?? storeSpec?.volume?.prefix ?? "" }
    var selector: ArtifactSelector { artifact ?? backup ?? .latest }

    func clock(_ context: AgentContext) throws -> Date {
        guard let now else { return context.now() }
        guard let date = UTCTimestamp.parseRFC3339(now) else { throw AgentError(.specInvalid, "now: not an RFC 3339 time") }
        return date
    }

    func layout(prefix: String) throws -> ArtifactLayout {
        guard let policy else { throw AgentError(.specInvalid, "policy is required") }
        do { return try ArtifactLayout(prefix: prefix, policy: policy) } catch {
            throw AgentError(.specInvalid, "\(error)")
        }
    }
}

extension StoreSpec {
    /// The store and the key prefix artifacts live under.
    func open() throws -> (store: any ArtifactStore, prefix: String) {
        switch (s3, volume) {
        case (let s3?, nil): return (try S3Store(spec: s3), s3.prefix ?? "")
        case (nil, let volume?): return (try VolumeStore(root: volume.path), volume.prefix ?? "")
        default: throw AgentError(.specInvalid, "store: exactly one of s3 or volume is required")
        }
    }
}

extension SourceSpec {
    /// The source; `store` and `layout` are where the S3 mirror keeps its object copies.
    func make(store: any ArtifactStore, layout: ArtifactLayout) throws -> any BackupSource {
        let kinds = [postgres != nil, redis != nil, volume != nil, clickhouse != nil, s3 != nil].filter { $0 }.count
        guard kinds == 1 else { throw AgentError(.specInvalid, "source: exactly one of postgres, redis, clickhouse, s3 or volume is required") }
        if let postgres { return PostgresSource(spec: postgres) }
        if let redis { return RedisSource(spec: redis) }
        if let volume { return VolumeSource(spec: volume) }
        if let clickhouse { return ClickHouseSource(spec: clickhouse) }
        if let s3 { return S3MirrorSource(spec: s3, store: store, layout: layout) }
        throw AgentError(.specInvalid, "source: exactly one of postgres, redis, clickhouse, s3 or volume is required")
    }
}
