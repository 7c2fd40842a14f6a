// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "RaftEngine",
    products: [
        .library(name: "RaftCore", targets: ["RaftCore"]),
        .library(name: "RaftStorage", targets: ["RaftStorage"]),
        .library(name: "RaftSim", targets: ["RaftSim"]),
        .executable(name: "raftengine-bench", targets: ["raftengine-bench"]),
    ],
    targets: [
        // Pure protocol: no clock, no thread, no file, no socket.
        .target(name: "RaftCore"),
        .target(name: "RaftStorage", dependencies: ["RaftCore"]),
        .target(name: "RaftSim", dependencies: ["RaftCore", "RaftStorage"]),
        // raftengine-node's replicated key-value store and its Redis-protocol codec.
        .target(name: "RaftKV", dependencies: ["RaftCore"]),
        .executableTarget(name: "raftengine-bench", dependencies: ["RaftCore", "RaftStorage", "RaftSim"]),
        .testTarget(name: "RaftCoreTests", dependencies: ["RaftCore", "RaftStorage"]),
        .testTarget(name: "RaftKVTests", dependencies: ["RaftKV", "RaftCore"]),
        .testTarget(name: "RaftStorageTests", dependencies: ["RaftCore", "RaftStorage"]),
        .testTarget(name: "RaftSimTests", dependencies: ["RaftCore", "RaftStorage", "RaftSim"]),
    ]
)
