import RaftCore
import RaftStorage

/// Snapshot files written off the loop thread. The node's FileLog defers them
/// (`deferSnapshotWrites`): the core's `takeSnapshot` only records the snapshot, and here, at
/// the end of a pump, its file write goes to the sync thread, behind any fdatasync queued
/// there; once it is durable the loop finishes it (metadata, compaction, removals). One at a
/// time: a snapshot taken meanwhile waits for the next write, and the one in flight, now
/// superseded, has only its file removed.
extension HostedNode {
    /// Loop thread: a snapshot request (`takeSnapshot`) is answered once the log is compacted,
    /// as the C header promises: at once when nothing waits for its file, else when the write
    /// finishes (or its snapshot is replaced by an install).
    func answerOnceSnapshotWritten(_ rid: UInt64) {
        if (log as? FileLog)?.hasPendingSnapshot == true {
            snapshotWaiters.append(rid)
        } else {
            finishLater(rid, .applied([]))
        }
    }

    /// Loop thread, end of a pump: starts the pending snapshot's write unless one is out.
    func startSnapshotWrite() {
        guard snapshotWriteInFlight == nil, !stopped, let raft, !raft.stopped, let fileLog = log as? FileLog else { return }
        if !fileLog.hasPendingSnapshot { answerSnapshotWaiters(.applied([])) }
        guard let job = fileLog.beginSnapshotWrite() else { return }
        snapshotWriteInFlight = job
        if syncThread == nil { syncThread = SyncThread() }
        syncThread!.submit { [loop = self.loop] in
            job.run()
            // A loop already closing drops it: the node stopped and its log dropped the snapshot.
            loop.post { [weak self] in self?.snapshotWriteFinished(job) }
        }
    }

    /// The sync thread wrote `job`'s file (loop thread).
    private func snapshotWriteFinished(_ job: SnapshotWrite) {
        // A stopped node closed its log, which dropped the snapshot: the file is a leftover
        // its next open removes.
        guard !stopped, snapshotWriteInFlight === job, let fileLog = log as? FileLog else { return }
        snapshotWriteInFlight = nil
        do { try fileLog.finishSnapshotWrite(job) } catch where !raft.stopped {
            // As a failed sync: the log refuses writes now, so the node stops. (A core already
            // stopped by a failed write would only hear of the same disk again.)
            raft.stop()
            syncFailureToReport = "snapshot write failed: \(error)"
            answerSnapshotWaiters(.rejected(.storage("snapshot write failed: \(error)")))
        } catch {}
        dirty = true
        pump()
    }

    private func answerSnapshotWaiters(_ outcome: CommandOutcome) {
        for rid in snapshotWaiters { finishLater(rid, outcome) }
        snapshotWaiters.removeAll()
    }
}
