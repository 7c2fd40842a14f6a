import RaftCore
import RaftStorage

/// A deterministic cluster of simulated nodes (the seed's "pausing cluster"): virtual time,
/// an in-memory network under the test's control, timers off unless enabled, crashes and
/// partitions, and a trace of everything that happens.
public final class SimCluster {
    public struct Options {
        public var nodeCount = 3
        public var settings: ClusterSettings
        public var seed: UInt64 = 1
        public var idPrefix = "sim://"
        public var commandTimeout: Nanos = 2_000_000_000
        public var snapshotChunkSize = 512 << 10
        public var snapshotThreshold: LogIndex = 0
        public var snapshotTrailing: LogIndex = 0
        public var addServerTimeout: Nanos = 10_000_000_000
        public var maxCatchUpRounds = 10
        /// Hand committed commands to the state machine in batches (`BatchStateMachine`).
        public var batchApply = false
        /// Apply committed entries only after the acknowledgements of the same step have left,
        /// as the runtime does (`NodeOptions.deferredApply`). Off: apply inside the step, as
        /// the seed's traces show.
        public var deferredApply = false
        /// Opens a node's log; nil gives every node a MemoryLog. Called when a node is created
        /// and, for a `ReopenableLog`, again at each restart, when it must open the same
        /// storage (e.g. `FileLog(directory:)` on the node's own directory). A failure at
        /// creation stops the process, since the test setup is broken; at a restart the node
        /// stays down with an error event.
        public var makeLog: ((NodeID) throws -> RaftLog)?
        /// Makes a node's state machine: when the node is created and again at every restart
        /// (a crash loses the volatile machine). nil gives every node a `CounterMachine`.
        /// Handing back the same object for a node models a machine whose state survives
        /// restarts; the node's `history` then shows what the core replays into it.
        /// A machine that is a `BatchStateMachine` gets its commands in batches whatever
        /// `batchApply` says.
        public var makeMachine: ((NodeID) -> StateMachine)?
        /// Without `makeLog`: give each node a `SyncedMemoryLog`, which loses at a crash every
        /// write it had not synced (a plain `MemoryLog` keeps them all).
        public var memoryLogLosesUnsyncedWrites = false
        /// Where the nodes' syncs run (`SyncPlacement`); each node's own is `node.syncPlacement`.
        public var syncPlacement: SyncPlacement = .inline
        /// Adjusts one node's options (e.g. its `electionTimeoutRange`) when it is created.
        public var configureNode: ((NodeID, inout NodeOptions) -> Void)?

        /// The seed harness's defaults, with timers meaningful only once enabled: heartbeat
        /// 10 ms, election timeout 150–300 ms, 10 entries per message.
        public init(nodeCount: Int = 3, seed: UInt64 = 1, preVote: Bool = true) {
            self.nodeCount = nodeCount
            self.seed = seed
            settings = ClusterSettings(heartbeatPeriod: 10_000_000, electionTimeoutMin: 150_000_000,
                                       electionTimeoutMax: 300_000_000, maxEntriesPerMessage: 10,
                                       maxInflight: 16, preVote: preVote, checkQuorum: true)
        }
    }

    public let options: Options
    public private(set) var nodes: [NodeID: SimNode] = [:]
    /// Node ids in creation order (trace column order).
    public private(set) var ids: [NodeID] = []
    public private(set) var now: Nanos = 1_000_000_000
    public let trace: TraceRecorder
    /// Partition groups; empty when the network is whole.
    public private(set) var partitions: [Set<NodeID>] = []
    /// Decides per message on the way out: deliver, drop or hold. nil delivers everything.
    /// More filters: `addFilter`; this one is asked first.
    public var filter: ((Message) -> Verdict)?
    public internal(set) var held: [Message] = []
    /// One-way cuts (`cut(from:to:)`).
    public internal(set) var cuts: Set<Link> = []
    /// Per-link loss and delay (`setLinkFault`).
    public internal(set) var linkFaults: [Link: LinkFault] = [:]
    /// Delayed messages on their way, with the virtual time they land.
    public internal(set) var inFlight: [(due: Nanos, message: Message)] = []
    var networkRNG: SplitMix64
    /// Messages lost to crashes, partitions or filters (for tests to inspect).
    public internal(set) var lost: [Message] = []
    /// Called after every handled message and every node step (the fault runner checks here).
    /// More observers: `addStepObserver`; this one runs first.
    public var afterStep: (() -> Void)?
    /// Steps taken so far: each handled message and each action on a node counts one (a
    /// violation reports the step after which it was seen).
    public internal(set) var step = 0
    /// What the invariants added with `addInvariant` reported, in order.
    public internal(set) var invariantViolations: [Violation] = []
    var hooks = SimHooks()
    var nextRequestID: UInt64 = 1
    var rng: SplitMix64

