#if canImport(Glibc)
import Glibc
#endif

/// Hands free heap pages back to the kernel. Decoding a large LIST builds a transient JSON tree
/// many times the size of the cached objects; glibc keeps those freed pages in its arenas, so an
/// idle operator would otherwise hold its peak footprint for ever.
enum FreeMemory {
    #if canImport(Glibc)
    /// glibc's `malloc_trim` (declared in <malloc.h>, which the Glibc module does not export).
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()
    #endif

    static func releaseToSystem() {
        #if canImport(Glibc)
        _ = trim?(0)
        #endif
    }
}
