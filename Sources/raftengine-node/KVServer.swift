#if canImport(Glibc)
import Glibc
#endif
import RaftCore
import RaftKV
import RaftUV

/// Executes Redis commands: connection and server commands here and in ServerCommands,
/// cluster-mode answers in ClusterCommands, admin in RaftCommands, and the data commands in
/// DataCommands (writes through the Raft log, reads after a ReadIndex check, so no read is
/// ever stale). Runs on the host's loop thread, where the state machine also applies.
final class KVServer {
    let node: HostedNode
    let machine: KVStateMachine
    let maxRequestBytes: Int
    let clientAddress: String
    let version: String
    /// --requirepass: clients must AUTH before anything but AUTH, HELLO and QUIT.
    let password: String?
    let startedAt = monotonicMs()
    var sessions: [Int64: ClientSession] = [:]
    private var nextClientID: Int64 = 1
    var commandsProcessed: UInt64 = 0
    var connectionsReceived: UInt64 = 0
    var errorReplies: UInt64 = 0

    init(node: HostedNode, machine: KVStateMachine, maxRequestBytes: Int, clientAddress: String, version: String,
         password: String?) {
        self.node = node
        self.machine = machine
        self.maxRequestBytes = maxRequestBytes
        self.clientAddress = clientAddress
        self.version = version
        self.password = password
    }

    typealias Respond = ([UInt8]) -> Void

    private var sweepInFlight = false

    /// Leader only, from a timer: once the earliest deadline has passed by the leader's clock,
    /// proposes a sweep that removes expired keys through the log (bounded, so one entry stays
    /// small; the next tick takes the rest). Reads never need it: they judge TTLs by time.
    func sweepExpired() {
        guard !sweepInFlight, node.status()?.role == .leader, let due = machine.nextExpiryDeadline(),
              due <= leaderTime() else { return }
        sweepInFlight = true
        node.submit(KVCommand.expire(nowMs: leaderTime(), limit: 1000).encoded) { [weak self] _ in
            self?.sweepInFlight = false
        }
    }

    func connected(address: String) -> ClientSession {
        let s = ClientSession(id: nextClientID, address: address, authenticated: password == nil, now: monotonicMs())
        nextClientID += 1
        connectionsReceived += 1
        sessions[s.id] = s
        return s
    }

    func disconnected(_ s: ClientSession) { sessions[s.id] = nil }

    /// Sessions with replies ready this loop turn; flushed by the turn hook.
    private var toFlush: [RESPSession] = []

    func needsFlush(_ s: RESPSession) {
        guard !s.flushPending else { return }
        s.flushPending = true
        toFlush.append(s)
    }

    /// The host's turn hook: every reply made ready during the turn leaves now, one write per
    /// connection.
    func flushReplies() {
        while !toFlush.isEmpty {
            let due = toFlush
            toFlush.removeAll(keepingCapacity: true)
            for s in due { s.flush() }
        }
    }

    var clientCounts: ClientCounts {
        ClientCounts(connected: sessions.count, connectionsReceived: Int(connectionsReceived),
                     commandsProcessed: Int(commandsProcessed), errorReplies: Int(errorReplies))
    }

    /// The error for a wrong number of arguments, in Redis's words.
    static func arityError(_ name: String) -> [UInt8] {
        RESPValue.error("ERR wrong number of arguments for '\(name.lowercased())' command").encoded
    }

    /// Runs one request. `respond` gets the reply bytes (possibly later, after a commit).
    func execute(_ args: [[UInt8]], session: ClientSession, respond: @escaping Respond) {
        commandsProcessed += 1
        let name = String(decoding: args[0].prefix(32), as: UTF8.self).uppercased()
        session.lastCommand = name.lowercased()
        let proto = session.proto
        let reply: Respond = { [unowned self] bytes in
            if bytes.first == UInt8(ascii: "-") { errorReplies += 1 }
            respond(proto == 3 ? RESP3.upgrade(bytes, command: name) : bytes)
        }
        if !session.authenticated && !["AUTH", "HELLO", "QUIT"].contains(name) {
            return reply(RESPValue.error("NOAUTH Authentication required.").encoded)
        }
        if session.queued != nil && !["EXEC", "DISCARD", "MULTI", "QUIT", "WATCH", "UNWATCH"].contains(name) {
            return queueInMulti(args, name: name, session: session, reply: reply)
        }
        if serverCommand(name, args, session, reply) { return }
        if clusterCommand(name, args, session, reply) { return }
        if raftCommand(name, args, session, reply) { return }
        dataCommand(name, args, session, reply)
    }
}

/// Milliseconds on the monotonic clock (uptime, client ages).
func monotonicMs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
}

/// Milliseconds since the epoch: the leader's time a write carries (TTLs are judged by it).
func wallClockMs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
}