    public enum Verdict { case deliver, drop, hold }

    /// A cluster whose nodes run the machines `machine` makes (see `Options.makeMachine`).
    public convenience init(_ options: Options = Options(), machine: @escaping (NodeID) -> StateMachine) {
        var o = options
        o.makeMachine = machine
        self.init(o)
    }

    public init(_ options: Options = Options()) {
        self.options = options
        rng = SplitMix64(seed: options.seed)
        networkRNG = SplitMix64(seed: options.seed ^ 0x6E65_7477_6F72_6B21)
        let ids = (1...max(1, options.nodeCount)).map { "\(options.idPrefix)\($0)" }
        trace = TraceRecorder(nodeIDs: ids)
        let config = ClusterConfig(voters: ids, settings: options.settings)
        for id in ids {
            addSimNode(id, initialConfig: config)
        }
        for id in ids { start(id) }
        tracing = true
    }

    /// Off while the cluster is being built, so traces start with the test's first action.
    /// Benchmarks turn it off for good.
    public var tracing = false
    /// Round-trips every message through the wire codec (on by default; benchmarks of the core
    /// alone turn it off).
    public var checkWireCodec = true

    // MARK: Access

    public func node(_ n: Int) -> SimNode { nodes[ids[n - 1]]! }
    public func node(_ id: NodeID) -> SimNode { nodes[id]! }
    public func id(_ n: Int) -> NodeID { ids[n - 1] }

    public var leaders: [SimNode] { ids.compactMap { nodes[$0] }.filter { $0.isUp && $0.role == .leader } }
    public var leader: SimNode? { leaders.max { $0.term < $1.term } }

    // MARK: Lifecycle

    @discardableResult
    func addSimNode(_ id: NodeID, initialConfig: ClusterConfig?) -> SimNode {
        var o = NodeOptions(id: id, initialConfig: initialConfig, commandTimeout: options.commandTimeout)
        o.snapshotChunkSize = options.snapshotChunkSize
        o.snapshotThreshold = options.snapshotThreshold
        o.snapshotTrailing = options.snapshotTrailing
        o.addServerTimeout = options.addServerTimeout
        o.maxCatchUpRounds = options.maxCatchUpRounds
        o.deferredApply = options.deferredApply
        options.configureNode?(id, &o)
        let log: RaftLog
        do {
            if let makeLog = options.makeLog {
                log = try makeLog(id)
            } else {
                log = options.memoryLogLosesUnsyncedWrites ? SyncedMemoryLog() : MemoryLog()
            }
        } catch {
            fatalError("cannot open the log of \(id): \(error)")
        }
        let n = SimNode(id: id, options: o, log: log, machine: makeMachine(id))
        n.syncPlacement = options.syncPlacement
        nodes[id] = n
        if !ids.contains(id) { ids.append(id) }
        trace.addNode(id)
        return n
    }

    /// Creates a node outside the configuration (to join later) and starts it.
    @discardableResult
    public func addNode(_ id: NodeID) -> SimNode {
        let n = addSimNode(id, initialConfig: nil)
        start(id)
        record(.event(node: id, op: "STARTED"))
        return n
    }

    func makeMachine(_ id: NodeID) -> StateMachine { options.makeMachine?(id) ?? CounterMachine() }

    /// Starts a new lifetime of the node on its current `stateMachine`, which is wrapped so
    /// that every apply lands in the node's history and reaches the apply observers.
    func start(_ id: NodeID) {
        let n = node(id)
        n.lifetime += 1
        let notify: (NodeID, LogIndex, [UInt8]) -> Void = { [unowned self] node, index, command in
            self.notifyApply(node, index, command)
        }
        let recorder: ApplyRecorder = n.stateMachine is BatchStateMachine
            ? BatchApplyRecorder(n.stateMachine, node: n, notify: notify)
            : ApplyRecorder(n.stateMachine, node: n, notify: notify)
        do {
            n.batching = options.batchApply && !(recorder is BatchStateMachine) ? BatchingMachine(recorder) : nil
            let machine: StateMachine = n.batching ?? recorder
            n.hardStateSynced = n.log.hardState  // as opened: durable
            n.raft = try RaftNode(options: n.options, log: n.log, stateMachine: machine,
                                  random: SplitMix64(seed: rng.next()), now: time(of: n))
            n.crashed = false
            // A snapshot restored at start covers what the log's snapshot covers.
            if !n.unresolvedRestores.isEmpty, let meta = n.log.snapshotMeta {
                resolveRestores(n, index: meta.index)
            }
            drain(n)
        } catch {
            n.raft = nil
            n.events.append(.error("start failed: \(error)"))
        }
    }

