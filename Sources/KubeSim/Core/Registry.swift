/// All served resources: the built-ins plus the versions of every established CRD.
/// A value type kept inside the store's lock, so a CRD write and its endpoints change together.
struct Registry: Sendable {
    struct Key: Hashable, Sendable {
        var group: String
        var version: String
        var resource: String
    }

    private(set) var types: [Key: ResourceType] = [:]
    /// CRD name → the keys it registered.
    private var crdKeys: [String: [Key]] = [:]
    /// Group → versions in preference order.
    private(set) var groupVersions: [String: [String]] = [:]
    private var groupOrder: [String] = BuiltinResources.groupOrder

    init() {
        for t in BuiltinResources.all { insert(t) }
        rebuildVersions()
    }

    private mutating func insert(_ t: ResourceType) {
        types[Key(group: t.group, version: t.version, resource: t.resource)] = t
    }

    func lookup(group: String, version: String, resource: String) -> ResourceType? {
        types[Key(group: group, version: version, resource: resource)]
    }

    /// The type for an object's apiVersion and kind.
    func lookup(apiVersion: String, kind: String) -> ResourceType? {
        let (group, version) = splitAPIVersion(apiVersion)
        return types.values.first { $0.group == group && $0.version == version && $0.kind == kind }
    }

    /// Resources of one group-version, sorted by name.
    func resources(group: String, version: String) -> [ResourceType] {
        types.values.filter { $0.group == group && $0.version == version }.sorted { $0.resource < $1.resource }
    }

    /// Groups in discovery order (core "" first).
    var groups: [String] { groupOrder.filter { groupVersions[$0] != nil } }

    /// The type objects of this storage resource are stored as (used by controllers and the GC).
    func storageType(_ gr: GroupResource) -> ResourceType? {
        let candidates = types.values.filter { $0.storage == gr && $0.groupResource == gr }
        return candidates.first { $0.apiVersion == $0.storageAPIVersion } ?? candidates.first
    }

    /// The preferred served type for a group and resource.
    func preferred(_ gr: GroupResource) -> ResourceType? {
        for version in groupVersions[gr.group] ?? [] {
            if let t = lookup(group: gr.group, version: version, resource: gr.resource) { return t }
        }
        return nil
    }

    /// Replaces everything a CRD registered with `newTypes` (empty to unregister).
    mutating func setCRD(_ name: String, _ newTypes: [ResourceType]) {
        for key in crdKeys[name] ?? [] { types[key] = nil }
        crdKeys[name] = nil
        var keys: [Key] = []
        for t in newTypes {
            let key = Key(group: t.group, version: t.version, resource: t.resource)
            types[key] = t
            keys.append(key)
        }
        if !keys.isEmpty { crdKeys[name] = keys }
        for t in newTypes where !groupOrder.contains(t.group) { groupOrder.append(t.group) }
        rebuildVersions()
    }

    private mutating func rebuildVersions() {
        var byGroup: [String: Set<String>] = [:]
        for key in types.keys { byGroup[key.group, default: []].insert(key.version) }
        groupVersions = byGroup.mapValues { $0.sorted(by: versionPriorityHigher) }
    }
}

/// Splits "apps/v1" into ("apps", "v1") and "v1" into ("", "v1").
func splitAPIVersion(_ apiVersion: String) -> (group: String, version: String) {
    if let slash = apiVersion.lastIndex(of: "/") {
        return (String(apiVersion[..<slash]), String(apiVersion[apiVersion.index(after: slash)...]))
    }
    return ("", apiVersion)
}

/// Kubernetes version priority: GA > beta > alpha, higher numbers first; others alphabetical last.
func versionPriorityHigher(_ a: String, _ b: String) -> Bool {
    func parse(_ v: String) -> (rank: Int, major: Int, minor: Int)? {
        guard v.hasPrefix("v") else { return nil }
        let rest = v.dropFirst()
        let digits = rest.prefix { $0.isNumber }
        guard let major = Int(digits) else { return nil }
        let tail = rest.dropFirst(digits.count)
        if tail.isEmpty { return (3, major, 0) }
        for (word, rank) in [("beta", 2), ("alpha", 1)] where tail.hasPrefix(word) {
            if let minor = Int(tail.dropFirst(word.count)) { return (rank, major, minor) }
        }
        return nil
    }
    switch (parse(a), parse(b)) {
    case let (x?, y?):
        if x.rank != y.rank { return x.rank > y.rank }
        if x.major != y.major { return x.major > y.major }
        return x.minor > y.minor
    case (.some, nil): return true
    case (nil, .some): return false
    case (nil, nil): return a < b
    }
}
