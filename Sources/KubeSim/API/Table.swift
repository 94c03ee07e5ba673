import DynamicJSON
import Foundation

/// A Table column definition (meta.k8s.io/v1 TableColumnDefinition).
struct ColumnDef: Sendable {
    var name: String
    var type: String
    var format: String = ""
    var description: String = ""
    var priority: Int = 0

    var json: JSONValue {
        ["name": .string(name), "type": .string(type), "format": .string(format), "description": .string(description),
         "priority": .int(Int64(priority))]
    }
}

/// Server-side printing for `kubectl get` (§O).
enum TableConverter {
    static func columns(_ t: ResourceType) -> [ColumnDef] {
        if let custom = t.custom {
            var cols = [ColumnDef(name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace.")]
            if custom.columns.isEmpty {
                cols.append(ColumnDef(name: "Age", type: "date", description: "CreationTimestamp is a timestamp representing the server time when this object was created."))
            } else {
                cols += custom.columns.map { ColumnDef(name: $0.name, type: $0.type, format: $0.format, description: $0.description, priority: $0.priority) }
            }
            return cols
        }
        return BuiltinPrinters.columns(t.tag) ?? defaultColumns
    }

    static let defaultColumns = [
        ColumnDef(name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace."),
        ColumnDef(name: "Created At", type: "date", description: "CreationTimestamp is a timestamp representing the server time when this object was created."),
    ]

    static func cells(_ obj: JSONValue, _ t: ResourceType, now: Date) -> [JSONValue] {
        let name = JSONValue.string(obj["metadata"]?["name"]?.stringValue ?? "")
        if let custom = t.custom {
            if custom.columns.isEmpty { return [name, .string(age(obj["metadata"]?["creationTimestamp"], now))] }
            return [name] + custom.columns.map { customCell($0, obj, now: now) }
        }
        if let cells = BuiltinPrinters.cells(t.tag, obj, now: now) { return cells }
        return [name, obj["metadata"]?["creationTimestamp"] ?? .null]
    }

    static func age(_ timestamp: JSONValue?, _ now: Date) -> String {
        guard let s = timestamp?.stringValue, let d = Timestamp.parse(s) else { return "<unknown>" }
        return Timestamp.human(now.timeIntervalSince(d))
    }

    /// `cellForJSONValue` of the apiextensions table convertor.
    static func customCell(_ c: PrinterColumn, _ obj: JSONValue, now: Date) -> JSONValue {
        guard let value = SimpleJSONPath.evaluate(c.jsonPath, obj).first else { return .null }
        switch c.type {
        case "string":
            switch value {
            case .string(let s): return .string(s)
            case .int(let i): return .string(String(i))
            case .double(let d): return .string(goFormat(.double(d)))
            case .bool(let b): return .string(b ? "true" : "false")
            case .null: return .null
            default: return .string(value.jsonString(sortedKeys: true))
            }
        case "integer":
            if case .int = value { return value }
            if case .double(let d) = value { return .int(Int64(d)) }
            return .null
        case "number":
            if case .int = value { return value }
            if case .double = value { return value }
            return .null
        case "boolean":
            if case .bool = value { return value }
            return .null
        case "date":
            guard let s = value.stringValue else { return .null }
            guard let d = Timestamp.parse(s) else { return "<invalid>" }
            return .string(Timestamp.human(now.timeIntervalSince(d)))
        default:
            return .null
        }
    }

    static func rowObject(_ obj: JSONValue, includeObject: String) -> JSONValue? {
        switch includeObject {
        case "None": return nil
        case "Object": return obj
        default: return partialMetadata(obj)
        }
    }

    static func partialMetadata(_ obj: JSONValue) -> JSONValue {
        ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"] ?? [:]]
    }

    static func table(_ t: ResourceType, _ objects: [JSONValue], metadata: JSONValue, includeObject: String,
                      withColumns: Bool = true, now: Date) -> JSONValue
    {
        let rows: [JSONValue] = objects.map { obj in
            var row: JSONValue = ["cells": .array(cells(obj, t, now: now))]
            if let o = rowObject(obj, includeObject: includeObject) { row["object"] = o }
            return row
        }
        var table: JSONValue = ["kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "rows": .array(rows)]
        table["columnDefinitions"] = withColumns ? .array(columns(t).map(\.json)) : .null
        return table
    }
}

/// The small JSONPath subset printer columns use: `.a.b`, `.a[0]`, `.a[*].b`,
/// `.a[?(@.type=="Ready")].status`, optionally wrapped in `{}`.
enum SimpleJSONPath {
    static func evaluate(_ path: String, _ root: JSONValue) -> [JSONValue] {
        var p = path.trimmingCharacters(in: .whitespaces)
        if p.hasPrefix("{"), p.hasSuffix("}") { p = String(p.dropFirst().dropLast()) }
        if p.hasPrefix("$") { p.removeFirst() }
        var current: [JSONValue] = [root]
        var rest = Substring(p)
        while !rest.isEmpty {
            if rest.hasPrefix(".") {
                rest = rest.dropFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" }
                rest = rest.dropFirst(name.count)
                if name.isEmpty { continue }
                current = current.compactMap { $0[String(name)] }
            } else if rest.hasPrefix("[") {
                guard let close = matchingBracket(rest) else { return [] }
                let inner = rest[rest.index(after: rest.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                rest = rest[rest.index(after: close)...]
                current = current.flatMap { v -> [JSONValue] in
                    guard let items = v.arrayValue else { return [] }
                    if inner == "*" { return items }
                    if let i = Int(inner) { return items.indices.contains(i) ? [items[i]] : (i < 0 && items.count + i >= 0 ? [items[items.count + i]] : []) }
                    if inner.hasPrefix("?(") { return items.filter { filterMatches(String(inner.dropFirst(2).dropLast()), $0) } }
                    return []
                }
            } else {
                let name = rest.prefix { $0 != "." && $0 != "[" }
                rest = rest.dropFirst(name.count)
                current = current.compactMap { $0[String(name)] }
            }
        }
        return current
    }

    private static func matchingBracket(_ s: Substring) -> Substring.Index? {
        var depth = 0
        var quote: Character?
        for i in s.indices {
            let c = s[i]
            if let q = quote { if c == q { quote = nil }; continue }
            if c == "\"" || c == "'" { quote = c; continue }
            if c == "[" { depth += 1 }
            if c == "]" { depth -= 1; if depth == 0 { return i } }
        }
        return nil
    }

    /// `@.type=="Ready"`, `@.type!='x'`, `@.ready` (existence).
    private static func filterMatches(_ expr: String, _ item: JSONValue) -> Bool {
        for op in ["==", "!="] {
            guard let r = expr.range(of: op) else { continue }
            let lhs = expr[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
            var rhs = expr[r.upperBound...].trimmingCharacters(in: .whitespaces)
            if rhs.count >= 2, rhs.first == "\"" || rhs.first == "'" { rhs = String(rhs.dropFirst().dropLast()) }
            let values = evaluate(String(lhs.dropFirst()), item)
            let have = values.first.map { v -> String in
                switch v {
                case .string(let s): s
                case .int(let i): String(i)
                case .bool(let b): b ? "true" : "false"
                default: v.jsonString
                }
            }
            return op == "==" ? have == rhs : have != rhs
        }
        return !evaluate(String(expr.trimmingCharacters(in: .whitespaces).dropFirst()), item).isEmpty
    }
}