    /// Gives the pending snapshot-restore records of `n` their index.
    func resolveRestores(_ n: SimNode, index: LogIndex) {
        for position in n.unresolvedRestores { n.history.records[position].index = index }
        n.unresolvedRestores.removeAll()
    }

    /// Called for every apply on any node (the fault runner checks state machine safety).
    /// More observers: `addApplyObserver`; this one runs first.
    public var onApply: ((NodeID, LogIndex, [UInt8]) -> Void)?

    /// Crash: the node's volatile state (Raft state, state machine, queues) is lost, and so
    /// is whatever its log did not sync: a `ReopenableLog` is closed without a sync (a
    /// `SyncedMemoryLog` or a `FileLog` then loses its unsynced writes; a plain `MemoryLog`
    /// counts every write as synced and is kept as it is).
    public func crash(_ id: NodeID) {
        let n = node(id)
        n.raft = nil
        n.crashed = true
        lost.append(contentsOf: n.inbox + n.outbox + n.messagesAwaitingSync)
        n.inbox.removeAll()
        n.outbox.removeAll()
        n.messagesAwaitingSync.removeAll()
        n.syncAwaited = false
        dropSyncJobs(n)
        (n.log as? ReopenableLog)?.closeWithoutSync()
        record(.event(node: id, op: "CRASH"))
    }

    /// Restart from the durable log with the state machine `Options.makeMachine` makes now (a
    /// fresh `CounterMachine` by default). A running node is shut down cleanly first (its log
    /// synced); a `ReopenableLog` is opened again from its storage.
    public func restart(_ id: NodeID) {
        let n = node(id)
        if !n.crashed, let log = n.log as? ReopenableLog {
            finishSync(id)
            // Also makes durable what a sync job in flight covers (FileLog never skips it then).
            try? log.sync()
            log.closeWithoutSync()
        }
        dropSyncJobs(n)
        n.raft = nil
        guard reopenLog(n) else {
            n.crashed = true
            return
        }
        n.crashed = false
        n.stateMachine = makeMachine(id)
        start(id)
        record(.event(node: id, op: "RESTART"))
    }

    /// Replaces a closed `ReopenableLog` with the log opened again from its storage. False
    /// (with an error event) when it cannot be opened.
    private func reopenLog(_ n: SimNode) -> Bool {
        if let synced = n.log as? SyncedMemoryLog, options.makeLog == nil {
            n.log = synced.reopened()
            return true
        }
        guard n.log is ReopenableLog, let makeLog = options.makeLog else { return true }
        do {
            n.log = try makeLog(n.id)
            return true
        } catch {
            n.events.append(.error("reopening the log failed: \(error)"))
            return false
        }
    }

    // MARK: Network

    /// Moves `id`'s outgoing messages onto the network (each shows as a "sent" trace row).
    public func transmit(_ id: NodeID) {
        let n = node(id)
        let out = n.outbox
        n.outbox.removeAll()
        for m in out { route(m) }
    }

    /// Puts a hand-made message straight into its receiver's inbox.
    public func inject(_ m: Message) {
        node(m.to).inbox.append(m)
        record(.sent(m))
    }

    func route(_ m: Message) {
        // Every message crosses the wire codec, so the simulator exercises it too.
        if checkWireCodec {
            let wire = MessageCodec.encode(m)
            precondition((try? MessageCodec.decode(wire)) == m, "wire codec round trip changed \(m)")
        }
        guard let to = nodes[m.to], to.isUp, connected(m.from, m.to) else {
            lost.append(m)
            return
        }
        switch verdict(m) {
        case .deliver:
            guard linkLetsThrough(m) else { return }
            to.inbox.append(m)
            record(.sent(m))
        case .drop:
            lost.append(m)
        case .hold:
            held.append(m)
        }
    }

