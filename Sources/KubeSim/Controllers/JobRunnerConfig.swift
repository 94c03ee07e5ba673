import DynamicJSON
import Foundation
import Synchronization

/// The Job runner's live settings: which local command stands for which image.
public final class JobRunnerConfig: Sendable {
    private struct State {
        var images: [String: [String]]
        var environment: [String: String]
    }
    private let state: Mutex<State>
    public let retryDelay: TimeInterval

    init(_ options: JobRunnerOptions) throws {
        var images = options.images
        if let file = options.imageMapFile {
            let parsed = try JSONValue(parsing: Array(try Data(contentsOf: file)))
            for (image, command) in parsed.objectValue ?? [:] {
                images[image] = (command.arrayValue ?? []).compactMap(\.stringValue)
            }
        }
        state = Mutex(State(images: images, environment: options.environment))
        retryDelay = options.retryDelay
    }

    /// Maps `image` (exact, or without its tag/digest) to a command prefix.
    public func setImage(_ image: String, command: [String]) {
        state.withLock { $0.images[image] = command }
    }

    public func setEnvironment(_ name: String, _ value: String?) {
        state.withLock { $0.environment[name] = value }
    }

    func entrypoint(for image: String) -> [String]? {
        state.withLock { s in
            if let exact = s.images[image] { return exact }
            var base = image
            if let at = base.firstIndex(of: "@") { base = String(base[..<at]) }
            if let colon = base.lastIndex(of: ":"), !base[colon...].contains("/") { base = String(base[..<colon]) }
            return s.images[base]
        }
    }

    var environment: [String: String] { state.withLock { $0.environment } }
}
