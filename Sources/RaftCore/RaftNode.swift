/// One Raft node: a deterministic state machine over its inputs (messages, proposals, the time
/// the driver reports) producing `Ready` outputs. It owns no clock, thread, file or socket:
/// the driver (RaftSim or RaftUV) feeds it and carries out what it asks.
public final class RaftNode {
    public let id: NodeID
    let options: NodeOptions
    let log: RaftLog
    let stateMachine: StateMachine
    var rng: any RandomNumberGenerator

    // Persistent state (mirrored from the log's hard state).
    public internal(set) var term: Term = 0
    public internal(set) var votedFor: NodeID?

    // Volatile state.
    /// What this node holds in its role (RoleState): a follower's and a candidate's election
    /// timer, a candidate's votes, a leader's followers, reads and changes. Until `init` arms
    /// the timer, a follower that knows no leader.
    var roleState: RoleState = .follower(Follower(electionDeadline: 0, leaderContact: nil))
    public var role: Role { roleState.role }
    public internal(set) var leaderID: NodeID?
    public internal(set) var commitIndex: LogIndex = 0
    public internal(set) var appliedIndex: LogIndex = 0
    public internal(set) var stopped = false
    public internal(set) var counters = NodeCounters()
    /// Highest index this node has made durable (the leader counts itself only up to here).
    var durableIndex: LogIndex = 0
    /// Bumped by every truncation and snapshot install: a `SyncMark` taken before one no
    /// longer says which entries its sync covered (RaftNode+Durability).
    var durableEpoch: UInt64 = 0
    var now: Nanos

    /// Membership in force: the latest config in the log, committed or not (thesis §4.1).
    public internal(set) var config: ClusterConfig
    var configIndex: LogIndex = 0
    /// Config before the first retained entry (from the snapshot or bootstrap).
    var baseConfig: ClusterConfig
    /// Settings in force: those of the latest committed config.
    public internal(set) var settings: ClusterSettings

    /// Proposals waiting for their entry to apply, by log index. Kept across role changes: an
    /// entry appended as leader may still commit under the next leader.
    var pending: [LogIndex: PendingCommand] = [:]
    /// Pending indexes in proposal order. Deadlines grow with the index (one timeout, a
    /// monotonic clock), so the head holds the earliest: no scan of every pending command per
    /// loop turn. Entries already removed from `pending` are skipped lazily.
    var pendingOrder: [(index: LogIndex, deadline: Nanos)] = []
    var pendingHead = 0
    /// Set when an apply failed under the retry policy: nothing later applies before it does.
    var applyBlocked = false
    /// When the blocked apply is tried again, and the backoff so far.
    var applyRetryAt: Nanos?
    var applyRetry: ApplyRetry?

    struct ApplyRetry {
        var index: LogIndex
        var attempts: Int
        var delay: Nanos
    }

    // Cluster operations (a leader's own are in `Leadership`).
    /// This node's own join or exit request.
    var localChange: LocalChange?
    /// Set once this node has been in the configuration, so a later removal stops it.
    var wasMember = false
    /// Snapshot chunks received so far. Kept across role changes, so a transfer that an
    /// election interrupted continues where it was if the same leader resumes it.
    var incomingSnapshot: IncomingSnapshot?

    /// The latest ReadIndex round's context. It grows over the node's whole life, not per
    /// leadership, so no two rounds of this node ever share a context.
    var readContext: UInt64 = 0

    var ready = Ready()

    struct PendingCommand {
        var id: UInt64
        var term: Term
        var deadline: Nanos
    }

