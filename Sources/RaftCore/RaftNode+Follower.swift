/// Follower side of log replication.
extension RaftNode {
    /// Accepts the sender as leader of our (equal) term.
    func followLeader(_ leader: NodeID) {
        // Callers never pass a leader here (it refuses appends and snapshots of its own term).
        if let l = leadership { settle(l, higherTerm: false) }
        // A candidate that hears from a leader of its own term steps back (Raft §5.2); a
        // follower takes a fresh timer and the contact time.
        become(.follower(Follower(electionDeadline: now &+ randomElectionTimeout(), leaderContact: now)))
        if leaderID != leader {
            setLeader(leader)
            emit(.election(.joinedLeader))
        }
    }

    func handleAppendEntries(from leader: NodeID, _ ae: AppendEntries) {
        if role == .leader {
            // Two leaders in one term cannot happen (election safety); refuse loudly.
            emit(.error("append-entries from \(leader) in our own term \(term) while leader"))
            return
        }
        followLeader(leader)
        if applyBlocked { applyCommitted() }

        if ae.prevIndex < commitIndex {
            // Everything up to our commit index already matches the leader (Log Matching and
            // Leader Completeness), so only the part after it needs checking.
            let tail = ae.entries.filter { $0.index > commitIndex }
            if let first = tail.first, first.index == commitIndex + 1, let t = log.term(at: commitIndex) {
                let sub = AppendEntries(prevIndex: commitIndex, prevTerm: t, entries: tail,
                                        commitIndex: ae.commitIndex, context: ae.context)
                return handleAppendEntries(from: leader, sub)
            }
            sendAfterSync(leader, .appendResponse(AppendResponse(success: true, index: commitIndex,
                                                                 lastIndex: log.lastIndex, context: ae.context)))
            return
        }

        guard let ourPrevTerm = log.term(at: ae.prevIndex), ourPrevTerm == ae.prevTerm else {
            rejectAppend(to: leader, ae)
            return
        }

        // Find the first entry we do not already hold with the same term.
        var firstNew = ae.entries.count
        for (i, e) in ae.entries.enumerated() {
            guard let t = log.term(at: e.index) else { firstNew = i; break }
            if t != e.term {
                // A conflicting suffix: drop it (it can never be committed) and take the
                // leader's entries instead.
                guard e.index > commitIndex else {
                    emit(.error("leader \(leader) conflicts with committed entry \(e.index); ignored"))
                    return
                }
                guard truncateLocal(from: e.index) else { return }
                firstNew = i
                break
            }
        }
        if firstNew < ae.entries.count {
            guard appendLocal(Array(ae.entries[firstNew...])) else { return }
        }
        let lastNew = ae.prevIndex + LogIndex(ae.entries.count)
        sendAfterSync(leader, .appendResponse(AppendResponse(success: true, index: lastNew,
                                                             lastIndex: log.lastIndex, context: ae.context)))
        // Raft Figure 2: commit up to the leader's commit, but no further than what is known to
        // match the leader (the seed library used its own last index, which may not match).
        let newCommit = min(ae.commitIndex, lastNew)
        if newCommit > commitIndex { advanceCommit(to: newCommit) }
    }

    func rejectAppend(to leader: NodeID, _ ae: AppendEntries) {
        let last = log.lastIndex
        var hintIndex = min(ae.prevIndex, last)
        var hintTerm: Term = 0
        if hintIndex > log.prefix.index, ae.prevIndex <= last {
            // Term conflict at prevIndex: report the last index whose term is at most the
            // leader's prevTerm, so the leader can skip the divergent term.
            hintIndex = findConflictByTerm(index: hintIndex, term: ae.prevTerm)
            hintTerm = log.term(at: hintIndex) ?? 0
        }
        let r = AppendResponse(success: false, index: ae.prevIndex, lastIndex: last,
                               hintIndex: hintIndex, hintTerm: hintTerm, context: ae.context)
        send(leader, .appendResponse(r))
    }

    /// Removes a conflicting suffix, undoing any configuration it carried. Pending commands in
    /// the removed range learn they will never apply.
    @discardableResult
    func truncateLocal(from index: LogIndex) -> Bool {
        do {
            try log.truncate(from: index)
        } catch {
            storageFailed(error)
            return false
        }
        ready.needsSync = true
        durableEpoch &+= 1
        if durableIndex >= index { durableIndex = index - 1 }
        if configIndex >= index {
            do { try reloadConfig() } catch { storageFailed(error); return false }
        }
        for i in pending.keys.sorted() where i >= index {
            if let p = pending.removeValue(forKey: i) { complete(p.id, notLeaderOutcome()) }
        }
        return true
    }
}
