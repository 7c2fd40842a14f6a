import CLibUV
#if canImport(Glibc)
import Glibc
#endif
import RaftCore
import RaftStorage

/// A node running on a `UVHost` loop: its RaftNode, log (a FileLog unless the host brings its
/// own), listener, peer links and timer.
/// Public methods may be called from any thread; callbacks (state machine, events,
/// completions) run on the loop thread.
public final class HostedNode {
    public let id: NodeID
    public let config: RuntimeNodeConfig
    let host: UVHost
    let loop: UVLoop
    var raft: RaftNode!
    var log: RaftLog!
    let onEvent: (RaftEvent) -> Void

    // Loop-thread state.
    var listener: UnsafeMutablePointer<uv_tcp_t>?
    var timer: UnsafeMutablePointer<uv_timer_t>?
    /// Waits between join attempts (see HostedNode+Join).
    var joinTimer: UnsafeMutablePointer<uv_timer_t>?
    var joinAttempts = 0
    var inbound: [ObjectIdentifier: TCPConnection] = [:]
    var links: [NodeID: PeerLink] = [:]
    /// Addresses learned outside the configuration (join requests, a join target).
    var addressBook: [NodeID: String] = [:]
    var completions: [UInt64: (CommandOutcome) -> Void] = [:]
    /// Outcomes the runtime decided itself (not the core), delivered by the next pump so a
    /// completion never runs inside the call that started it.
    private var localOutcomes: [(UInt64, CommandOutcome)] = []
    var nextRequestID: UInt64 = 1
    var dirty = false
    var stopped = false
    /// True while pump hands out events and completions; pump's own loop then takes what a
    /// request made from them produces, with no extra loop turn.
    private var deliveringCallbacks = false
    /// Inside pump (which must not run inside itself).
    private var pumping = false
    /// Batches of submitted commands with outcomes waiting to be handed over (HostedNode+Batch).
    var batchesToFlush: [CommandBatch] = []
    // Syncs off the loop thread (HostedNode+Sync).
    var syncThread: SyncThread?
    /// Oldest first.
    var syncsInFlight: [InFlightSync] = []
    /// Something was written that no sync started yet covers.
    var syncWanted = false
    /// Messages for the wanted sync.
    var awaitingSync: [Message] = []
    /// A sync that failed on the sync thread, for the next pump round to report.
    var syncFailureToReport: String?
    /// Whether a sync was on the sync thread when the node stopped (for tests).
    var stoppedWithSyncInFlight = false
    /// The snapshot file write on the sync thread, if any (HostedNode+SnapshotWrite).
    var snapshotWriteInFlight: SnapshotWrite?
    /// Snapshot requests answered once no snapshot waits for its file.
    var snapshotWaiters: [UInt64] = []
    /// Zeroing of log space ahead (HostedNode+ZeroFill), on a thread of its own so that the
    /// sync thread's fdatasyncs never queue behind its megabytes.
    var zeroFillThread: SyncThread?
    var zeroFillInFlight: ZeroFill?
    /// A host-provided transport replaces TCP when set.
    let customSend: ((NodeID, [UInt8]) -> Void)?
    /// A host-provided log replaces FileLog when set; called once, on the loop thread, at start.
    let makeLog: (() throws -> RaftLog)?

    // Shared with other threads.
    private let lock = Lock()
    private var statusSnapshot: NodeStatus?
    private var stats = TransportStats()
    private var syncs = SyncStats()
    public internal(set) var listenPort: UInt16 = 0

    init(config: RuntimeNodeConfig, host: UVHost, stateMachine: StateMachine, makeLog: (() throws -> RaftLog)?,
         customSend: ((NodeID, [UInt8]) -> Void)?, onEvent: @escaping (RaftEvent) -> Void) {
        self.id = config.id
        self.config = config
        self.host = host
        self.loop = host.loop
        self.customSend = customSend
        self.makeLog = makeLog
        self.onEvent = onEvent
        machine = ReentryGuardedMachine.wrapping(stateMachine)
    }

    let machine: ReentryGuardedMachine

    // MARK: Start (loop thread)

