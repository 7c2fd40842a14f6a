import RaftCore
import RaftKV

/// The data commands: classified by the state machine (RaftKV), writes replicated through
/// the Raft log carrying the leader's clock (TTLs judge by it on every replica), reads served
/// by the leader after a ReadIndex check, MULTI/EXEC as one log entry.
extension KVServer {
    func dataCommand(_ name: String, _ args: [[UInt8]], _ s: ClientSession, _ reply: @escaping Respond) {
        switch name {
        case "MULTI":
            guard s.queued == nil else { return reply(RESPValue.error("ERR MULTI calls can not be nested").encoded) }
            s.queued = []
            s.multiFailed = false
            return reply(RESPValue.ok.encoded)
        case "EXEC":
            guard let queued = s.queued else { return reply(RESPValue.error("ERR EXEC without MULTI").encoded) }
            s.queued = nil
            if s.multiFailed {
                return reply(RESPValue.error("EXECABORT Transaction discarded because of previous errors.").encoded)
            }
            if queued.isEmpty { return reply(RESPValue.array([]).encoded) }
            return write(.transaction(nowMs: leaderTime(), commands: queued), key: queued.first.flatMap { $0.count > 1 ? $0[1] : nil }, reply)
        case "DISCARD":
            guard s.queued != nil else { return reply(RESPValue.error("ERR DISCARD without MULTI").encoded) }
            s.queued = nil
            return reply(RESPValue.ok.encoded)
        case "WATCH", "UNWATCH":
            return reply(RESPValue.error("ERR WATCH is not supported (every write goes through the Raft log; MULTI/EXEC is atomic)").encoded)
        default:
            break
        }
        let key = args.count > 1 ? args[1] : nil
        switch KVStateMachine.classify(args) {
        case .write:
            write(.exec(nowMs: leaderTime(), args: args), key: key, reply)
        case .read:
            read(key: key, reply) { m, now in m.read(args, nowMs: now) }
        case .unknown(let error), .arity(let error):
            reply(error.encoded)
        }
    }

    /// A command given inside MULTI: checked now (a bad one aborts EXEC), run at EXEC.
    func queueInMulti(_ args: [[UInt8]], name: String, session s: ClientSession, reply: Respond) {
        switch KVStateMachine.classify(args) {
        case .write, .read:
            s.queued?.append(args)
            reply(RESPValue.simple("QUEUED").encoded)
        case .unknown(let error), .arity(let error):
            s.multiFailed = true
            reply(error.encoded)
        }
    }

    /// The time a write carries: the leader's clock, never behind what was applied already
    /// (a new leader whose clock is behind its predecessor's must not move TTLs backwards).
    func leaderTime() -> UInt64 { max(wallClockMs(), machine.lastAppliedTime) }

    private func write(_ cmd: KVCommand, key: [UInt8]?, _ reply: @escaping Respond) {
        node.submit(cmd.encoded) { reply(self.encode($0, key: key)) }
    }

    /// Serves a read once this node is confirmed leader and has applied up to the read index.
    private func read(key: [UInt8]?, _ reply: @escaping Respond, _ body: @escaping (KVStateMachine, UInt64) -> RESPValue) {
        node.linearizableRead { outcome in
            if case .applied = outcome {
                reply(body(self.machine, self.leaderTime()).encoded)
            } else {
                reply(self.encode(outcome, key: key))
            }
        }
    }
}
