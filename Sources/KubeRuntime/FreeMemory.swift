#if canImport(Glibc)
import Glibc
#endif

/// Hands free heap pages back to the kernel. Decoding a large LIST builds a transient JSON tree
/// many times the size of the cached objects; glibc keeps those freed pages in its arenas, so an
/// idle operator would otherwise hold its peak footprint for ever.
public enum FreeMemory {
    #if canImport(Glibc)
    /// glibc's `malloc_trim` (declared in <malloc.h>, which the Glibc module does not export).
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()
    #endif

    /// At most `count` glibc malloc arenas (glibc's default is 8 per core, one more for each
    /// thread that allocates while the others are busy): each arena keeps its own free pages,
    /// which at 10,000 policies held 21 MiB. Call first thing in `main`, before threads start;
    /// a `MALLOC_ARENA_MAX` set in the environment wins.
    public static func limitArenas(_ count: Int32 = 2) {
        #if canImport(Glibc)
        guard getenv("MALLOC_ARENA_MAX") == nil, let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        let arenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
        _ = mallopt(arenaMax, count)
        #endif
    }

    static func releaseToSystem() {
        #if canImport(Glibc)
        _ = trim?(0)
        #endif
    }
}
