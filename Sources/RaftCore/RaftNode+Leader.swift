/// Leader side of log replication: appends, heartbeats, acknowledgements, commit.
extension RaftNode {
    var maxInflight: Int { Int(settings.maxInflight) }
    var maxEntriesPerMessage: LogIndex { LogIndex(settings.maxEntriesPerMessage) }

    /// Sends as many appends to `peer` as its state allows: one probe, or batches up to the
    /// inflight window when replicating.
    func sendAppends(to peer: NodeID) {
        guard !pausedForTransfer(peer) else { return }
        while let pr = leadership?.progress[peer], !pr.isPaused(maxInflight: maxInflight, maxInflightBytes: settings.maxInflightBytes),
              pr.next <= log.lastIndex {
            guard sendAppend(to: peer, heartbeat: false) else { break }
        }
    }

    /// Sends one append-entries to `peer` starting at its `next`. A heartbeat carries no
    /// entries. Returns false when nothing could be sent.
    @discardableResult
    func sendAppend(to peer: NodeID, heartbeat: Bool) -> Bool {
        guard let next = leadership?.progress[peer]?.next, !pausedForTransfer(peer) else { return false }
        let prevIndex = next - 1
        guard let prevTerm = log.term(at: prevIndex) else {
            // The entries this follower needs were compacted: it needs the snapshot.
            sendSnapshot(to: peer)
            return false
        }
        var entries: [Entry] = []
        if !heartbeat && next <= log.lastIndex {
            let through = min(log.lastIndex, next + maxEntriesPerMessage - 1)
            do {
                entries = try log.entries(from: next, through: through, maxBytes: options.maxBytesPerMessage)
            } catch LogError.compacted {
                sendSnapshot(to: peer)
                return false
            } catch {
                storageFailed(error)
                return false
            }
        }
        // Every append carries the latest read context, so ordinary traffic confirms reads too.
        let ae = AppendEntries(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commitIndex: commitIndex,
                               context: readContext)
        send(peer, .appendEntries(ae))
        var bytes: UInt64 = 0
        for e in entries { bytes &+= UInt64(e.data.count) }
        leadership?.progress.update(peer) { $0.sentAppend(lastIndex: entries.last?.index, bytes: bytes) }
        return true
    }

    func broadcastHeartbeat() {
        leadership?.heartbeatDeadline = now &+ settings.heartbeatPeriod
        for peer in replicationTargets { sendHeartbeat(to: peer) }
    }

    /// A heartbeat asserts leadership and carries the commit index. Its prev is the follower's
    /// `next - 1`, so a follower that lost appends rejects it and is probed from its last index.
    func sendHeartbeat(to peer: NodeID) {
        guard let pr = leadership?.progress[peer], !pausedForTransfer(peer) else { return }
        if case .snapshot = pr.state {
            // Chunks carry the leader's term; resend the current one in case it was lost.
            sendSnapshot(to: peer)
            return
        }
        // A heartbeat also reopens a probe whose answer may have been lost.
        leadership?.progress.update(peer) { $0.probeSent = false }
        sendAppend(to: peer, heartbeat: true)
    }

    func handleAppendResponse(from peer: NodeID, _ r: AppendResponse) {
        guard leadership?.progress.contains(peer) == true else { return }
        let now = self.now
        leadership?.progress.update(peer) {
            $0.recentActive = true
            $0.lastContact = now
        }
        // Any answer in our term shows the follower still accepts us as leader.
        noteReadAck(from: peer, context: r.context)
        if r.success {
            let lastIndex = log.lastIndex
            var catchingUp = false
            let updated = leadership?.progress.update(peer) { pr -> Bool in
                let updated = pr.acknowledge(r.index)
                switch pr.state {
                case .probe:
                    pr.becomeReplicate()
                    catchingUp = pr.match < lastIndex
                case .replicate:
                    if r.lastIndex < pr.match {
                        // Its log is shorter than what it acknowledged before: it lost data.
                        pr.becomeProbe(next: r.lastIndex + 1)
                    }
                case .snapshot(let pendingIndex, _):
                    if pr.match >= pendingIndex {
                        // It already holds what the snapshot covers: back to entries.
                        pr.becomeProbe(next: pr.match + 1)
                    }
                }
                return updated
            } ?? false
            if catchingUp { emit(.resync(.sendingCatchup, peer: peer)) }
            if updated { maybeCommit() }
            onFollowerProgress(peer)
            if role == .leader { sendAppends(to: peer) }
        } else {
            guard let pr = leadership?.progress[peer] else { return }
            // Stale rejections (for an index already matched, or not the probe we are waiting
            // on) carry no news.
            if r.index <= pr.match { return }
            if case .probe = pr.state, r.index != pr.next - 1 { return }
            if case .snapshot = pr.state { return }
            var next = r.lastIndex + 1
            if r.hintTerm > 0 {
                // Skip the whole conflicting term in one step instead of one entry at a time.
                next = findConflictByTerm(index: r.hintIndex, term: r.hintTerm) + 1
            }
            next = min(next, r.index)
            leadership?.progress.update(peer) { $0.becomeProbe(next: next) }
            emit(.resync(.sendingBackdown, peer: peer))
            sendAppends(to: peer)
            if let p = leadership?.progress[peer], p.state == .probe, !p.probeSent, p.next > log.lastIndex {
                // Nothing left to send as entries: confirm with an empty append.
                sendAppend(to: peer, heartbeat: true)
            }
        }
    }

    /// The largest index at or below `index` whose term is at most `term` (etcd's
    /// findConflictByTerm), falling back to the compacted prefix.
    func findConflictByTerm(index: LogIndex, term t: Term) -> LogIndex {
        var i = min(index, log.lastIndex)
        while i > log.prefix.index {
            if let ti = log.term(at: i), ti <= t { return i }
            i -= 1
        }
        return log.prefix.index
    }

    /// Raft §5.3/§5.4.2: commit the highest index held by a majority of voters, if it belongs
    /// to the current term. The leader counts itself only up to what it made durable.
    func maybeCommit() {
        guard role == .leader else { return }
        let durable = durableIndex
        guard let candidate = Quorum.agreedValue(config.members.lazy.filter(\.isVoter), {
            $0.id == id ? durable : leadership?.progress.match(of: $0.id) ?? 0
        }) else { return }
        guard candidate > commitIndex, log.term(at: candidate) == term else { return }
        advanceCommit(to: candidate)
    }
}
