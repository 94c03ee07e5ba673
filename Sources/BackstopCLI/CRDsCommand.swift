import ArgumentParser
import Foundation
import KubeModel
import YAML

/// `backstop crds`: the CustomResourceDefinitions, generated from the Swift schema.
struct CRDsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crds",
        abstract: "Print the Backstop CRDs (multi-document YAML), or write them and the field reference to directories.")

    @Option(name: [.short, .long], help: "Write one file per CRD into this directory (e.g. crds) instead of printing.")
    var outputDir: String?

    @Option(help: "Also write the Markdown field reference into this directory (e.g. docs/reference).")
    var referenceDir: String?

    func run() throws {
        if let dir = outputDir {
            for kind in Backstop.kinds {
                try write(try GeneratedFiles.crdYAML(kind), to: URL(fileURLWithPath: dir).appendingPathComponent(kind.crdFileName))
            }
        } else {
            print(try Backstop.kinds.map(GeneratedFiles.crdYAML).joined(separator: "---\n"), terminator: "")
        }
        if let dir = referenceDir {
            for kind in Backstop.kinds {
                try write(kind.referenceMarkdown, to: URL(fileURLWithPath: dir).appendingPathComponent(kind.referenceFileName))
            }
        }
    }

    private func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
}

enum GeneratedFiles {
    /// Exactly what `crds/` holds (a test compares byte for byte).
    static func crdYAML(_ kind: KindDescription) throws -> String {
        KindDescription.crdHeader + (try YAML.emit(kind.crd))
    }
}
