// swift-tools-version: 6.1
// Backstop: a Kubernetes operator that turns backup, restore, drill, retention and rotation
// runbooks into custom resources. Module layout: see README.md.
import PackageDescription
import Foundation

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
]
let log: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")

// The release `backstop` resident pages: the static-stdlib link exports every symbol of the
// program (a 2.5 MB dynamic symbol table the loader reads) and writes 110k relative relocations
// (2.6 MB) that lld packs into 20 KB (RELR, glibc ≥ 2.36). Together 4 MiB less RSS per process.
// The image's build (hack/build-lean.sh) also orders the functions `backstop run` executes.
let leanRelease: [LinkerSetting] = [.unsafeFlags(
    ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"],
    .when(platforms: [.linux], configuration: .release))]

var targets: [Target] = [
    // System libraries: each is imported by exactly one Swift module.
    .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
    .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
    .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),

    .target(name: "DynamicJSON"),
    // Day-number calendar arithmetic: the bottom layer, so Postgres, KubeModel and BackstopCore share one copy.
    .target(name: "CivilCalendar"),
    .target(name: "HTTP", dependencies: ["CCurl", log]),
    .target(name: "Postgres", dependencies: ["CLibPQ", "CivilCalendar", log]),
    .target(name: "YAML", dependencies: ["CYAML", "DynamicJSON"]),
    .target(name: "KubeModel", dependencies: ["CivilCalendar", "DynamicJSON"]),
    .target(name: "KubeClient", dependencies: ["HTTP", "YAML", "KubeModel", "DynamicJSON", log, metrics]),
    .target(name: "KubeRuntime", dependencies: [
        "KubeClient", "KubeModel", log, metrics,
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    ] + nio),
    .target(name: "BackstopCore", dependencies: ["CivilCalendar", "KubeModel", "DynamicJSON", "YAML"]),
    // The agent spec and report types: the one contract both planes compile against.
    .target(name: "AgentContract", dependencies: ["BackstopCore", "DynamicJSON", "KubeModel"]),
    .target(name: "Agent", dependencies: [
        "AgentContract", "BackstopCore", "HTTP", "Postgres", "DynamicJSON", log,
        .product(name: "Crypto", package: "swift-crypto"),
    ]),
    .target(name: "Controllers", dependencies: ["AgentContract", "BackstopCore", "DynamicJSON", "HTTP", "KubeRuntime", "KubeClient", "KubeModel", log, metrics]),
    .target(name: "BackstopApp", dependencies: [
        "Controllers", "KubeRuntime", "KubeClient", "KubeModel", "BackstopCore", "YAML", "DynamicJSON", log, metrics,
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    ]),
    // The embedded demo: kept out of BackstopApp so the operator executable links no simulator.
    .target(name: "BackstopDemo", dependencies: [
        "BackstopApp", "KubeSim", "KubeRuntime", "KubeClient", "KubeModel", "YAML", "DynamicJSON", log,
    ]),
    // The chaos run (kills, API faults, two replicas, invariants): backstop-bench chaos and its CI profile.
    .target(name: "BackstopChaos", dependencies: ["BackstopApp", "BackstopCore", "BackstopDemo", "DynamicJSON", "KubeModel", "KubeSim"]),
    // `agent …` as a subcommand of both executables (the demo's Jobs run the demo binary).
    .target(name: "AgentCLI", dependencies: ["Agent", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    .target(name: "KubeSim", dependencies: [
        "CivilCalendar", "DynamicJSON", "YAML", log,
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "Crypto", package: "swift-crypto"),
    ] + nio),
    // Shared by tests and benchmarks only: starts and finds real servers on loopback.
    .target(name: "TestSupport", dependencies: ["DynamicJSON"], path: "Tests/TestSupport"),

    // The shipped binary: operator, agent and user tools; no simulator, no demo.
    .executableTarget(name: "BackstopCLI", dependencies: [
        "AgentCLI", "BackstopApp", "Controllers", "KubeRuntime", "KubeClient", "KubeModel", "BackstopCore", "YAML", log,
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    ], linkerSettings: leanRelease),
    .executableTarget(name: "BackstopDemoCLI", dependencies: [
        "AgentCLI", "BackstopDemo", "BackstopApp", "KubeRuntime", log,
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ]),
    .executableTarget(name: "KubeSimCLI", dependencies: [
        "KubeSim", log, .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ]),
    .executableTarget(name: "BackstopBench", dependencies: [
        "HTTP", "Postgres", "KubeSim", "KubeClient", "KubeRuntime", "Agent", "BackstopCore", "BackstopApp", "BackstopChaos", "BackstopDemo", "Controllers", "TestSupport", log,
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ]),
]

let testTargets: [(String, [Target.Dependency])] = [
    ("DynamicJSONTests", ["DynamicJSON"]),
    ("HTTPTests", ["HTTP", "TestSupport"]),
    ("PostgresTests", ["Postgres", "TestSupport"]),
    ("YAMLTests", ["YAML", "DynamicJSON"]),
    ("KubeSimTests", ["KubeSim", "TestSupport", "DynamicJSON", "HTTP"]),
    ("KubeModelTests", ["KubeModel", "BackstopCore", "YAML", "TestSupport", "KubeSim"]),
    ("KubeRuntimeTests", ["KubeRuntime", "KubeClient", "KubeSim", "TestSupport"]),
    ("BackstopCoreTests", ["BackstopCore", "CivilCalendar", "KubeModel"]),
    ("AgentTests", ["Agent", "BackstopCore", "Postgres", "HTTP", "TestSupport"]),
    ("ControllersTests", ["Controllers", "BackstopApp", "BackstopChaos", "KubeSim", "Agent", "HTTP", "TestSupport"]),
    ("BackstopAppTests", ["BackstopApp", "BackstopChaos", "BackstopDemo", "Controllers", "KubeSim", "Agent", "KubeClient", "Postgres", "HTTP", "TestSupport"]),
]
for (name, deps) in testTargets where FileManager.default.fileExists(atPath: "Tests/\(name)") {
    // Fixture folders that tests read by path, not compiled sources.
    let fixtures = ["Invalid"].filter { FileManager.default.fileExists(atPath: "Tests/\(name)/\($0)") }
    targets.append(.testTarget(name: name, dependencies: deps, exclude: fixtures))
}

let executables = [("backstop", "BackstopCLI"), ("backstop-demo", "BackstopDemoCLI"), ("kube-sim", "KubeSimCLI"),
                   ("backstop-bench", "BackstopBench")]
var products: [Product] { executables.filter { name, target in targets.contains { $0.name == target } }
    .map { name, target in Product.executable(name: name, targets: [target]) } }

// Development aid: BACKSTOP_ONLY=HTTP,HTTPTests keeps just those targets and what they depend
// on, so one module can be built and tested while another is half-written.
if let only = ProcessInfo.processInfo.environment["BACKSTOP_ONLY"], !only.isEmpty {
    let byName = Dictionary(uniqueKeysWithValues: targets.map { ($0.name, $0) })
    var keep = Set<String>()
    var pending = only.split(separator: ",").map(String.init)
    while let name = pending.popLast() {
        guard keep.insert(name).inserted, let target = byName[name] else { continue }
        for dep in target.dependencies {
            if case .byNameItem(let depName, _) = dep { pending.append(depName) }
            if case .targetItem(let depName, _) = dep { pending.append(depName) }
        }
    }
    targets = targets.filter { keep.contains($0.name) }
}

let package = Package(
    name: "Backstop",
    platforms: [.macOS(.v15)],
    products: products,
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.0.0"),
    ],
    targets: targets,
    swiftLanguageModes: [.v6]
)
