/// Snapshots: taking one locally (log compaction) and sending / installing one in chunks for
/// a follower behind the leader's first retained entry (Raft §7).
extension RaftNode {
    /// A snapshot being received: chunks accumulate in memory, so a crash mid-transfer leaves
    /// the previous state untouched and the transfer simply restarts.
    struct IncomingSnapshot {
        var meta: SnapshotMeta
        var data: [UInt8]
    }

    /// Takes a snapshot of the state machine at the last applied index and compacts the log up
    /// to it, keeping `keepTrailing` entries before it for followers that are slightly behind.
    @discardableResult
    public func takeSnapshot(keepTrailing: LogIndex = 0) throws -> SnapshotMeta? {
        guard !stopped else { throw RaftError.stopped }
        let index = appliedIndex
        guard index > (log.snapshotMeta?.index ?? 0), index > log.prefix.index, let t = log.term(at: index) else {
            return nil
        }
        let data: [UInt8]
        do { data = try stateMachine.snapshot() } catch {
            throw RaftError.storage("state machine snapshot failed: \(error)")
        }
        let meta = SnapshotMeta(index: index, term: t, config: try configAt(index))
        let through = index > keepTrailing ? index - keepTrailing : 0
        do { try log.saveSnapshot(meta, data: data, compactThrough: max(through, log.prefix.index)) } catch {
            // As every failed write of the log: the node stops (found by the storage fault mode:
            // a leader whose snapshot write failed went on leading with a log refusing writes).
            storageFailed(error)
            throw RaftError.storage("\(error)")
        }
        ready.needsSync = true
        baseConfig = try configAt(log.prefix.index, fallback: meta.config)
        leadership?.outgoingSnapshot = nil
        emit(.snapshotTaken(index: index))
        return meta
    }

    /// Takes a snapshot when enough entries have been applied since the last one. On a leader
    /// the log is compacted no further than its followers have (within a bound).
    func maybeAutoSnapshot() {
        guard options.snapshotThreshold > 0 else { return }
        let since = appliedIndex - min(appliedIndex, log.snapshotMeta?.index ?? 0)
        guard since >= options.snapshotThreshold else { return }
        var keep = options.snapshotTrailing
        if role == .leader {
            // Keep what the furthest-behind follower still lacks, up to one threshold more, so
            // a follower a few milliseconds behind a busy leader gets entries, not a whole
            // snapshot; a dead follower pins at most a threshold's worth of log.
            let floor = leadership?.progress.minimumMatch ?? appliedIndex
            let lag = appliedIndex - min(appliedIndex, floor)
            keep = max(keep, min(lag, options.snapshotThreshold))
        }
        do { try takeSnapshot(keepTrailing: keep) } catch {
            emit(.error("automatic snapshot failed: \(error)"))
        }
    }

    /// The configuration in force at `index` (the last config entry at or below it).
    func configAt(_ index: LogIndex, fallback: ClusterConfig? = nil) throws -> ClusterConfig {
        if let ci = log.lastConfigIndex(atOrBefore: index) {
            let e = try log.entry(at: ci)
            guard let c = try? ClusterConfig(decoding: e.data) else { throw RaftError.corruptConfigEntry(ci) }
            return c
        }
        return fallback ?? baseConfig
    }

    // MARK: Leader side

    func sendSnapshot(to peer: NodeID) {
        guard let pr = leadership?.progress[peer] else { return }
        if leadership?.outgoingSnapshot == nil {
            do { leadership?.outgoingSnapshot = try log.loadSnapshot() } catch { return storageFailed(error) }
        }
        guard let snap = leadership?.outgoingSnapshot else {
            emit(.error("follower \(peer) needs compacted entries but no snapshot is stored"))
            return
        }
        var offset: UInt64 = 0
        if case .snapshot(let idx, let acknowledged) = pr.state, idx == snap.meta.index {
            // Resend from the last acknowledged offset.
            offset = acknowledged
        } else {
            leadership?.progress.update(peer) { $0.becomeSnapshot(index: snap.meta.index) }
            emit(.resync(.sendingSnapshot, peer: peer))
        }
        offset = min(offset, UInt64(snap.data.count))
        leadership?.progress.update(peer) { $0.state = .snapshot(index: snap.meta.index, offset: offset) }
        let end = min(snap.data.count, Int(offset) + options.snapshotChunkSize)
        let chunk = Array(snap.data[Int(offset)..<end])
        send(peer, .installSnapshot(InstallSnapshot(meta: snap.meta, offset: offset, data: chunk, done: end == snap.data.count)))
    }