    func start() throws {
        loop.assertOnLoopThread()
        guard !config.id.isEmpty else { throw StartError.invalidConfig("empty node id") }
        // A host transport binds nothing: its listen address is only the advertised member address.
        if customSend == nil && splitHostPort(config.listenAddress) == nil {
            throw StartError.invalidAddress(config.listenAddress)
        }
        if let why = config.settings.validationError() { throw StartError.invalidConfig(why) }
        if !config.joinAddresses.isEmpty && !config.peers.isEmpty {
            throw StartError.invalidConfig(MemberListError.joinWithPeers.description)
        }
        log = try makeLog.map(openHostLog) ?? openFileLog()
        var options = NodeOptions(id: id, commandTimeout: config.commandTimeout, maxCommandSize: config.maxCommandSize,
                                  maxBytesPerMessage: max(4096, config.maxFrameSize / 2))
        options.deferredApply = true
        options.snapshotThreshold = config.snapshotThreshold
        options.snapshotTrailing = config.snapshotTrailing
        options.snapshotChunkSize = max(1024, min(512 << 10, config.maxFrameSize / 4))
        if config.bootstrap && config.joinAddresses.isEmpty {
            var members = [Member(id: id, address: memberAddress(config.listenAddress))]
            for (pid, addr) in config.peers { members.append(Member(id: pid, address: addr)) }
            // Every node builds the same bootstrap configuration, whatever its own id.
            members.sort { $0.id < $1.id }
            options.initialConfig = ClusterConfig(members: members, settings: config.settings)
        }
        do {
            raft = try RaftNode(options: options, log: log, stateMachine: machine,
                                random: SplitMix64(seed: UVLoop.now ^ UInt64(UInt(bitPattern: ObjectIdentifier(self).hashValue))),
                                now: UVLoop.now)
        } catch {
            closeLog()
            if case RaftError.logBroken = error { throw StartError.logBroken }
            throw StartError.storage("\(error)")
        }
        if customSend == nil {
            do { try listen() } catch {
                closeLog()
                throw error
            }
        }
        timer = .allocate(capacity: 1)
        uv_timer_init(loop.loop, timer)
        timer!.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        dirty = true
        startJoining()
        pump()
    }

    // MARK: Pump (loop thread): group commit

    static let maxPumpRounds = 8

    /// Collects the node's outputs until there are none: messages out, one sync, the messages
    /// that need it, callbacks; then flushes the links and re-arms the timer.
    func pump() {
        loop.assertOnLoopThread()
        guard dirty, !pumping, !stopped || raft != nil else { return }
        dirty = false
        guard let raft else { return }
        pumping = true
        defer { pumping = false }
        var rounds = 0
        while true {
            // Callbacks may submit more at once (a client retrying a redirect from its
            // completion would never end the loop): after a few rounds the rest waits a loop
            // turn, so sockets and timers are served in between.
            if rounds == Self.maxPumpRounds {
                dirty = true
                break
            }
            rounds += 1
            let r = raft.takeReady()
            if r.isEmpty && localOutcomes.isEmpty && syncFailureToReport == nil && !raft.hasEntriesToApply { break }
            for m in r.messages { send(m) }
            // The sync, on or off the loop thread; what waits for it (votes, acknowledgements)
            // leaves only with it.
            let syncFailure = syncRound(r) ?? syncFailureToReport
            syncFailureToReport = nil
            var events = r.events
            if let why = syncFailure { events += [.error(why), .stopCommanded(reason: .storageFailed(why))] }
            for case .stopCommanded(let reason) in events where stopReason == nil { stopReason = reason }
            // A callback that reads status (another thread woken by it, say) must see the state
            // that produced it, not the one before this round.
            if !events.isEmpty || !r.completions.isEmpty || !localOutcomes.isEmpty { publishStatus() }
            deliveringCallbacks = true
            let local = localOutcomes
            localOutcomes.removeAll()
            for (rid, outcome) in local {
                if let cb = completions.removeValue(forKey: rid) { cb(outcome) }
            }
            for e in events { onEvent(e) }
            for c in r.completions {
                if let cb = completions.removeValue(forKey: c.id) { cb(c.outcome) }
            }
            flushBatches()
            deliveringCallbacks = false
            // The state machine runs only now (NodeOptions.deferredApply), once this round's
            // acknowledgements are on the wire: the leader counts them while we apply. The
            // outcomes leave in the next round.
            if raft.hasEntriesToApply {
                for link in links.values { link.flush() }
                raft.applyCommittedEntries()
            }
        }
        // The core stopped itself (a storage failure, its removal, a halted apply): what it
        // will never answer now — a read, a membership change, a transfer, a settings change —
        // ends here with .stopped rather than never.
        if raft.stopped && !completions.isEmpty {
            let waiting = completions
            completions.removeAll()
            deliveringCallbacks = true
            for (_, cb) in waiting { cb(.stopped) }
            flushBatches()
            deliveringCallbacks = false
        }
        startSnapshotWrite()
        startZeroFill()
        for link in links.values { link.flush() }
        armTimer()
        publishStatus()
    }

    private func armTimer() {
        guard let timer, !stopped else { return }
        guard let deadline = raft.nextDeadline else {
            uv_timer_stop(timer)
            return
        }
        let now = UVLoop.now
        let ms = deadline > now ? (deadline - now + 999_999) / 1_000_000 : 0
        uv_timer_start(timer, { t in
            guard let t, let data = t.pointee.data else { return }
            let me = Unmanaged<HostedNode>.fromOpaque(data).takeUnretainedValue()
            guard !me.stopped else { return }
            me.raft.tick(now: UVLoop.now)
            me.dirty = true
        }, ms, 0)
    }

