// raftengine-bench: prints measured figures; never part of the test suite.
import Glibc

// Line-buffered even into a pipe, so rows appear as they are measured.
setvbuf(stdout, nil, _IOLBF, 0)
let args = Array(CommandLine.arguments.dropFirst())
let suite = args.first ?? "all"
switch suite {
case "sim":
    SimBench.main()
case "storage":
    StorageBench.main()
case "cluster":
    ClusterBench.main()
case "all":
    SimBench.main()
    print("")
    StorageBench.main()
    print("")
    ClusterBench.main()
case "sim-profile":
    // One configuration only, for profilers.
    let r = SimBench.run(commands: 100_000, batch: 1024, withCodec: false)
    print(r.commandsPerSecond)
case "cluster-profile":
    // 64-byte commands, for profilers: cluster-profile [one-host|host-per-node] [seconds] [in-flight...]
    let mode = args.count > 1 ? BenchCluster.HostMode(rawValue: args[1]) ?? .shared : .shared
    let seconds = args.count > 2 ? Double(args[2]) ?? 10 : 10
    let inFlights = args.count > 3 ? args[3...].compactMap { Int($0) } : [1024]
    ClusterBench.profileMain(mode: mode, seconds: seconds, inFlights: inFlights)
case "side-trial":
    // One trial for bench/canonical/run.py: side-trial MODE SECONDS IN_FLIGHT SNAPSHOT_THRESHOLD [PAYLOAD]
    let mode = args.count > 1 ? BenchCluster.HostMode(rawValue: args[1]) ?? .perNode : .perNode
    let seconds = args.count > 2 ? Double(args[2]) ?? 3 : 3
    let inFlight = args.count > 3 ? Int(args[3]) ?? 1 : 1
    let threshold = args.count > 4 ? UInt64(args[4]) ?? 0 : 0
    let payload = args.count > 5 ? Int(args[5]) ?? 64 : 64
    ClusterBench.sideTrialMain(mode: mode, seconds: seconds, inFlight: inFlight, snapshotThreshold: threshold, payload: payload)
case "cluster-memory":
    // Internal: the memory row of `cluster`, run in a fresh process.
    ClusterBench.memoryMain(mode: args.count > 1 ? BenchCluster.HostMode(rawValue: args[1]) ?? .shared : .shared)
default:
    print("usage: raftengine-bench [sim|storage|cluster|all|sim-profile|cluster-profile [one-host|host-per-node] [seconds] [in-flight...]]")
}
