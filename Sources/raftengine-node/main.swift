// raftengine-node: a replicated key-value server speaking the Redis protocol.
#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI

setvbuf(stdout, nil, _IOLBF, 0)
let version = RAFTENGINE_VERSION_STRING

/// Input the node refuses is one line on stderr and exit status 2, never a usage dump.
func refuse(_ e: Error) -> Never {
    fputs("raftengine-node: \(e)\n", stderr)
    exit(2)
}

do {
    var flags = try NodeFlags(arguments: Array(CommandLine.arguments.dropFirst()))
    if flags.has("help") {
        print(NodeFlags.help(version: version), terminator: "")
        exit(0)
    }
    if flags.has("version") {
        print("raftengine-node \(version)")
        exit(0)
    }
    if let path = flags.value("config") {
        guard let text = try NodeFiles.readText(path) else {
            throw NodeFlags.UsageError(description: "--config \(path): no such file")
        }
        try flags.merge(configFile: path, text: text)
    }
    if let status = try NodeRepair.run(flags) { exit(status) }
    exit(try NodeRunner.run(try NodeLaunch(flags)))
} catch let e as NodeFlags.UsageError {
    refuse(e)
} catch let e as NodeFiles.Failure {
    refuse(e)
} catch {
    fputs("raftengine-node: \(error)\n", stderr)
    exit(1)
}
