import RaftCore

/// A snapshot saved in deferred mode, kept in memory until its file is durable.
struct PendingSnapshot {
    let meta: SnapshotMeta
    let data: [UInt8]
    let compactThrough: LogIndex
    /// Reserved when it was saved; no other file has it.
    let fileID: UInt64
}

/// A snapshot write split in three, for a runtime whose loop thread must not stall on an
/// ~8 MB write and its fsyncs (RaftUV): in deferred mode (`deferSnapshotWrites`) `saveSnapshot`
/// only records the snapshot; `beginSnapshotWrite` (owner thread) hands out the file write as
/// a job; another thread `run`s it; `finishSnapshotWrite` (owner thread) then makes the
/// metadata name the new file and compacts, as the inline `saveSnapshot` does.
///
/// Until the finish nothing durable changes: the metadata names the snapshot before and every
/// entry stays, so a crash in between only means a longer replay, and the file the job made is
/// a leftover the next open removes.
///
/// Thread rule: `run` touches only the job's own fields (the data, the directory's path, the
/// file calls, its result) and never a FileLog field, so the owner may go on appending,
/// syncing, saving a newer snapshot, installing one or closing while it runs. The job holds the
/// directory lock until it has run, so a log reopened in the same directory meanwhile cannot
/// see (and remove) its half-written file.
public final class SnapshotWrite: @unchecked Sendable {
    let fileID: UInt64
    let meta: SnapshotMeta
    private let data: [UInt8]
    private let path: String
    private let posix: Posix
    private var lock: DirectoryLock?
    /// fsyncs made, for the log's count.
    private(set) var syncs = 0
    /// nil, or why the write failed. Written by `run`, read by `finishSnapshotWrite` after the
    /// runtime's hand-over back to the owner thread (which orders the two).
    public private(set) var error: LogError?

    init(_ pending: PendingSnapshot, in directory: LogDirectory) {
        fileID = pending.fileID
        meta = pending.meta
        data = pending.data
        path = directory.path
        posix = directory.posix
        lock = directory.lock
    }

    /// The snapshot's index.
    public var index: LogIndex { meta.index }

    /// Any thread, once: writes the file under a temporary name, fsyncs it, renames it and
    /// fsyncs the directory (the checksum is computed here too, off the owner thread).
    public func run() {
        defer { lock = nil }
        do {
            syncs = try LogDirectory.replaceAtomically(LogFileName.snapshot(fileID),
                                                        with: SnapshotFile.chunks(meta: meta, data: data),
                                                        in: path, posix: posix)
        } catch let e as LogError {
            error = e
        } catch {
            self.error = .io("\(error)")
        }
    }
}

extension FileLog {
    /// Owner thread: the write of the pending snapshot, to `run` on another thread and then
    /// hand to `finishSnapshotWrite`. Nil when nothing is pending, a write is already out (one
    /// at a time: the next begins once it is finished), or the log is closed or failed.
    public func beginSnapshotWrite() -> SnapshotWrite? {
        guard !isClosed, failure == nil, snapshotWriteOut == nil, let pending = pendingSnapshot else { return nil }
        snapshotWriteOut = pending.fileID
        return SnapshotWrite(pending, in: directory)
    }

    /// Whether a snapshot waits for its file (written or not yet begun).
    public var hasPendingSnapshot: Bool { pendingSnapshot != nil }

    /// Owner thread: the job has run. If its snapshot is still the pending one, it becomes the
    /// one in force: the entries it compacts are made durable, the metadata names its file, the
    /// compacted segments and the previous snapshot file go. A job superseded meanwhile (a newer
    /// save, an install) only has its file removed. A failed write leaves the log refusing every
    /// later write, as a failed `saveSnapshot` or fsync does, and throws. After `close()` it does
    /// nothing: the file is a leftover the next open removes.
    public func finishSnapshotWrite(_ job: SnapshotWrite) throws {
        precondition(snapshotWriteOut == job.fileID, "finishSnapshotWrite of a job this log did not hand out")
        snapshotWriteOut = nil
        directory.countSync(job.syncs)
        guard !isClosed else { return }
        if let error = job.error {
            if failure == nil { failure = error }
            throw error
        }
        try checkWritable()
        guard let pending = pendingSnapshot, pending.fileID == job.fileID else {
            try performingIO { try removeFiles([LogFileName.snapshot(job.fileID)]) }
            return
        }
        try performingIO {
            // Entries up to the new prefix must be durable before the metadata moves past them.
            try active?.sync()
            let replaced = putInForce(pending.meta, fileID: pending.fileID)
            pendingSnapshot = nil
            try compactAfterSnapshot(through: min(pending.compactThrough, pending.meta.index), removing: replaced)
        }
    }
}
