import Logging
import ServiceLifecycle

/// Once the manager is ready (caches listed, leadership known) and `settle` has passed (the
/// first reconcile of every object is over), pages out what start-up alone touched
/// (`FreeMemory.pageOutFileMappings`) and logs the resident set before and after. The code the
/// operator runs from then on is packed together in the image's build (image/backstop.order),
/// so little of it comes back: idle 28 → 23 MiB. A `Service` that returns after its one pass;
/// run it with `successTerminationBehavior: .ignore`.
public struct StartupPageOut: Service {
    public let settle: Duration
    private let isReady: @Sendable () -> Bool
    private let logger: Logger

    public init(settle: Duration, logger: Logger, isReady: @escaping @Sendable () -> Bool) {
        self.settle = settle
        self.isReady = isReady
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !isReady() {
                guard (try? await Task.sleep(for: .seconds(1))) != nil else { return }
            }
            guard (try? await Task.sleep(for: settle)) != nil else { return }
            let before = FreeMemory.residentBytes()
            let advised = FreeMemory.pageOutFileMappings()
            let after = FreeMemory.residentBytes()
            logger.info("paged out start-up pages", metadata: [
                "rssBeforeKiB": "\(before.total >> 10)", "rssAfterKiB": "\(after.total >> 10)",
                "fileBackedBeforeKiB": "\(before.file >> 10)", "fileBackedAfterKiB": "\(after.file >> 10)",
                "advisedKiB": "\(advised >> 10)"])
        }
    }
}
