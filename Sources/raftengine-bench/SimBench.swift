import RaftCore
import RaftSim

/// How fast the pure core runs: a 3-node simulated cluster (no I/O, no codec copies beyond the
/// simulator's own round trip) committing commands as fast as it can.
enum SimBench {
    struct Result {
        var commands: Int
        var seconds: Double
        var messages: Int
        var commandsPerSecond: Double { Double(commands) / seconds }
        var messagesPerSecond: Double { Double(messages) / seconds }
    }

    static func run(commands: Int, batch: Int, withCodec: Bool) -> Result {
        var o = SimCluster.Options(nodeCount: 3)
        o.settings.maxEntriesPerMessage = 64
        o.settings.maxInflight = 64
        let c = SimCluster(o)
        c.tracing = false
        c.checkWireCodec = withCodec
        c.elect(c.id(1))
        var messages = 0
        c.filter = { _ in
            messages += 1
            return .deliver
        }
        let leader = c.id(1)
        let payload = [UInt8](repeating: 7, count: 64)
        let clock = ContinuousClock()
        var nextID: UInt64 = 1
        let start = clock.now
        var proposed = 0
        while proposed < commands {
            c.with(leader) { raft in
                for _ in 0..<min(batch, commands - proposed) {
                    raft.propose(payload, id: nextID)
                    nextID += 1
                    proposed += 1
                }
            }
            c.deliverAll()
        }
        let elapsed = clock.now - start
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        precondition(c.node(1).raft!.appliedIndex >= LogIndex(commands), "benchmark did not commit everything")
        return Result(commands: commands, seconds: secs, messages: messages)
    }

    static func main() {
        print("simulator (3 nodes, in-memory, timers off, 64-byte commands)")
        print("batch  codec  commands  seconds  commands/s  messages/s")
        for withCodec in [false, true] {
            for batch in [1, 64, 1024] {
                let r = run(commands: batch == 1 ? 50_000 : 500_000, batch: batch, withCodec: withCodec)
                print(String(format: "%5d  %5@  %8d  %7.3f  %10.0f  %10.0f", batch, withCodec ? "yes" : "no", r.commands, r.seconds, r.commandsPerSecond, r.messagesPerSecond))
            }
        }
    }
}
