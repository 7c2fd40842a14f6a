// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "RaftEngine",
    products: [
        .library(name: "RaftCore", targets: ["RaftCore"]),
        .library(name: "RaftStorage", targets: ["RaftStorage"]),
        .library(name: "RaftSim", targets: ["RaftSim"]),
        .library(name: "RaftUV", targets: ["RaftUV"]),
        // libraftengine.so: the C ABI of include/raftengine.h.
        .library(name: "raftengine", type: .dynamic, targets: ["RaftEngineC"]),
        .executable(name: "raftengine-node", targets: ["raftengine-node"]),
        .executable(name: "raftengine-bench", targets: ["raftengine-bench"]),
    ],
    dependencies: [],
    targets: [
        // Pure protocol: no clock, no thread, no file, no socket.
        .target(name: "RaftCore"),
        // The CPU's CRC-32C instruction where there is one (C: Swift has no portable intrinsic).
        .target(name: "CCRC32C"),
        // O_DIRECT, which Swift's Glibc module does not import.
        .target(name: "CFileFlags"),
        .target(name: "RaftStorage", dependencies: ["RaftCore", "CCRC32C", "CFileFlags"]),
        .target(name: "RaftSim", dependencies: ["RaftCore", "RaftStorage"]),
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        // OpenSSL's libcrypto for peer authentication (HMAC-SHA256, nonces): no hand-written
        // crypto, and no Foundation as a Swift crypto package would bring.
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // The runtime: nodes on a libuv loop thread, TCP transport, timers, group commit.
        // Swift 5 mode: libuv callbacks and the loop thread are an isolation the compiler
        // cannot see; the loop-thread rule is documented on each type instead.
        .target(name: "RaftUV", dependencies: ["RaftCore", "RaftStorage", "CLibUV", "CLibCrypto"],
                swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(name: "CRaftEngineABI"),
        .target(name: "RaftEngineC", dependencies: ["RaftUV", "RaftCore", "RaftSim", "CRaftEngineABI"],
                swiftSettings: [.swiftLanguageMode(.v5)]),
        // raftengine-node's replicated key-value store and its Redis-protocol codec.
        .target(name: "RaftKV", dependencies: ["RaftCore"], exclude: ["COMMANDS.md"]),
        // Helpers shared by the tests and the benchmark (free loopback ports, raw connections).
        .target(name: "RaftTestSupport"),
        // Its flags are parsed by hand (NodeFlags) and it links no Foundation, so a static build
        // runs anywhere with no toolchain; the version comes from the C header's macro.
        .executableTarget(name: "raftengine-node",
                          dependencies: ["RaftUV", "RaftKV", "RaftCore", "CRaftEngineABI"],
                          swiftSettings: [.swiftLanguageMode(.v5)]),
        // Swift 5 mode: the cluster suite's completions run on libuv loop threads (see RaftUV).
        .executableTarget(name: "raftengine-bench", dependencies: ["RaftCore", "RaftStorage", "RaftSim", "RaftUV", "RaftTestSupport"],
                          swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "RaftCoreTests", dependencies: ["RaftCore", "RaftStorage"]),
        .testTarget(name: "RaftUVTests", dependencies: ["RaftUV", "RaftCore", "RaftStorage", "RaftTestSupport"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "RaftKVTests", dependencies: ["RaftKV", "RaftCore"]),
        .testTarget(name: "RaftStorageTests", dependencies: ["RaftCore", "RaftStorage"]),
        .testTarget(name: "RaftSimTests", dependencies: ["RaftCore", "RaftStorage", "RaftSim"]),
        // The C ABI's Swift side (the host-storage adapter) against the same references, and the C
        // fault mode against RaftSim's FaultRunner.
        .testTarget(name: "RaftEngineCTests", dependencies: ["RaftEngineC", "RaftCore", "RaftStorage", "RaftSim", "CRaftEngineABI"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