    /// Restores a node from its log. The state machine must be empty: committed entries are
    /// replayed into it from the snapshot and the log.
    public init(options: NodeOptions, log: RaftLog, stateMachine: StateMachine,
                random: any RandomNumberGenerator, now: Nanos) throws {
        guard !log.isBroken else { throw RaftError.logBroken }
        self.id = options.id
        self.options = options
        self.log = log
        self.stateMachine = stateMachine
        self.rng = random
        self.now = now

        let hs = log.hardState
        term = hs.term
        votedFor = hs.votedFor

        if let snap = log.snapshotMeta {
            baseConfig = snap.config
        } else if let boot = log.bootstrapConfig {
            baseConfig = boot
        } else if let initial = options.initialConfig {
            if let why = initial.settings.validationError() { throw RaftError.invalidSettings(why) }
            do { try log.saveBootstrapConfig(initial) } catch { throw RaftError.storage("\(error)") }
            baseConfig = initial
            ready.needsSync = true
        } else {
            // A node joining an existing cluster starts with no membership and learns it from
            // the leader's log; it never campaigns until it is a voter.
            baseConfig = ClusterConfig(members: [])
        }
        config = baseConfig
        settings = baseConfig.settings
        durableIndex = log.lastIndex

        if let snap = try? log.loadSnapshot() {
            do { try stateMachine.restore(snap.data) } catch {
                throw RaftError.storage("snapshot restore failed: \(error)")
            }
            appliedIndex = snap.meta.index
        }
        commitIndex = max(log.commitIndex, log.prefix.index, appliedIndex)
        commitIndex = min(commitIndex, log.lastIndex)
        appliedIndex = max(appliedIndex, min(log.prefix.index, commitIndex))
        try reloadConfig()
        applyCommitted()
        // Only now, so that replaying committed history above never reads as a fresh removal:
        // a node restarted between receiving its removal and learning that it committed must
        // still stop when it learns.
        if !wasMember { wasMember = appearsInKnownConfig() }
        resetElectionTimer()
        emit(.roleChanged(.follower))
    }

    // MARK: - Inputs

    /// Advances time: fires whichever timers are due.
    public func tick(now: Nanos) {
        guard !stopped else { return }
        if now > self.now { self.now = now }
        expireCommands()
        expireLocalChange()
        expireAddition()
        expireDeferredChange()
        expireTransfer()
        expireReads()
        retryApplyIfDue()
        switch roleState {
        case .leader(let l):
            if self.now >= l.checkQuorumDeadline { checkQuorum() }
            if let l = leadership, self.now >= l.heartbeatDeadline { broadcastHeartbeat() }
        case .follower(let f):
            if self.now >= f.electionDeadline { electionTimerFired() }
        case .candidate(let c):
            if self.now >= c.electionDeadline { electionTimerFired() }
        }
    }

    /// The earliest time at which `tick` has work to do, if any.
    public var nextDeadline: Nanos? {
        guard !stopped else { return nil }
        var d: [Nanos] = []
        switch roleState {
        case .leader(let l):
            d.append(l.heartbeatDeadline)
            d.append(l.checkQuorumDeadline)
        case .follower(let f):
            d.append(f.electionDeadline)
        case .candidate(let c):
            d.append(c.electionDeadline)
        }
        if let c = earliestPendingDeadline() { d.append(c) }
        if let a = leadership?.addition { d.append(a.deadline) }
        if let l = localChange { d.append(l.deadline) }
        if let dc = leadership?.deferredChange { d.append(dc.deadline) }
        if let t = leadership?.transfer { d.append(t.deadline) }
        if let r = earliestReadDeadline { d.append(r) }
        if applyBlocked, let a = applyRetryAt { d.append(a) }
        return d.min()
    }

    /// Handles one message addressed to this node.
    public func receive(_ m: Message, now: Nanos? = nil) {
        if let now, now > self.now { self.now = now }
        guard !stopped, m.to == id else { return }
        switch m.body {
        case .membershipChange, .membershipChangeResponse:
            // Not part of the term protocol.
            handleMembershipMessage(m)
            return
        default:
            break
        }
        if m.term > term {
            guard adoptHigherTerm(from: m) else { return }
        } else if m.term < term {
            answerStale(m)
            return
        }
        switch m.body {
        case .preVote(let req): handlePreVote(from: m.from, term: m.term, req)
        case .requestVote(let req): handleRequestVote(from: m.from, req)
        case .preVoteResponse(let r): handleVoteResponse(from: m.from, granted: r.granted, preVote: true, term: m.term)
        case .requestVoteResponse(let r): handleVoteResponse(from: m.from, granted: r.granted, preVote: false, term: m.term)
        case .appendEntries(let ae): handleAppendEntries(from: m.from, ae)
        case .appendResponse(let r): handleAppendResponse(from: m.from, r)
        case .installSnapshot(let s): handleInstallSnapshot(from: m.from, s)
        case .installSnapshotResponse(let r): handleInstallSnapshotResponse(from: m.from, r)
        case .timeoutNow(let t): handleTimeoutNow(from: m.from, t)
        case .membershipChange, .membershipChangeResponse: break
        }
    }