    /// Handles the first message waiting at `id`. Returns false when there was none.
    @discardableResult
    public func handleNext(_ id: NodeID) -> Bool {
        let n = node(id)
        guard n.isUp, !n.inbox.isEmpty, let raft = n.raft else { return false }
        let m = n.inbox.removeFirst()
        raft.receive(m, now: time(of: n))
        drain(n, handled: m)
        return true
    }

    /// Handles the message at `position` of `id`'s inbox (out of order when not 0).
    @discardableResult
    public func handle(_ id: NodeID, at position: Int) -> Bool {
        let n = node(id)
        guard position < n.inbox.count else { return false }
        let m = n.inbox.remove(at: position)
        n.inbox.insert(m, at: 0)
        return handleNext(id)
    }

    /// Loses the message at `position` of `id`'s inbox.
    public func dropInbox(_ id: NodeID, at position: Int) {
        let n = node(id)
        guard position < n.inbox.count else { return }
        lost.append(n.inbox.remove(at: position))
    }

    /// Moves and handles messages until nothing is left anywhere (or `maxSteps`).
    @discardableResult
    public func deliverAll(maxSteps: Int = 100_000) -> Int {
        var steps = 0
        while steps < maxSteps {
            var progressed = false
            for id in ids where !node(id).outbox.isEmpty {
                transmit(id)
                progressed = true
            }
            for id in ids where handleNext(id) {
                steps += 1
                progressed = true
                transmit(id)
            }
            if !progressed { break }
        }
        return steps
    }

    /// Delivers one message at a time until `condition` holds; false if the network went quiet
    /// first.
    @discardableResult
    public func deliverUntil(maxSteps: Int = 100_000, _ condition: () -> Bool) -> Bool {
        var steps = 0
        while !condition() {
            guard steps < maxSteps else { return false }
            var progressed = false
            for id in ids where !node(id).outbox.isEmpty {
                transmit(id)
                progressed = true
            }
            if condition() { return true }
            for id in ids where handleNext(id) {
                steps += 1
                progressed = true
                if condition() { return true }
            }
            if !progressed { return condition() }
        }
        return true
    }

    public func dropHeld() {
        lost.append(contentsOf: held)
        held.removeAll()
    }

    /// Drops everything waiting at a node (both directions).
    public func clearQueues(_ id: NodeID) {
        let n = node(id)
        lost.append(contentsOf: n.inbox + n.outbox)
        n.inbox.removeAll()
        n.outbox.removeAll()
    }

    /// Duplicates the message at `position` of `id`'s inbox.
    public func duplicateInbox(_ id: NodeID, at position: Int = 0) {
        let n = node(id)
        guard position < n.inbox.count else { return }
        n.inbox.insert(n.inbox[position], at: position)
    }

    /// Reverses the order of `id`'s inbox.
    public func reverseInbox(_ id: NodeID) {
        node(id).inbox.reverse()
    }

    /// Splits the network; messages between groups are lost. Nodes not named form one more group.
    public func partition(_ groups: [[NodeID]]) {
        var sets = groups.map { Set($0) }
        let named = sets.reduce(into: Set<NodeID>()) { $0.formUnion($1) }
        let rest = Set(ids).subtracting(named)
        if !rest.isEmpty { sets.append(rest) }
        partitions = sets
        // Messages already queued across the split are lost.
        for n in nodes.values {
            let (keep, drop) = n.inbox.reduce(into: ([Message](), [Message]())) { acc, m in
                if connected(m.from, m.to) { acc.0.append(m) } else { acc.1.append(m) }
            }
            n.inbox = keep
            lost.append(contentsOf: drop)
        }
        for id in ids { record(.event(node: id, op: "NETSPLIT")) }
    }

    /// Joins the network again: partitions and one-way cuts end (link faults stay).
    public func heal() {
        partitions = []
        cuts = []
        for id in ids { record(.event(node: id, op: "NETJOIN")) }
    }

    /// Whether a message from `a` reaches `b`: same partition group, and no one-way cut.
    public func connected(_ a: NodeID, _ b: NodeID) -> Bool {
        if !cuts.isEmpty && cuts.contains(Link(from: a, to: b)) { return false }
        guard !partitions.isEmpty else { return true }
        return partitions.contains { $0.contains(a) && $0.contains(b) }
    }

    /// The group holding a majority of the original voters, if any.
    func onMinority(_ id: NodeID) -> Bool {
        guard !partitions.isEmpty, let g = partitions.first(where: { $0.contains(id) }) else { return false }
        return g.count * 2 <= ids.count
    }

    // MARK: Driving nodes

