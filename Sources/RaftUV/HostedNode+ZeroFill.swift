import RaftStorage

/// Log space zeroed ahead of the records on a thread of the node's own (FileLog's ZeroFill),
/// so that small group commits' fdatasyncs need no journal commit. At the end of a pump the
/// loop asks the log whether a stretch is wanted; one at a time; the log takes a job back by
/// itself when it needs the space first, so nothing on the loop ever waits for this thread
/// unless the writes caught up with it.
extension HostedNode {
    /// Loop thread, end of a pump.
    func startZeroFill() {
        guard zeroFillInFlight == nil, !stopped, let raft, !raft.stopped, let fileLog = log as? FileLog,
              let job = fileLog.beginZeroFill() else { return }
        zeroFillInFlight = job
        if zeroFillThread == nil { zeroFillThread = SyncThread(name: "raftengine-zero") }
        zeroFillThread!.submit { [loop = self.loop] in
            job.run()
            // A loop already closing drops it: the log was closed, which took the job back.
            loop.post { [weak self] in self?.zeroFillFinished(job) }
        }
    }

    /// The thread ran `job` (loop thread).
    private func zeroFillFinished(_ job: ZeroFill) {
        guard !stopped, zeroFillInFlight === job, let fileLog = log as? FileLog else { return }
        zeroFillInFlight = nil
        // Run here or, when the log needed the space first, on the loop thread: counted once.
        if job.outcome == 0 { recordZeroFill(bytes: job.byteCount) }
        do { try fileLog.finishZeroFill(job) } catch where !raft.stopped {
            // As a failed sync: the log refuses writes now, so the node stops.
            raft.stop()
            syncFailureToReport = "log space zeroing failed: \(error)"
        } catch {}
        dirty = true
        pump()
    }

    /// Shutdown (loop thread, after the log is closed, which took a job still out back).
    func stopZeroFillThread() {
        zeroFillThread?.stop()
        zeroFillThread = nil
        zeroFillInFlight = nil
    }
}