    /// Submits a command. The outcome arrives as a `Completion` with the same `id`.
    public func propose(_ command: [UInt8], id requestID: UInt64) {
        guard !stopped else { return refuse(requestID, .stopped) }
        guard let l = leadership else { return refuse(requestID, notLeaderOutcome()) }
        guard acceptingCommands else { return refuse(requestID, .retry) }
        guard command.count <= options.maxCommandSize else {
            return refuse(requestID, .rejected(.commandTooLarge(size: command.count, max: options.maxCommandSize)))
        }
        let index = log.lastIndex + 1
        guard appendLocal([Entry(index: index, term: term, kind: .command, data: command)]) else {
            return refuse(requestID, .stopped)
        }
        counters.proposals += 1
        let deadline = now &+ options.commandTimeout
        pending[index] = PendingCommand(id: requestID, term: term, deadline: deadline)
        pendingOrder.append((index, deadline))
        l.replicationPending = true
    }

    /// Whether the next `takeReady` holds command outcomes (a driver may take it early, so
    /// answers leave as soon as a commit makes them, not at the end of its turn).
    public var hasCompletions: Bool { !ready.completions.isEmpty }

    /// Collects everything the driver must do now. See `Ready` for the order.
    public func takeReady() -> Ready {
        if let l = leadership, l.replicationPending {
            l.replicationPending = false
            for peer in l.progress.ids { sendAppends(to: peer) }
            // A lone voter commits as soon as its own write is durable.
            maybeCommit()
        }
        flushReadRound()
        let r = ready
        ready = Ready()
        return r
    }

    /// Tells the node that `log.sync()` completed: everything appended so far is durable.
    public func didSync() {
        let last = log.lastIndex
        guard last > durableIndex || durableIndex > last else { return }
        durableIndex = last
        if role == .leader { maybeCommit() }
    }

    public var status: NodeStatus {
        NodeStatus(id: id, role: role, term: term, leaderID: leaderID, votedFor: votedFor,
                   commitIndex: commitIndex, appliedIndex: appliedIndex,
                   lastIndex: log.lastIndex, lastTerm: log.lastTerm, firstIndex: log.firstIndex,
                   stopped: stopped, config: config, settings: settings, counters: counters)
    }