    /// Collects a node's outputs the way a runtime does: messages out, sync, didSync, the
    /// acknowledgements after the sync, and the completions and events.
    func drain(_ n: SimNode, handled: Message? = nil) {
        if let handled { record(.handled(handled)) }
        guard let raft = n.raft else { return }
        while true {
            let r = raft.takeReady()
            if r.isEmpty {
                guard raft.hasEntriesToApply else { break }
                raft.applyCommittedEntries()
                continue
            }
            n.outbox.append(contentsOf: r.messages)
            var syncFailure: String?
            if n.syncPlacement != .inline && !n.syncsDeferred {
                syncFailure = syncRound(n, raft, r)
            } else if n.syncsDeferred && (r.needsSync || n.syncAwaited) {
                // Later acknowledgements queue behind the awaited sync, never overtaking it.
                n.syncAwaited = true
                n.messagesAwaitingSync.append(contentsOf: r.messagesAfterSync)
            } else if !r.needsSync || syncLog(n, raft) {
                n.outbox.append(contentsOf: r.messagesAfterSync)
            } else {
                lost.append(contentsOf: r.messagesAfterSync)
            }
            for e in r.events {
                n.events.append(e)
                switch e {
                case .roleChanged: record(.event(node: n.id, op: "NEW ROLE"))
                case .snapshotInstalled(let index): resolveRestores(n, index: index)
                default: break
                }
            }
            // As the runtime's pump reports it: after the round's own events.
            if let why = syncFailure { n.events += Self.syncFailureEvents(why) }
            for c in r.completions {
                n.outcomes[c.id] = c.outcome
                record(.event(node: n.id, op: "CMD DONE"))
                deliverCompletion(c)
            }
            // After the acknowledgements are out, as the runtime does (deferredApply).
            if raft.hasEntriesToApply { raft.applyCommittedEntries() }
        }
        stepTaken()
    }

    /// Syncs the node's log and tells its RaftNode. A failed sync stops the node, as a
    /// runtime must: what the log holds is no longer known.
    private func syncLog(_ n: SimNode, _ raft: RaftNode) -> Bool {
        do {
            try n.log.sync()
        } catch {
            // Reported as the runtime reports it (HostedNode): an error, then the stop and why.
            n.events.append(.error("log sync failed: \(error)"))
            n.events.append(.stopCommanded(reason: .storageFailed("log sync failed: \(error)")))
            raft.stop()
            return false
        }
        raft.didSync()
        n.hardStateSynced = n.log.hardState
        return true
    }

    /// Carries out a sync that `syncsDeferred` held back; the messages waiting for it go out.
    public func finishSync(_ id: NodeID) {
        let n = node(id)
        guard n.syncAwaited, let raft = n.raft, n.isUp else { return }
        n.syncAwaited = false
        let waiting = n.messagesAwaitingSync
        n.messagesAwaitingSync.removeAll()
        if syncLog(n, raft) {
            n.outbox.append(contentsOf: waiting)
        } else {
            lost.append(contentsOf: waiting)
        }
        drain(n)
    }

    /// Runs `body` on a live node's RaftNode, then collects its outputs.
    public func with(_ id: NodeID, _ body: (RaftNode) -> Void) {
        let n = node(id)
        guard let raft = n.raft, n.isUp else { return }
        body(raft)
        drain(n)
    }

    public func campaign(_ id: NodeID, authorized: Bool = false) { with(id) { $0.campaign(authorized: authorized) } }
    public func heartbeat(_ id: NodeID) { with(id) { $0.heartbeatNow() } }

    /// The node's leader went silent: virtual time passes beyond every lease, then its election
    /// timer fires. Every node's clock moves (see `leaderLostLocally` for one node only).
    public func leaderLost(_ id: NodeID) {
        now += options.settings.electionTimeoutMax + 1
        with(id) { $0.electionTimeoutNow() }
    }

    /// Only `id`'s clock jumps past its lease, then its election timer fires; the other nodes'
    /// clocks stay, so they still count their leader as heard from (and may refuse the vote).
    public func leaderLostLocally(_ id: NodeID) {
        advanceClock(of: id, by: options.settings.electionTimeoutMax + 1)
        with(id) { $0.electionTimeoutNow() }
    }

    /// Moves `id`'s own clock ahead of the cluster's (it keeps the lead; timers it has due fire
    /// at the next `advance`).
    public func advanceClock(of id: NodeID, by d: Nanos) {
        node(id).clockOffset += d
    }

