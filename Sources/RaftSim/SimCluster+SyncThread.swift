import RaftCore
import RaftStorage

/// A sync the node started and has not taken back yet (the runtime's `InFlightSync`).
struct SimSyncJob {
    /// A FileLog's fdatasync; nil for other logs, whose `sync()` runs when the job completes.
    let job: DataSync?
    /// What the sync covers, taken as it started: the core counts only that as durable.
    let mark: SyncMark
    /// Acknowledgements and votes that reveal state this sync makes durable.
    var messages: [Message]
    /// The fdatasync has run (the sync thread is done with it); the loop has not taken it back.
    var ran = false
}

/// The runtime's sync thread (RaftUV `HostedNode+Sync`, same rules), with the two halves of a
/// sync as separate steps the test schedules: `runSyncJob` (the sync thread's fdatasync) and
/// `completeSyncJob` (the loop takes the job back: `finishSync`, then `didSync(upTo: mark)`,
/// then the messages that waited for it). Anything may happen in between: messages, crashes,
/// power losses, truncations, snapshot installs, role changes.
///
/// On a FileLog the job is the log's own `beginSync()` / `DataSync.run()` / `finishSync(_:)`
/// split; on any other log (a MemoryLog) the job's `sync()` runs when it completes, while the
/// mark is still the one taken at its start, and a changed term or vote is synced when the
/// job would start, as FileLog's `beginSync` does with its metadata. Unlike the runtime, which syncs a non-FileLog
/// inline, the simulator moves every log's syncs off the loop when the placement says so.
extension SimCluster {
    /// Where a node's syncs run (RaftUV's `SyncPlacement`, with its names).
    public enum SyncPlacement: String, Sendable, CaseIterable {
        /// In the step (`log.sync()` then `didSync()`), as the simulator always did.
        case inline
        /// On the sync thread while the node leads, inline otherwise (the runtime's default).
        case offLoopWhenLeading = "leader"
        /// On the sync thread in every role.
        case offLoop = "always"
    }

    /// The runtime's limit: a second sync queues behind the running one; beyond that, rounds
    /// wait for the next sync to start.
    public static let maxSyncsInFlight = 2

    private func syncsOffLoop(_ n: SimNode, _ raft: RaftNode) -> Bool {
        switch n.syncPlacement {
        case .inline: return false
        case .offLoopWhenLeading: return raft.role == .leader
        case .offLoop: return true
        }
    }

    /// One round's sync and the messages that wait for it, for a node whose placement is not
    /// `.inline` (HostedNode.syncRound). Returns why the node stopped when a sync failed.
    func syncRound(_ n: SimNode, _ raft: RaftNode, _ r: Ready) -> String? {
        // The core's own write already failed: it stopped and said why.
        let needsSync = r.needsSync && !r.events.contains { if case .stopCommanded(reason: .storageFailed) = $0 { true } else { false } }
        if needsSync && !syncsOffLoop(n, raft) {
            do { try n.log.sync() } catch {
                raft.stop()
                lost.append(contentsOf: r.messagesAfterSync)
                return "log sync failed: \(error)"
            }
            raft.didSync()
            n.hardStateSynced = n.log.hardState
            // An inline sync covers every write so far: whatever waited leaves with it.
            n.syncWanted = false
            let waiting = n.syncJobs.flatMap(\.messages) + n.awaitingSyncJob
            n.awaitingSyncJob.removeAll()
            for i in n.syncJobs.indices { n.syncJobs[i].messages.removeAll() }
            n.outbox.append(contentsOf: waiting + r.messagesAfterSync)
            return nil
        }
        if needsSync { n.syncWanted = true }
        if n.syncWanted {
            n.awaitingSyncJob += r.messagesAfterSync
            return startSyncJob(n, raft)
        }
        // Nothing written this round: its acknowledgements reveal writes the newest sync covers.
        if !n.syncJobs.isEmpty {
            n.syncJobs[n.syncJobs.count - 1].messages += r.messagesAfterSync
        } else {
            n.outbox.append(contentsOf: r.messagesAfterSync)
        }
        return nil
    }

