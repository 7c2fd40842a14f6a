// raftengine-bench: prints measured figures; never part of the test suite.
let args = CommandLine.arguments.dropFirst()
let suite = args.first ?? "all"
switch suite {
case "sim":
    SimBench.main()
case "storage":
    StorageBench.main()
case "all":
    SimBench.main()
    print("")
    StorageBench.main()
case "sim-profile":
    // One configuration only, for profilers.
    let r = SimBench.run(commands: 100_000, batch: 1024, withCodec: false)
    print(r.commandsPerSecond)
default:
    print("usage: raftengine-bench [sim|storage|all]")
}