    /// `id`'s clock: the cluster's virtual time plus what `advanceClock` added.
    public func time(of id: NodeID) -> Nanos { time(of: node(id)) }

    func time(of n: SimNode) -> Nanos { now + n.clockOffset }

    /// Proposes a command at `id`; the outcome appears in `node.outcomes[requestID]`.
    @discardableResult
    public func propose(_ id: NodeID, _ command: String) -> UInt64 {
        propose(id, bytes: Array(command.utf8))
    }

    /// Proposes a command of any bytes at `id` (as `propose(_:_:)`).
    @discardableResult
    public func propose(_ id: NodeID, bytes command: [UInt8]) -> UInt64 {
        let rid = nextRequestID
        nextRequestID += 1
        record(.event(node: id, op: "CMD START"))
        with(id) { $0.propose(command, id: rid) }
        return rid
    }

    public func newRequestID() -> UInt64 {
        defer { nextRequestID += 1 }
        return nextRequestID
    }

    public func outcome(_ rid: UInt64) -> CommandOutcome? {
        for n in nodes.values { if let o = n.outcomes[rid] { return o } }
        return nil
    }

    /// Proposes at the leader, delivers until the outcome is known, then has the leader send a
    /// heartbeat so followers learn the commit (the seed's normal command sequence).
    @discardableResult
    public func runCommand(_ command: String, at id: NodeID? = nil) -> CommandOutcome? {
        guard let target = id ?? leader?.id else { return nil }
        let rid = propose(target, command)
        deliverUntil { outcome(rid) != nil }
        if let l = leader { heartbeat(l.id) }
        deliverAll()
        return outcome(rid)
    }

    /// A fresh cluster (options adjusted by `configure`) in which node 1 has won an election:
    /// the usual starting point of a scenario.
    public static func elected(_ configure: (inout Options) -> Void = { _ in }) -> SimCluster {
        var o = Options()
        configure(&o)
        let c = SimCluster(o)
        c.elect(c.id(1))
        return c
    }

    /// Elects `id` (campaign, then deliver until quiet).
    public func elect(_ id: NodeID) {
        campaign(id)
        deliverAll()
    }

    // MARK: Time

    /// Advances virtual time, firing due timers on nodes whose timers are enabled.
    public func advance(by d: Nanos) {
        let target = now + d
        while true {
            let due = ids.compactMap { id -> (NodeID, Nanos)? in
                let n = node(id)
                // Deadlines are in the node's clock; in the cluster's, they come clockOffset earlier.
                guard n.isUp, n.timersEnabled, let local = n.raft?.nextDeadline else { return nil }
                let dl = local > n.clockOffset ? local - n.clockOffset : 0
                guard dl <= target else { return nil }
                return (id, dl)
            }.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
            guard let (id, dl) = due else { break }
            now = max(now, dl)
            landDelayed()
            let n = node(id)
            with(id) { $0.tick(now: time(of: n)) }
        }
        now = target
        landDelayed()
    }

    public func enableTimers(_ on: Bool = true) {
        for n in nodes.values { n.timersEnabled = on }
    }

    /// Runs the whole cluster for `duration`: timers fire, every message is delivered after
    /// `latency`, and every sync job in flight completes within it.
    public func run(for duration: Nanos, latency: Nanos = 1_000_000) {
        let end = now + duration
        while now < end {
            advance(by: min(latency, end - now))
            completeAllSyncJobs()
            deliverAll()
        }
    }

    /// Every node's state, one block per node (for failing tests).
    public var stateDescription: String {
        ids.map { id in
            let n = node(id)
            guard let r = n.raft else { return "\(id) CRASHED last=\(n.log.lastIndex)" }
            return (n.crashed ? "(crashed) " : "") + r.debugDescription + " inbox=\(n.inbox.count)"
        }.joined(separator: "\n")
    }

    // MARK: Trace

    public func section(_ title: String) { trace.startSection(title) }

    func record(_ action: TraceAction) {
        guard tracing else { return }
        var states: [NodeID: TraceNodeState] = [:]
        for id in ids {
            let n = node(id)
            states[id] = TraceNodeState(role: n.isUp ? n.role : .follower, term: n.term, lastIndex: n.log.lastIndex,
                                        lastTerm: n.log.lastTerm, commitIndex: n.commitIndex,
                                        crashed: n.crashed, onMinority: onMinority(id))
        }
        trace.record(TraceLine(action: action, states: states))
    }
}
