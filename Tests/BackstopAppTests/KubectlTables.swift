import Foundation

/// `kubectl get a,b,c -A` output read back as tables: one per kind (blocks separated by a blank
/// line), cells cut at the header's column starts (kubectl left-aligns every column).
struct KubectlTables {
    struct Table {
        var headers: [String]
        var rows: [[String: String]]

        /// The row whose NAME is `kind.group/name` or `name`.
        func row(_ name: String) -> [String: String]? {
            rows.first { ($0["NAME"] ?? "").split(separator: "/").last.map(String.init) == name }
        }
    }

    /// Keyed by the NAME column's resource prefix, e.g. `backuppolicy.backstop.dev`.
    var tables: [String: Table] = [:]

    init(_ text: String) {
        for block in text.components(separatedBy: "\n\n") {
            let lines = block.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            guard let header = lines.first, lines.count > 1 else { continue }
            let starts = Self.columnStarts(header)
            let headers = starts.map { Self.cut(header, $0, starts) }
            let rows = lines.dropFirst().map { line in
                Dictionary(zip(headers, starts.map { Self.cut(line, $0, starts) }), uniquingKeysWith: { a, _ in a })
            }
            guard let kind = rows.first?["NAME"]?.split(separator: "/").first, rows.first?["NAME"]?.contains("/") == true else { continue }
            tables[String(kind)] = Table(headers: headers, rows: rows)
        }
    }

    /// Header names are upper case words joined by single spaces; columns by two or more.
    static func columnStarts(_ header: String) -> [Int] {
        let chars = Array(header)
        var starts: [Int] = []
        for i in chars.indices where chars[i] != " " && (i == 0 || (i >= 2 && chars[i - 1] == " " && chars[i - 2] == " ")) {
            starts.append(i)
        }
        return starts
    }

    static func cut(_ line: String, _ start: Int, _ starts: [Int]) -> String {
        let chars = Array(line)
        guard start < chars.count else { return "" }
        let end = starts.first { $0 > start }.map { min($0, chars.count) } ?? chars.count
        return String(chars[start..<end]).trimmingCharacters(in: .whitespaces)
    }

    /// The only row of a one-kind `kubectl get` (plain NAMEs), by header.
    static func single(_ text: String) -> [String: String]? {
        let lines = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        guard lines.count == 2 else { return nil }
        let starts = columnStarts(lines[0])
        return Dictionary(zip(starts.map { cut(lines[0], $0, starts) }, starts.map { cut(lines[1], $0, starts) }),
                          uniquingKeysWith: { a, _ in a })
    }
}
