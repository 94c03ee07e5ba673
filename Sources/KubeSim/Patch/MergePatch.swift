import DynamicJSON

/// RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, arrays are replaced.
enum MergePatch {
    static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(let members) = patch else { return patch }
        var result: [String: JSONValue] = target.objectValue ?? [:]
        for (key, value) in members {
            if value.isNull {
                result[key] = nil
            } else {
                result[key] = apply(value, to: result[key] ?? .null)
            }
        }
        return .object(result)
    }
}

/// RFC 6902 JSON patch: add, remove, replace, move, copy, test.
enum JSONPatch {
    static func apply(_ patch: JSONValue, to target: JSONValue) throws(KubeAPIError) -> JSONValue {
        guard let ops = patch.arrayValue else {
            throw KubeAPIError.badRequest("json: cannot unmarshal \(patch.typeName == "object" ? "object" : patch.typeName) into Go value of type jsonpatch.Patch")
        }
        var doc = target
        for op in ops {
            guard let name = op["op"]?.stringValue else { throw invalid("Unexpected kind: unknown") }
            guard let path = op["path"]?.stringValue else { throw invalid("missing path") }
            let pointer = try parsePointer(path)
            switch name {
            case "add":
                guard let value = op["value"] else { throw invalid("missing value") }
                try add(&doc, pointer, value)
            case "remove":
                _ = try remove(&doc, pointer)
            case "replace":
                guard let value = op["value"] else { throw invalid("missing value") }
                _ = try remove(&doc, pointer)
                try add(&doc, pointer, value)
            case "move":
                guard let from = op["from"]?.stringValue else { throw invalid("missing from") }
                let v = try remove(&doc, try parsePointer(from))
                try add(&doc, pointer, v)
            case "copy":
                guard let from = op["from"]?.stringValue else { throw invalid("missing from") }
                try add(&doc, pointer, try get(doc, try parsePointer(from)))
            case "test":
                let have = try? get(doc, pointer)
                if have != (op["value"] ?? .null) {
                    throw invalid("testing value \(path) failed: test failed")
                }
            default:
                throw invalid("Unexpected kind: \(name)")
            }
        }
        return doc
    }

    /// kopf treats these as "conflict, retry later": 422 as the real server sends.
    private static func invalid(_ message: String) -> KubeAPIError {
        KubeAPIError(code: 422, reason: "Invalid", message: "the server rejected our request due to an error in our request",
                     details: ["causes": [["reason": "UnexpectedServerResponse", "message": .string(message)]]])
    }

    static func parsePointer(_ path: String) throws(KubeAPIError) -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw invalid("JSON pointer must be empty or start with a \"/\": \(path)") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func get(_ doc: JSONValue, _ pointer: [String]) throws(KubeAPIError) -> JSONValue {
        var current = doc
        for token in pointer {
            switch current {
            case .object(let o):
                guard let next = o[token] else { throw invalid("unable to find key \(token)") }
                current = next
            case .array(let a):
                guard let i = Int(token), a.indices.contains(i) else { throw invalid("unable to access invalid index: \(token)") }
                current = a[i]
            default: throw invalid("unable to find key \(token)")
            }
        }
        return current
    }

    private static func add(_ doc: inout JSONValue, _ pointer: [String], _ value: JSONValue) throws(KubeAPIError) {
        guard let last = pointer.last else { doc = value; return }
        try mutate(&doc, Array(pointer.dropLast())) { (parent: inout JSONValue) throws(KubeAPIError) in
            switch parent {
            case .object(var o):
                o[last] = value
                parent = .object(o)
            case .array(var a):
                if last == "-" { a.append(value) } else {
                    guard let i = Int(last), i >= 0, i <= a.count else { throw invalid("add operation does not apply: index out of bounds: \(last)") }
                    a.insert(value, at: i)
                }
                parent = .array(a)
            default: throw invalid("add operation does not apply: doc is missing path: \"/\(pointer.joined(separator: "/"))\": missing value")
            }
        }
    }

    private static func remove(_ doc: inout JSONValue, _ pointer: [String]) throws(KubeAPIError) -> JSONValue {
        guard let last = pointer.last else { throw invalid("cannot remove the whole document") }
        var removed: JSONValue = .null
        try mutate(&doc, Array(pointer.dropLast())) { (parent: inout JSONValue) throws(KubeAPIError) in
            switch parent {
            case .object(var o):
                guard let v = o.removeValue(forKey: last) else {
                    throw invalid("remove operation does not apply: doc is missing path: \"/\(pointer.joined(separator: "/"))\": missing value")
                }
                removed = v
                parent = .object(o)
            case .array(var a):
                guard let i = Int(last), a.indices.contains(i) else { throw invalid("Unable to remove nonexistent key: \(last): missing value") }
                removed = a.remove(at: i)
                parent = .array(a)
            default: throw invalid("remove operation does not apply: doc is missing path: \"/\(pointer.joined(separator: "/"))\": missing value")
            }
        }
        return removed
    }

    private static func mutate(_ doc: inout JSONValue, _ pointer: [String],
                               _ body: (inout JSONValue) throws(KubeAPIError) -> Void) throws(KubeAPIError)
    {
        guard let first = pointer.first else { try body(&doc); return }
        let rest = Array(pointer.dropFirst())
        switch doc {
        case .object(var o):
            guard var child = o[first] else { throw invalid("doc is missing path: \"/\(pointer.joined(separator: "/"))\": missing value") }
            try mutate(&child, rest, body)
            o[first] = child
            doc = .object(o)
        case .array(var a):
            guard let i = Int(first), a.indices.contains(i) else { throw invalid("doc is missing path: unable to access invalid index: \(first)") }
            var child = a[i]
            try mutate(&child, rest, body)
            a[i] = child
            doc = .array(a)
        default:
            throw invalid("doc is missing path: \"/\(pointer.joined(separator: "/"))\": missing value")
        }
    }
}
