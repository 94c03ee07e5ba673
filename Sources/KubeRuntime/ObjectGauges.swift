import Synchronization

/// Gauges with one series per Kubernetes object (a policy's last backup time, its artifact
/// count…), kept beside the Prometheus registry rather than in it, and appended to `/metrics`
/// after the registry's text. swift-prometheus 2.4 copies a family's whole label-set dictionary
/// for every new series, so registering five gauges for each of 10,000 policies took most of an
/// operator restart (quadratic); here a new series is one dictionary insert. A deleted object's
/// series go with it (`remove`), so an alert never fires for a policy that no longer exists.
public final class ObjectGauges: Sendable {
    /// Family name → rendered label set (`namespace="a",policy="b"`) → value.
    private let families = Mutex<[String: [String: Double]]>([:])

    public init() {}

    public func set(_ name: String, labels: [(String, String)], to value: Double) {
        let key = Self.render(labels)
        families.withLock { $0[name, default: [:]][key] = value }
    }

    /// Drops the series of this label set from every family.
    public func remove(labels: [(String, String)]) {
        let key = Self.render(labels)
        families.withLock { families in
            for name in families.keys { families[name]?[key] = nil }
        }
    }

    /// The current value of one series (nil when absent).
    public func value(_ name: String, labels: [(String, String)]) -> Double? {
        let key = Self.render(labels)
        return families.withLock { $0[name]?[key] }
    }

    /// Prometheus text exposition (version 0.0.4): a `# TYPE` line per non-empty family, then its series.
    public func emit(into buffer: inout [UInt8]) {
        let snapshot = families.withLock { $0 }
        for (name, series) in snapshot.sorted(by: { $0.key < $1.key }) where !series.isEmpty {
            buffer.append(contentsOf: "# TYPE \(name) gauge\n".utf8)
            for (labels, value) in series {
                buffer.append(contentsOf: name.utf8)
                buffer.append(UInt8(ascii: "{"))
                buffer.append(contentsOf: labels.utf8)
                buffer.append(contentsOf: "} \(value)\n".utf8)
            }
        }
    }

    /// `a="x",b="y"`, label values escaped as the exposition format requires (\\, \", \n).
    static func render(_ labels: [(String, String)]) -> String {
        labels.map { name, value in
            var escaped = ""
            for c in value.unicodeScalars {
                switch c {
                case "\\": escaped += "\\\\"
                case "\"": escaped += "\\\""
                case "\n": escaped += "\\n"
                default: escaped.unicodeScalars.append(c)
                }
            }
            return "\(name)=\"\(escaped)\""
        }.joined(separator: ",")
    }
}
