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
        guard role == .leader else { return complete(requestID, notLeaderOutcome()) }
        let deadline = now &+ options.commandTimeout
        // Until the leader commits an entry of its own term it does not know the commit index.
        guard log.term(at: commitIndex) == term else {
            readsAwaitingTermCommit.append(ReadRequest(id: requestID, index: 0, context: 0, deadline: deadline))
            return
        }
        enqueueRead(ReadRequest(id: requestID, index: commitIndex, context: 0, deadline: deadline))
    }

    func enqueueRead(_ r: ReadRequest) {
        var r = r
        if config.voterIDs.count <= 1 && config.isVoter(id) {
            r.context = 0
            readsConfirmed.append(r)
            serveReads()
            return
        }
        // Reads queued between two heartbeat rounds share one round.
        if !readRoundPending {
            readContext += 1
            readRoundPending = true
        }
        r.context = readContext
        readsAwaitingQuorum.append(r)
    }

    /// Leader: sends the heartbeat round that confirms pending reads (from `takeReady`).
    func flushReadRound() {
        guard role == .leader, readRoundPending else { return }
        readRoundPending = false
        broadcastHeartbeat()
    }

    /// Leader: a follower answered an append carrying `context`.
    func noteReadAck(from peer: NodeID, context: UInt64) {
        guard context > 0 else { return }
        if context > (readAcks[peer] ?? 0) { readAcks[peer] = context }
        guard let oldest = readsAwaitingQuorum.first else { return }
        // The highest context acknowledged by a majority (self always counts).
        let current = readContext
        guard let confirmedUpTo = Quorum.agreedValue(config.members.lazy.filter(\.isVoter), {
            $0.id == id ? current : (readAcks[$0.id] ?? 0)
        }), confirmedUpTo >= oldest.context else { return }
        while let r = readsAwaitingQuorum.first, r.context <= confirmedUpTo {
            readsAwaitingQuorum.removeFirst()
            readsConfirmed.append(r)
        }
        serveReads()
    }

    /// Answers confirmed reads whose index has been applied.
    func serveReads() {
        while let r = readsConfirmed.first, r.index <= appliedIndex {
            readsConfirmed.removeFirst()
            complete(r.id, .applied([]))
        }
    }

    /// The leader committed an entry of its term: reads waiting for that can proceed.
    func releaseReadsAwaitingTermCommit() {
        guard role == .leader, !readsAwaitingTermCommit.isEmpty, log.term(at: commitIndex) == term else { return }
        let waiting = readsAwaitingTermCommit
        readsAwaitingTermCommit.removeAll()
        for var r in waiting {
            r.index = commitIndex
            enqueueRead(r)
        }
    }

    func failReads() {
        let all = readsAwaitingTermCommit + readsAwaitingQuorum + readsConfirmed
        readsAwaitingTermCommit.removeAll()
        readsAwaitingQuorum.removeAll()
        readsConfirmed.removeAll()
        readAcks.removeAll()
        readRoundPending = false
        for r in all { complete(r.id, notLeaderOutcome()) }
    }

    func expireReads() {
        func expire(_ list: inout [ReadRequest]) {
            let due = list.filter { $0.deadline <= now }
            guard !due.isEmpty else { return }
            list.removeAll { $0.deadline <= now }
            for r in due { complete(r.id, .timeout) }
        }
        expire(&readsAwaitingTermCommit)
        expire(&readsAwaitingQuorum)
        expire(&readsConfirmed)
    }

    var earliestReadDeadline: Nanos? {
        (readsAwaitingTermCommit + readsAwaitingQuorum + readsConfirmed).map(\.deadline).min()
    }
}
