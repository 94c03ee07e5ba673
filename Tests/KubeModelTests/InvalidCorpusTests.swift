import BackstopCore
import Foundation
import Testing

/// Each file under Invalid/ starts with `# expect-field:` and `# expect-message:` headers; the
/// validator must report an error at exactly that field whose message contains the fragment.
@Suite("Invalid manifests")
struct InvalidCorpusTests {
    static let files = Repo.files(in: "Tests/KubeModelTests/Invalid")

    @Test func corpusIsLargeEnough() { #expect(Self.files.count >= 40) }

    @Test(arguments: files)
    func reportsExpectedProblem(_ file: URL) throws {
        let text = try Repo.text(file)
        let header = Dictionary(text.split(separator: "\n").prefix(3).compactMap { line -> (String, String)? in
            guard line.hasPrefix("# "), let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[line.index(line.startIndex, offsetBy: 2)..<colon]),
                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }, uniquingKeysWith: { a, _ in a })
        let field = try #require(header["expect-field"])
        let fragment = try #require(header["expect-message"])
        let issues = try validateStream(text).filter { $0.severity == .error }
        #expect(issues.contains { $0.path.description == field && $0.message.contains(fragment) },
                "\(file.lastPathComponent): expected \(field): …\(fragment)…, got \(issues.map(\.description))")
    }
}