    /// Stops the node: pending commands, and its own join or exit request, complete with
    /// `.stopped`; later inputs are ignored.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        failAllPending(.stopped)
        dropDeferredChange(local: .stopped, error: .stopped)
        // This node's own join or exit has nobody left to finish it.
        if let lc = localChange {
            localChange = nil
            complete(lc.requestID, .stopped)
        }
        // Its timers stay as they are: a stopped node has no deadlines and ignores ticks.
    }

    // MARK: - Shared helpers

    var acceptingCommands: Bool { transferTarget == nil }

    /// The leader's state; nil unless leading.
    var leadership: Leadership? {
        if case .leader(let l) = roleState { return l }
        return nil
    }

    /// Enters `next`, built whole by the caller, and reports a change of role.
    func become(_ next: RoleState) {
        let before = role
        roleState = next
        if role != before { emit(.roleChanged(role)) }
    }

    func emit(_ e: RaftEvent) {
        counters.count(e)
        ready.events.append(e)
    }

    private func refuse(_ requestID: UInt64, _ outcome: CommandOutcome) {
        counters.refusedProposals += 1
        complete(requestID, outcome)
    }

    func complete(_ requestID: UInt64, _ outcome: CommandOutcome) {
        ready.completions.append(Completion(id: requestID, outcome: outcome))
    }

    func notLeaderOutcome() -> CommandOutcome {
        if role == .follower, let l = leaderID, l != id {
            return .redirect(leader: l, address: config.member(l)?.address ?? "")
        }
        return .retry
    }

    /// Sends a message that reveals nothing that must be durable first.
    func send(_ to: NodeID, _ body: MessageBody, term t: Term? = nil) {
        ready.messages.append(Message(from: id, to: to, term: t ?? term, body: body))
    }

    /// Sends a message only after the next sync (votes, acknowledgements of appended entries).
    func sendAfterSync(_ to: NodeID, _ body: MessageBody, term t: Term? = nil) {
        ready.messagesAfterSync.append(Message(from: id, to: to, term: t ?? term, body: body))
    }

    func randomElectionTimeout() -> Nanos {
        let lo = options.electionTimeoutRange?.lowerBound ?? settings.electionTimeoutMin
        let hi = max(options.electionTimeoutRange?.upperBound ?? settings.electionTimeoutMax, lo)
        return lo + (hi > lo ? UInt64.random(in: 0...(hi - lo), using: &rng) : 0)
    }

    /// A fresh election deadline for a follower or candidate. A leader has none; the draw is
    /// made all the same, so a seed always draws the same sequence of timeouts.
    func resetElectionTimer() {
        let deadline = now &+ randomElectionTimeout()
        switch roleState {
        case .follower(var f):
            f.electionDeadline = deadline
            roleState = .follower(f)
        case .candidate(var c):
            c.electionDeadline = deadline
            roleState = .candidate(c)
        case .leader:
            break
        }
    }

    func saveHardState() -> Bool {
        do {
            try log.saveHardState(HardState(term: term, votedFor: votedFor))
            ready.needsSync = true
            return true
        } catch {
            storageFailed(error)
            return false
        }
    }

    func setTerm(_ t: Term) {
        guard t != term else { return }
        term = t
        votedFor = nil
        emit(.termChanged(t))
    }

    func setLeader(_ l: NodeID?) {
        guard l != leaderID else { return }
        leaderID = l
        emit(.leaderChanged(l))
    }

    /// Appends entries to the local log; on storage failure the node stops.
    @discardableResult
    func appendLocal(_ entries: [Entry]) -> Bool {
        guard !entries.isEmpty else { return true }
        do {
            try log.append(entries)
        } catch {
            storageFailed(error)
            return false
        }
        ready.needsSync = true
        for e in entries where e.kind == .config { adoptConfigEntry(e) }
        return true
    }

    func storageFailed(_ error: Error) {
        emit(.error("storage failure: \(error)"))
        emit(.stopCommanded(reason: .storageFailed("\(error)")))
        stop()
    }

    func failAllPending(_ outcome: CommandOutcome) {
        for index in pending.keys.sorted() {
            if let p = pending.removeValue(forKey: index) { complete(p.id, outcome) }
        }
    }

    func expireCommands() {
        while let d = earliestPendingDeadline(), d <= now {
            let index = pendingOrder[pendingHead].index
            pendingHead += 1
            if let p = pending.removeValue(forKey: index) { complete(p.id, .timeout) }
        }
        compactPendingOrder()
    }

    /// The deadline at the head of `pendingOrder`, dropping heads already resolved.
    func earliestPendingDeadline() -> Nanos? {
        while pendingHead < pendingOrder.count {
            let head = pendingOrder[pendingHead]
            // A matching deadline tells the live proposal from an older one at the same index.
            if let p = pending[head.index], p.deadline == head.deadline { return p.deadline }
            pendingHead += 1
        }
        compactPendingOrder()
        return nil
    }

    private func compactPendingOrder() {
        if pendingHead == pendingOrder.count {
            pendingOrder.removeAll(keepingCapacity: true)
            pendingHead = 0
        } else if pendingHead > 4096 && pendingHead * 2 > pendingOrder.count {
            pendingOrder.removeFirst(pendingHead)
            pendingHead = 0
        }
    }

    /// Voters other than this node.
    var otherVoters: [NodeID] { config.voterIDs.filter { $0 != id } }
    /// Every node the leader replicates to (voters and learners); none unless leading.
    var replicationTargets: [NodeID] { leadership?.progress.ids ?? [] }
}