    private func publishStatus() {
        var s = raft.status
        s.stopReason = stopReason
        lock.lock()
        statusSnapshot = s
        lock.unlock()
    }

    /// The first reason the node stopped itself, for the published status.
    private var stopReason: StopReason?

    func recordSync(micros: Int?) {
        lock.lock()
        if let micros { syncs.record(micros: micros) } else { syncs.failures += 1 }
        lock.unlock()
    }

    func recordZeroFill(bytes: Int) {
        lock.lock()
        syncs.recordZeroFill(bytes: bytes)
        lock.unlock()
    }

    func count(_ c: TransportStats.Counter) {
        lock.lock()
        stats.count(c)
        lock.unlock()
    }

    // MARK: Requests (any thread)

    /// Completes request `rid` from the next pump (loop thread).
    func finishLater(_ rid: UInt64, _ outcome: CommandOutcome) {
        loop.assertOnLoopThread()
        localOutcomes.append((rid, outcome))
        dirty = true
    }

    /// Runs `body` on the loop with a fresh request id whose completion goes to `done`.
    /// Returns false (without calling `done`) when the node is stopped.
    @discardableResult
    func request(_ done: @escaping (CommandOutcome) -> Void, _ body: @escaping (RaftNode, UInt64) -> Void) -> Bool {
        // On the loop thread and outside the core (any callback but the state machine's), the
        // request goes to the core at once instead of through the loop's queue and a wake-up;
        // the loop pumps the output before it next waits.
        if loop.isLoopThread && !machine.isRunning && !stopped, let raft {
            let rid = nextRequestID
            nextRequestID += 1
            completions[rid] = done
            body(raft, rid)
            if !deliveringCallbacks { dirty = true }
            return true
        }
        return loop.post { [self] in
            guard !stopped, let raft else {
                done(.stopped)
                return
            }
            let rid = nextRequestID
            nextRequestID += 1
            completions[rid] = done
            body(raft, rid)
            dirty = true
        }
    }

