/// Syncs that run while the node goes on appending (a runtime that fsyncs off its loop
/// thread): the driver takes `syncMark` when it starts a sync and reports that mark when the
/// sync completes, so the node counts as durable only what the sync covered, not what was
/// appended while it ran. `didSync()` stays the call for a sync that ran inline.
public struct SyncMark: Equatable, Sendable {
    /// The last index appended when the sync started.
    public let index: LogIndex
    let epoch: UInt64
}

extension RaftNode {
    /// What a sync started now will cover: every entry appended so far. Take it right before
    /// the sync starts, with nothing appended in between.
    public var syncMark: SyncMark { SyncMark(index: log.lastIndex, epoch: durableEpoch) }

    /// A sync started at `mark` completed: entries up to `mark.index` are durable. A leader
    /// may then commit (it counts itself only up to what is durable). A truncation or a
    /// snapshot install since the mark voids it, since the entries now at those indexes may
    /// have been written after the sync ran; the next sync reports them.
    public func didSync(upTo mark: SyncMark) {
        guard mark.epoch == durableEpoch else { return }
        let reached = min(mark.index, log.lastIndex)
        guard reached > durableIndex else { return }
        durableIndex = reached
        if role == .leader { maybeCommit() }
    }
}
