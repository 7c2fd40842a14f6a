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

    /// --snapshot-every, counted in applied commands (0: off; see `snapshotIfDue`).
    let snapshotEvery: UInt64
    private var commandsAtSnapshot: UInt64 = 0

    init(node: HostedNode, machine: KVStateMachine, maxRequestBytes: Int, clientAddress: String, version: String,
         password: String?, snapshotEvery: UInt64 = 0) {
        self.snapshotEvery = snapshotEvery
        self.node = node
        self.machine = machine
        self.maxRequestBytes = maxRequestBytes
        self.clientAddress = clientAddress
        self.version = version
        self.password = password
    }

    /// Where a server command's reply goes (possibly later, after a commit).
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

    /// A turn's client writes share one log entry, so the core's threshold (entries) alone
    /// would let the log grow by up to a turn's writes per entry between snapshots; this takes
    /// one after `snapshotEvery` applied commands as well, on every node (each compacts its own
    /// log). The core's own trigger stays for entries that carry few commands.
    ///
    /// The nodes take theirs at different points (`snapshotPhase`): a snapshot stalls a node's
    /// loop for tens of milliseconds (mostly writing and syncing the file), and a follower's
    /// stall costs nothing while another follower acknowledges, but taken together (every node
    /// applies the same commands, so they were due in the same turn) they stopped every commit
    /// until the second-fastest follower was done.
    func snapshotIfDue() {
        guard snapshotEvery > 0 else { return }
        if !phased, let st = node.status(), st.config.memberIDs.contains(st.id) {
            phased = true
            // Counting from before 0 brings this node's first snapshot forward by its offset.
            commandsAtSnapshot = 0 &- Self.snapshotPhase(of: st.id, among: st.config.memberIDs, every: snapshotEvery)
        }
        guard machine.appliedCommands &- commandsAtSnapshot >= snapshotEvery else { return }
        commandsAtSnapshot = machine.appliedCommands
        node.takeSnapshot { _ in }
    }

    private var phased = false

    /// How many commands early a node takes its snapshots: its place among the members in id
    /// order, spread over one interval (0, 1/3 and 2/3 of it in a 3-node cluster). The same
    /// on every start, and different for every member of one configuration.
    static func snapshotPhase(of id: NodeID, among members: [NodeID], every: UInt64) -> UInt64 {
        let ids = members.sorted()
        guard ids.count > 1, let i = ids.firstIndex(of: id) else { return 0 }
        return every / UInt64(ids.count) * UInt64(i)
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
    /// Writes received this turn, proposed together before the pump (DataCommands).
    var pendingWrites = KVWriteBatch()
    var pendingWaiters: [WriteWaiter] = []
    /// Reads received this turn (session, slot), confirmed together by one ReadIndex.
    var pendingReads: [(RESPSession, Int)] = []

    private weak var host: UVHost?
    private final class HookKey {}
    private let beforePumpKey = HookKey()

    /// Installs the turn hooks: the turn's proposals before the node's pump, its replies after.
    func install(on host: UVHost) {
        self.host = host
        host.addTurnHook(ObjectIdentifier(beforePumpKey), beforePump: true) { [unowned self] in beforePump() }
        host.addTurnHook(ObjectIdentifier(self)) { [unowned self] in flushReplies() }
    }

    func uninstall(from host: UVHost) {
        host.removeTurnHook(ObjectIdentifier(beforePumpKey))
        host.removeTurnHook(ObjectIdentifier(self))
    }

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
        // A connection that went on after its reads ran may have left work for the next turn.
        if pendingWrites.count > 0 || !pendingReads.isEmpty { host?.requestAnotherTurn() }
    }

    var clientCounts: ClientCounts {
        ClientCounts(connected: sessions.count, connectionsReceived: Int(connectionsReceived),
                     commandsProcessed: Int(commandsProcessed), errorReplies: Int(errorReplies))
    }

    /// The error for a wrong number of arguments, in Redis's words.
    static func arityError(_ name: String) -> [UInt8] {
        RESPValue.error("ERR wrong number of arguments for '\(name.lowercased())' command").encoded
    }

    /// The names the server answers itself (connection, server, cluster, admin and transaction
    /// commands); every other name goes to the state machine's table.
    static let serverNames = KVCommandNameTable([
        "PING", "ECHO", "TIME", "QUIT", "SELECT", "READONLY", "READWRITE", "AUTH", "HELLO", "CLIENT", "COMMAND",
        "CONFIG", "INFO", "CLUSTER", "RAFT.STATUS", "RAFT.ADD", "RAFT.REMOVE", "RAFT.TRANSFER", "RAFT.SNAPSHOT",
        "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH",
    ].map { KVCommandName($0)! })

    /// Runs one request from `session` (in place in its parser's buffer); its reply takes the
    /// session's next slot. With `readsWaiting` (the connection's earlier reads have not run
    /// yet) only a read runs: for anything else it returns false and does nothing, and the
    /// session hands the request over again later.
    func execute(_ args: RESPArgs, from session: RESPSession, readsWaiting: Bool) -> Bool {
        let s = session.client
        // The common case, with no copy of the arguments, no String and no closure per request:
        // an authenticated client outside MULTI sending a data command.
        if s.authenticated && s.queued == nil && !(KVCommandName(args[0]).map(Self.serverNames.contains) ?? false) {
            return dataCommand(args, session, readsWaiting: readsWaiting)
        }
        if readsWaiting { return false }
        commandsProcessed += 1
        let a = args.arrays
        s.lastCommandName = a[0]
        execute(serverCommand: a, session)
        return true
    }

    private func execute(serverCommand args: [[UInt8]], _ session: RESPSession) {
        let s = session.client
        let slot = session.reserve()
        let name = String(decoding: args[0].prefix(32), as: UTF8.self).uppercased()
        let proto = s.proto
        let reply: Respond = { [unowned self, weak session] bytes in
            if bytes.first == UInt8(ascii: "-") { errorReplies += 1 }
            session?.fill(slot, (proto == 3 ? RESP3.upgrade(bytes, command: name) : bytes)[...])
        }
        if !s.authenticated && !["AUTH", "HELLO", "QUIT"].contains(name) {
            return reply(RESPValue.error("NOAUTH Authentication required.").encoded)
        }
        if s.queued != nil && !["EXEC", "DISCARD", "MULTI", "QUIT", "WATCH", "UNWATCH"].contains(name) {
            return queueInMulti(args, name: name, session: s, reply: reply)
        }
        if self.serverCommand(name, args, s, reply) { return }
        if clusterCommand(name, args, s, reply) { return }
        if raftCommand(name, args, s, reply) { return }
        if transactionCommand(name, s, reply) { return }
        // A data command from an authenticated client (outside MULTI it took the path above).
        switch KVStateMachine.classify(args) {
        case .write, .read:
            reply(RESPValue.error("ERR internal: data command on the server path").encoded)
        case .unknown(let error), .arity(let error):
            reply(error.encoded)
        }
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