    public var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return statusSnapshot?.stopped ?? true
    }

    /// Submits a command; `completion` runs on the loop thread.
    @discardableResult
    public func submit(_ command: [UInt8], completion: @escaping (CommandOutcome) -> Void) -> Bool {
        request(completion) { raft, rid in raft.propose(command, id: rid) }
    }

    /// Submits and waits (never from the loop thread).
    public func submitSync(_ command: [UInt8], timeout: Double) -> CommandOutcome {
        wait(timeout: timeout) { done in self.submit(command, completion: done) }
    }

    /// Confirms a linearizable read point (ReadIndex). When the outcome is `.applied`, reading
    /// the state machine inside `completion` (on the loop thread) is linearizable.
    public func linearizableRead(completion: @escaping (CommandOutcome) -> Void) {
        request(completion) { raft, rid in raft.readIndex(requestID: rid) }
    }

    public func addServer(id nodeID: NodeID, address: String, asVoter: Bool, completion: @escaping (CommandOutcome) -> Void) {
        request(completion) { [self] raft, rid in
            addressBook[nodeID] = address
            raft.addServer(Member(id: nodeID, address: address, isVoter: asVoter), requestID: rid)
        }
    }

    public func removeServer(id nodeID: NodeID, completion: @escaping (CommandOutcome) -> Void) {
        request(completion) { raft, rid in raft.removeServer(nodeID, requestID: rid) }
    }

    public func join(leaderID: NodeID, leaderAddress: String, asVoter: Bool = true, completion: @escaping (CommandOutcome) -> Void) {
        request(completion) { [self] raft, rid in
            addressBook[leaderID] = leaderAddress
            raft.join(leader: leaderID, address: advertisedAddress, asVoter: asVoter, requestID: rid,
                      timeout: config.commandTimeout * 6)
        }
    }

    public func exitCluster(completion: @escaping (CommandOutcome) -> Void) {
        request(completion) { [self] raft, rid in raft.exitCluster(requestID: rid, timeout: config.commandTimeout * 2) }
    }

    public func transferLeadership(to target: NodeID, completion: @escaping (CommandOutcome) -> Void) {
        request(completion) { raft, rid in raft.transferLeadership(to: target, requestID: rid) }
    }

    public func takeSnapshot(completion: @escaping (CommandOutcome) -> Void) {
        request(completion) { [self] raft, rid in
            do {
                _ = try raft.takeSnapshot(keepTrailing: config.snapshotTrailing)
                answerOnceSnapshotWritten(rid)
            } catch {
                finishLater(rid, .rejected((error as? RaftError) ?? .storage("\(error)")))
            }
        }
    }

    public func updateSettings(_ change: @escaping (inout ClusterSettings) -> Void, completion: @escaping (CommandOutcome) -> Void) {
        request(completion) { raft, rid in
            var s = raft.settings
            change(&s)
            raft.updateSettings(s, requestID: rid)
        }
    }

    /// Runs `body` on the loop thread with the RaftNode (for hosts that read their state
    /// machine there, e.g. after a linearizable read).
    public func perform(_ body: @escaping (RaftNode) -> Void) {
        loop.post { [self] in
            guard let raft else { return }
            body(raft)
            dirty = true
        }
    }

    /// Starts an operation with a completion and waits for it (never from the loop thread).
    public func waitFor<T>(timeout: Double, _ start: (@escaping (T) -> Void) -> Void) -> T? {
        let sem = Semaphore()
        let box = ResultBox<T>()
        start { v in
            box.value = v
            sem.signal()
        }
        guard sem.wait(timeout: timeout) else { return nil }
        return box.value
    }

    func wait(timeout: Double, _ start: (@escaping (CommandOutcome) -> Void) -> Bool) -> CommandOutcome {
        if loop.isLoopThread { return .rejected(.wrongThread) }
        let sem = Semaphore()
        let box = ResultBox<CommandOutcome>()
        let posted = start { outcome in
            box.value = outcome
            sem.signal()
        }
        guard posted else { return .stopped }
        guard sem.wait(timeout: timeout) else { return .timeout }
        return box.value ?? .stopped
    }

    /// The leader's view of its followers and the runtime's clock to age their last contact
    /// with; empty when not leading or stopped. Any thread (from others it waits for the loop).
    public func followerProgress() -> (now: Nanos, followers: [FollowerProgress]) {
        let read = { [self] () -> (Nanos, [FollowerProgress]) in (UVLoop.now, stopped ? [] : raft?.followers ?? []) }
        if loop.isLoopThread { return read() }
        return loop.sync(read) ?? (UVLoop.now, [])
    }

    /// Open peer connections: accepted from peers, and this node's own links that are up.
    /// Any thread (from others it waits for the loop).
    public func connectionCounts() -> (inbound: Int, outbound: Int) {
        let read = { [self] in (inbound.count, links.values.filter(\.connected).count) }
        if loop.isLoopThread { return read() }
        return loop.sync(read) ?? (0, 0)
    }

    public func status() -> NodeStatus? {
        lock.lock()
        defer { lock.unlock() }
        return statusSnapshot
    }

    /// The core's one-line state (with the leader's view of each follower), read on the loop;
    /// nil once stopped. For diagnostics.
    public func debugState() -> String? {
        loop.sync { [self] in raft.map { $0.debugDescription } }.flatMap { $0 }
    }

    /// The log's sync latencies since start.
    public var syncStats: SyncStats {
        lock.lock()
        defer { lock.unlock() }
        return syncs
    }

    public var transportStats: TransportStats {
        lock.lock()
        defer { lock.unlock() }
        return stats
    }

    /// Stops the node and waits until its log is synced and closed and its sockets are closed.
    public func stop() {
        _ = loop.sync { [self] in shutdownOnLoop() }
        host.forget(self)
    }

    /// Loop thread: everything `stop` does.
    func shutdownOnLoop() {
        loop.assertOnLoopThread()
        guard !stopped else { return }
        if let raft {
            raft.stop()
            dirty = true
            pump()
        }
        stopped = true
        for (_, cb) in completions { cb(.stopped) }
        completions.removeAll()
        flushBatches()
        for t in [timer, joinTimer].compactMap({ $0 }) {
            uv_timer_stop(t)
            uv_close(UnsafeMutableRawPointer(t).assumingMemoryBound(to: uv_handle_t.self)) { h in h?.deallocate() }
        }
        timer = nil
        joinTimer = nil
        closeNetwork()
        if log != nil {
            // Also fdatasyncs what a sync still in flight covers (FileLog never skips it then).
            try? log.sync()
            closeLog()
        }
        stoppedWithSyncInFlight = !syncsInFlight.isEmpty
        stopSyncThread()
        stopZeroFillThread()
        publishStatus()
    }

    var advertisedAddress: String {
        // Only a bound listener has a port to fill in for 0.
        guard customSend == nil, let (h, _) = splitHostPort(config.listenAddress) else { return memberAddress(config.listenAddress) }
        return memberAddress(h.contains(":") ? "[\(h)]:\(listenPort)" : "\(h):\(listenPort)")
    }

    func memberAddress(_ raft: String) -> String {
        config.addressExtra.isEmpty ? raft : raft + "," + config.addressExtra
    }
}

final class ResultBox<T> {
    var value: T?
}

extension RaftEvent {
    var isStorageFailure: Bool {
        if case .stopCommanded(reason: .storageFailed) = self { return true }
        return false
    }
}
