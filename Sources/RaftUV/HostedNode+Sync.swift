import RaftCore
import RaftStorage

/// A sync on the node's sync thread and what waits for it.
struct InFlightSync {
    let job: DataSync
    /// What the sync covers (taken as it started): the core counts only that as durable.
    let mark: SyncMark
    /// Acknowledgements and votes that reveal state this sync makes durable.
    var messages: [Message]
}

/// Group commit with the fsync on or off the loop thread (`RuntimeNodeConfig.syncPlacement`).
///
/// Off the loop, up to `maxSyncsInFlight` syncs are out, run in order by the sync thread: a
/// round that writes starts one at once (its fsync begins as soon as the one before ends,
/// with no loop wake-up in between); beyond the limit, rounds that write set `syncWanted`,
/// and their acknowledgements and votes wait in `awaitingSync` for the next sync, which
/// starts when one in flight ends and covers them all. A round that writes nothing but sends
/// such a message (an acknowledgement of entries written earlier) waits for the sync that
/// covers those writes: the wanted one if any, else the newest in flight. An inline sync
/// covers every write so far, so whatever waited leaves with it. A leader's own entries count
/// toward a commit only through `didSync(upTo:)` with the mark of the sync that covered them,
/// so a command is acknowledged only once a majority has it durable, the leader included or not.
extension HostedNode {
    /// Two: the next fsync is queued behind the running one instead of waiting for the loop to
    /// learn of its end; more would only split group commits into more fsyncs.
    static let maxSyncsInFlight = 2

    /// A sole voter's round at most this large syncs inline (see `syncsOffLoop`).
    static let soleVoterInlineBytes = 4 << 10

    /// Whether this round's sync goes to the sync thread.
    private var syncsOffLoop: Bool {
        guard let fileLog = log as? FileLog else { return false }
        switch config.syncPlacement {
        case .inline: return false
        case .offLoopWhenLeading:
            guard raft.role == .leader else { return false }
            // A leader that is the only voter has no acknowledgement to take while its fsync
            // runs, so a small round with nothing in flight saves the two thread wake-ups
            // inline (one node, 1 in flight: p50 175 / 186 / 157 µs against 226 / 209 / 200).
            // Large rounds stay off the loop, where the next round's write overlaps this fsync.
            let soleVoter = raft.config.members.allSatisfy { !$0.isVoter || $0.id == raft.id }
            return !(soleVoter && syncsInFlight.isEmpty && fileLog.unsyncedBytes <= Self.soleVoterInlineBytes)
        case .offLoop: return true
        }
    }

    /// One pump round's sync and the messages that wait for it (loop thread). Returns why the
    /// node stopped when a sync failed.
    func syncRound(_ r: Ready) -> String? {
        // When the core's own write already failed it has stopped and said why; a sync now
        // would only report the same full or broken disk a second time.
        let needsSync = r.needsSync && !r.events.contains(where: \.isStorageFailure)
        if needsSync && !syncsOffLoop {
            // Appends leave before our own fsync, so the leader's and the followers' fsyncs
            // overlap instead of adding up.
            if !r.messages.isEmpty { for link in links.values { link.flush() } }
            do {
                let started = UVLoop.now
                try log.sync()
                recordSync(micros: Int((UVLoop.now - started) / 1_000))
                raft.didSync()
            } catch {
                recordSync(micros: nil)
                raft.stop()
                return "log sync failed: \(error)"
            }
            syncWanted = false
            let waiting = syncsInFlight.flatMap(\.messages) + awaitingSync
            awaitingSync.removeAll()
            for i in syncsInFlight.indices { syncsInFlight[i].messages.removeAll() }
            for m in waiting { send(m) }
            for m in r.messagesAfterSync { send(m) }
            return nil
        }
        if needsSync { syncWanted = true }
        if syncWanted {
            awaitingSync += r.messagesAfterSync
            return startSync()
        }
        if !syncsInFlight.isEmpty {
            syncsInFlight[syncsInFlight.count - 1].messages += r.messagesAfterSync
        } else {
            for m in r.messagesAfterSync { send(m) }
        }
        return nil
    }

    /// Starts the wanted sync unless the most are in flight (loop thread).
    private func startSync() -> String? {
        guard syncWanted, syncsInFlight.count < Self.maxSyncsInFlight, let fileLog = log as? FileLog else { return nil }
        syncWanted = false
        // The appends reach the followers before the disk work starts.
        for link in links.values { link.flush() }
        let mark = raft.syncMark
        let waiting = awaitingSync
        awaitingSync.removeAll()
        let started = UVLoop.now
        let job: DataSync?
        do { job = try fileLog.beginSync() } catch {
            recordSync(micros: nil)
            raft.stop()
            return "log sync failed: \(error)"
        }
        guard let job else {
            // Nothing left to wait for (no new bytes; or a metadata change, synced inline).
            recordSync(micros: Int((UVLoop.now - started) / 1_000))
            raft.didSync(upTo: mark)
            for m in waiting { send(m) }
            return nil
        }
        syncsInFlight.append(InFlightSync(job: job, mark: mark, messages: waiting))
        if syncThread == nil { syncThread = SyncThread() }
        syncThread!.submit { [loop = self.loop] in
            let t0 = UVLoop.now
            job.run()
            let micros = Int((UVLoop.now - t0) / 1_000)
            // A loop already closing drops it: the node stopped and synced inline.
            loop.post { [weak self] in self?.syncFinished(job, micros: micros) }
        }
        return nil
    }

    /// The sync thread finished `job` (loop thread).
    private func syncFinished(_ job: DataSync, micros: Int) {
        // A stopped node synced inline and closed its log: nothing waits any more.
        // The thread runs them in order and posts their ends in order: this is the oldest.
        guard !stopped, let inFlight = syncsInFlight.first, inFlight.job === job, let fileLog = log as? FileLog else { return }
        syncsInFlight.removeFirst()
        do { try fileLog.finishSync(job) } catch {
            recordSync(micros: nil)
            raft.stop()
            syncFailureToReport = "log sync failed: \(error)"
            dirty = true
            pump()
            return
        }
        recordSync(micros: micros)
        raft.didSync(upTo: inFlight.mark)
        for m in inFlight.messages { send(m) }
        if let why = startSync() { syncFailureToReport = why }
        dirty = true
        pump()
    }

    /// Shutdown (loop thread, after the last inline sync): waits for a sync in flight to end
    /// and ends the thread, so nothing of the node runs once `stop` returns.
    func stopSyncThread() {
        syncThread?.stop()
        syncThread = nil
        syncsInFlight.removeAll()
        awaitingSync.removeAll()
        syncWanted = false
        snapshotWriteInFlight = nil
        snapshotWaiters.removeAll()  // their completions were answered .stopped
    }
}