    func handleInstallSnapshotResponse(from peer: NodeID, _ r: InstallSnapshotResponse) {
        guard leadership?.progress.contains(peer) == true else { return }
        let now = self.now
        leadership?.progress.update(peer) {
            $0.recentActive = true
            $0.lastContact = now
        }
        guard let pr = leadership?.progress[peer], case .snapshot(let idx, _) = pr.state, idx == r.index, let snap = leadership?.outgoingSnapshot else {
            return
        }
        if r.success && r.offset >= UInt64(snap.data.count) {
            // Installed: continue with the entries after it.
            leadership?.progress.update(peer) {
                _ = $0.acknowledge(snap.meta.index)
                $0.becomeProbe(next: snap.meta.index + 1)
            }
            maybeCommit()
            onFollowerProgress(peer)
            sendAppends(to: peer)
            if let p = leadership?.progress[peer], p.state == .probe, !p.probeSent { sendAppend(to: peer, heartbeat: true) }
            return
        }
        // Next chunk, or a resend from where the follower says it is.
        leadership?.progress.update(peer) { $0.state = .snapshot(index: idx, offset: r.offset) }
        sendSnapshot(to: peer)
    }

    // MARK: Follower side

    func handleInstallSnapshot(from leader: NodeID, _ s: InstallSnapshot) {
        guard role != .leader else {
            send(leader, .installSnapshotResponse(InstallSnapshotResponse(index: s.meta.index, offset: 0, success: false)))
            return
        }
        followLeader(leader)
        if s.meta.index <= commitIndex {
            // We already hold everything it covers.
            sendAfterSync(leader, .appendResponse(AppendResponse(success: true, index: commitIndex, lastIndex: log.lastIndex)))
            return
        }
        if s.offset == 0 {
            incomingSnapshot = IncomingSnapshot(meta: s.meta, data: [])
        }
        guard var inc = incomingSnapshot, inc.meta == s.meta, UInt64(inc.data.count) == s.offset else {
            let have = incomingSnapshot.map { $0.meta == s.meta ? UInt64($0.data.count) : 0 } ?? 0
            send(leader, .installSnapshotResponse(InstallSnapshotResponse(index: s.meta.index, offset: have, success: false)))
            return
        }
        inc.data.append(contentsOf: s.data)
        incomingSnapshot = inc
        guard s.done else {
            send(leader, .installSnapshotResponse(InstallSnapshotResponse(index: s.meta.index, offset: UInt64(inc.data.count), success: true)))
            return
        }
        incomingSnapshot = nil
        do {
            try stateMachine.restore(inc.data)
        } catch {
            emit(.error("snapshot restore failed: \(error)"))
            send(leader, .installSnapshotResponse(InstallSnapshotResponse(index: s.meta.index, offset: 0, success: false)))
            return
        }
        do { try log.installSnapshot(inc.meta, data: inc.data) } catch { return storageFailed(error) }
        ready.needsSync = true
        baseConfig = inc.meta.config
        commitIndex = max(commitIndex, inc.meta.index)
        appliedIndex = inc.meta.index
        applyBlocked = false
        durableIndex = min(durableIndex, log.lastIndex)
        durableEpoch &+= 1
        // Commands this node proposed as leader and that the snapshot now covers: their
        // results are unknowable here.
        for i in pending.keys.sorted() where i <= inc.meta.index {
            if let p = pending.removeValue(forKey: i) { complete(p.id, .timeout) }
        }
        do { try reloadConfig() } catch { return storageFailed(error) }
        emit(.snapshotInstalled(index: inc.meta.index))
        sendAfterSync(leader, .installSnapshotResponse(InstallSnapshotResponse(index: s.meta.index, offset: UInt64(inc.data.count), success: true)))
        applyCommitted()
    }
}
