/// Linearizable reads without writing the log (thesis §6.4, ReadIndex): the leader notes its
/// commit index, confirms it is still leader with a round of heartbeats acknowledged by a
/// majority, and answers once its state machine has applied up to that index. The host then
/// reads its state machine directly.
extension RaftNode {
    struct ReadRequest {
        var id: UInt64
        var index: LogIndex
        var context: UInt64
        var deadline: Nanos
    }

    /// Asks for a linearizable read point. The completion for `requestID` is `.applied([])`
    /// once reading the local state machine is linearizable, otherwise redirect/retry/timeout.
    public func readIndex(requestID: UInt64) {
        guard !stopped else { return complete(requestID, .stopped) }
        guard let l = leadership else { return complete(requestID, notLeaderOutcome()) }
        let deadline = now &+ options.commandTimeout
        // Until the leader commits an entry of its own term it does not know the commit index.
        guard log.term(at: commitIndex) == term else {
            l.reads.awaitingTermCommit.append(ReadRequest(id: requestID, index: 0, context: 0, deadline: deadline))
            return
        }
        enqueueRead(ReadRequest(id: requestID, index: commitIndex, context: 0, deadline: deadline))
    }

    func enqueueRead(_ r: ReadRequest) {
        guard let l = leadership else { return }
        var r = r
        if config.voterIDs.count <= 1 && config.isVoter(id) {
            r.context = 0
            l.reads.confirmed.append(r)
            serveReads()
            return
        }
        // Reads queued between two heartbeat rounds share one round.
        if !l.reads.roundPending {
            readContext += 1
            l.reads.roundPending = true
        }
        r.context = readContext
        l.reads.awaitingQuorum.append(r)
    }

    /// Leader: sends the heartbeat round that confirms pending reads (from `takeReady`).
    func flushReadRound() {
        guard let l = leadership, l.reads.roundPending else { return }
        l.reads.roundPending = false
        broadcastHeartbeat()
    }

    /// Leader: a follower answered an append carrying `context`.
    func noteReadAck(from peer: NodeID, context: UInt64) {
        guard context > 0, let l = leadership else { return }
        if context > (l.reads.acks[peer] ?? 0) { l.reads.acks[peer] = context }
        guard let oldest = l.reads.awaitingQuorum.first else { return }
        // The highest context acknowledged by a majority (self always counts).
        let current = readContext
        let acks = l.reads.acks
        guard let confirmedUpTo = Quorum.agreedValue(config.members.lazy.filter(\.isVoter), {
            $0.id == id ? current : (acks[$0.id] ?? 0)
        }), confirmedUpTo >= oldest.context else { return }
        while let r = l.reads.awaitingQuorum.first, r.context <= confirmedUpTo {
            l.reads.awaitingQuorum.removeFirst()
            l.reads.confirmed.append(r)
        }
        serveReads()
    }

    /// Answers confirmed reads whose index has been applied.
    func serveReads() {
        guard let l = leadership else { return }
        while let r = l.reads.confirmed.first, r.index <= appliedIndex {
            l.reads.confirmed.removeFirst()
            complete(r.id, .applied([]))
        }
    }

    /// The leader committed an entry of its term: reads waiting for that can proceed.
    func releaseReadsAwaitingTermCommit() {
        guard let l = leadership, !l.reads.awaitingTermCommit.isEmpty, log.term(at: commitIndex) == term else { return }
        let waiting = l.reads.awaitingTermCommit
        l.reads.awaitingTermCommit.removeAll()
        for var r in waiting {
            r.index = commitIndex
            enqueueRead(r)
        }
    }

    /// Leadership ended: every read it had not answered goes to the next leader.
    func failReads(_ reads: PendingReads) {
        for r in reads.awaitingTermCommit + reads.awaitingQuorum + reads.confirmed { complete(r.id, notLeaderOutcome()) }
    }

    func expireReads() {
        guard let l = leadership else { return }
        func expire(_ list: inout [ReadRequest]) {
            let due = list.filter { $0.deadline <= now }
            guard !due.isEmpty else { return }
            list.removeAll { $0.deadline <= now }
            for r in due { complete(r.id, .timeout) }
        }
        expire(&l.reads.awaitingTermCommit)
        expire(&l.reads.awaitingQuorum)
        expire(&l.reads.confirmed)
    }

    var earliestReadDeadline: Nanos? {
        guard let reads = leadership?.reads else { return nil }
        return (reads.awaitingTermCommit + reads.awaitingQuorum + reads.confirmed).map(\.deadline).min()
    }
}

/// A leader's ReadIndex requests by stage, and what its followers have confirmed.
struct PendingReads {
    /// Waiting for the leader's first commit in its term.
    var awaitingTermCommit: [RaftNode.ReadRequest] = []
    /// Waiting for a majority to acknowledge their round's context.
    var awaitingQuorum: [RaftNode.ReadRequest] = []
    /// Confirmed, waiting for their index to apply.
    var confirmed: [RaftNode.ReadRequest] = []
    /// The highest read context each follower acknowledged.
    var acks: [NodeID: UInt64] = [:]
    /// Reads were queued since the last confirming round went out.
    var roundPending = false
}