    /// Starts the wanted sync unless the most are in flight (HostedNode.startSync).
    private func startSyncJob(_ n: SimNode, _ raft: RaftNode) -> String? {
        guard n.syncWanted, n.syncJobs.count < Self.maxSyncsInFlight else { return nil }
        n.syncWanted = false
        let mark = raft.syncMark
        let waiting = n.awaitingSyncJob
        n.awaitingSyncJob.removeAll()
        func failed(_ error: Error) -> String {
            raft.stop()
            lost.append(contentsOf: waiting)
            return "log sync failed: \(error)"
        }
        // Nothing left to wait for: what waited leaves now.
        func synced() -> String? {
            raft.didSync(upTo: mark)
            n.outbox.append(contentsOf: waiting)
            return nil
        }
        func started(_ job: DataSync?) -> String? {
            n.syncJobs.append(SimSyncJob(job: job, mark: mark, messages: waiting))
            record(.event(node: n.id, op: "SYNC START"))
            return nil
        }
        guard let fileLog = n.log as? FileLog else {
            // As FileLog.beginSync: a changed term or vote is synced here, never left to a job.
            guard n.log.hardState == n.hardStateSynced else {
                do { try n.log.sync() } catch { return failed(error) }
                n.hardStateSynced = n.log.hardState
                return synced()
            }
            return started(nil)
        }
        let job: DataSync?
        do { job = try fileLog.beginSync() } catch { return failed(error) }
        // No job: no new bytes, or a metadata change, synced here.
        guard let job else { return synced() }
        return started(job)
    }

    /// The sync thread runs `id`'s oldest job not run yet (its fdatasync; for a log that is no
    /// FileLog, nothing: its sync runs at completion). False when there is none.
    @discardableResult
    public func runSyncJob(_ id: NodeID) -> Bool {
        let n = node(id)
        guard n.raft != nil, !n.crashed, let k = n.syncJobs.firstIndex(where: { !$0.ran }) else { return false }
        n.syncJobs[k].job?.run()
        n.syncJobs[k].ran = true
        record(.event(node: id, op: "SYNC RUN"))
        stepTaken()
        return true
    }

    /// The node takes back its oldest job, once it ran (the runtime's `syncFinished`): the
    /// log's `finishSync`, then `didSync(upTo:)` with the job's mark, then the messages that
    /// waited for it, and the wanted sync starts. A failed sync stops the node. False when the
    /// oldest job has not run (or there is none).
    @discardableResult
    public func completeSyncJob(_ id: NodeID) -> Bool {
        let n = node(id)
        guard let raft = n.raft, !n.crashed, let first = n.syncJobs.first, first.ran else { return false }
        n.syncJobs.removeFirst()
        record(.event(node: id, op: "SYNC DONE"))
        do {
            if let job = first.job, let fileLog = n.log as? FileLog {
                try fileLog.finishSync(job)
            } else {
                try n.log.sync()
                n.hardStateSynced = n.log.hardState
            }
        } catch {
            raft.stop()
            lost.append(contentsOf: first.messages)
            n.events += Self.syncFailureEvents("log sync failed: \(error)")
            drain(n)
            return true
        }
        raft.didSync(upTo: first.mark)
        n.outbox.append(contentsOf: first.messages)
        if let why = startSyncJob(n, raft) { n.events += Self.syncFailureEvents(why) }
        drain(n)
        return true
    }

    /// Runs and completes every sync job of every running node until none is left (a disk
    /// faster than the network: `run(for:)` does it at each latency step).
    public func completeAllSyncJobs() {
        for _ in 0..<10_000 {
            var progressed = false
            for id in ids {
                while runSyncJob(id) { progressed = true }
                while completeSyncJob(id) { progressed = true }
            }
            if !progressed { return }
        }
    }

    /// A crash or a restart ends the sync thread: jobs in flight are dropped (what their
    /// fdatasync did not make durable is as unsynced as any write) with what waited for them.
    func dropSyncJobs(_ n: SimNode) {
        lost.append(contentsOf: n.syncJobs.flatMap(\.messages) + n.awaitingSyncJob)
        n.syncJobs.removeAll()
        n.awaitingSyncJob.removeAll()
        n.syncWanted = false
        n.hardStateSynced = nil
    }

    /// How the runtime reports a failed sync: an error, then the stop and why.
    static func syncFailureEvents(_ why: String) -> [RaftEvent] {
        [.error(why), .stopCommanded(reason: .storageFailed(why))]
    }
}
