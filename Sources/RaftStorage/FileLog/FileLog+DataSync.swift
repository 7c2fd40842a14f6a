import Glibc
import RaftCore
import Synchronization

/// A sync split in two, for a runtime that fsyncs off its loop thread (RaftUV): the owner
/// thread does every step of `sync()` but the active segment's fdatasync (`beginSync`), another
/// thread runs that fdatasync (`DataSync.run`), and the owner thread takes the outcome back
/// (`finishSync`) before it counts the entries as durable.
///
/// The job's fdatasync goes through the log's `FileSystem`, so a test can run the split sync
/// on a simulated disk (which is single-threaded: such a test runs the job on its own thread).
///
/// Thread rule: `run` touches only the job's own duplicate descriptor (a `SyncDescriptor`,
/// closed when its last holder lets go) and its result; every FileLog and segment field stays
/// on the owner thread. So the owner may append, roll segments, truncate, compact, install a
/// snapshot or close the log while a job runs: the job never fdatasyncs a closed or reused
/// descriptor, and its fdatasync of a file the owner has cut, trimmed or unlinked since is
/// harmless. Whatever the owner itself needs durable (a finished segment before the next
/// one, a cut before new bytes at its offsets, entries below a new prefix, the metadata) it
/// still syncs inline, and an inline `sync()` fdatasyncs even with nothing new written while a
/// job is out, so it never returns before what that job covers is durable.
public final class DataSync: @unchecked Sendable {
    let descriptor: SyncDescriptor
    let segment: ActiveSegment
    /// The segment's written size when the job began, and its cut count then.
    let covers: Int
    let cuts: Int
    /// 0, or the errno of the failed fdatasync. Written by `run`, read by `finishSync` after
    /// the runtime's hand-over back to the owner thread (which orders the two).
    public private(set) var errorCode: Int32 = 0
    /// The newest direct write out when the job began (BehindWrite): its bytes, and every
    /// earlier job's, must be in the file before the fdatasync may cover them.
    private let awaiting: BehindWrite?

    init(descriptor: SyncDescriptor, segment: ActiveSegment, covers: Int, cuts: Int, awaiting: BehindWrite?) {
        self.descriptor = descriptor
        self.segment = segment
        self.covers = covers
        self.cuts = cuts
        self.awaiting = awaiting
    }

    /// Any thread, once: the writes it covers that are still out, then the fdatasync.
    public func run() {
        if let w = awaiting {
            w.run()
            if let code = w.outcome, code != 0 {
                errorCode = code
                return
            }
        }
        errorCode = descriptor.dataSync(descriptor.fd)
    }
}

/// A duplicate of a segment's descriptor for syncs on another thread; it stays open while
/// any job holds it, however the segment's own descriptor fares.
///
/// It also orders every fdatasync of the segment once a job has been handed out, the owner
/// thread's inline ones included, and remembers the first that failed. A failed write-back
/// is reported once per open file (fsyncgate; a dup shares the open file): after a job's
/// fdatasync got EIO, the owner's next fdatasync of the same file returns 0 with the pages
/// gone — before the owner has even heard of the job's failure. So once one failed, every
/// later one on this segment reports that error too.
final class SyncDescriptor: @unchecked Sendable {
    let fd: Int32
    let fs: FileSystem
    private let firstFailure = Mutex<Int32>(0)

    init(duplicating fd: Int32, on fs: FileSystem, path: String) throws {
        let copy = fs.dup(fd)
        guard copy >= 0 else { throw Posix.failure("dup", path, -copy) }
        self.fd = copy
        self.fs = fs
    }
    deinit { fs.close(fd) }

    /// fdatasync of `fd` (this descriptor or the segment's own): 0, or the errno of the
    /// first of the segment's fdatasyncs that failed.
    func dataSync(_ fd: Int32) -> Int32 {
        firstFailure.withLock { failed in
            var rc = fs.fdatasync(fd)
            while rc == EINTR { rc = fs.fdatasync(fd) }
            if failed == 0 { failed = rc }
            return failed
        }
    }
}

extension FileLog {
    /// Owner thread: bytes of the active segment that no finished sync covers yet (what a
    /// sync started now would make durable, with nothing else in flight).
    public var unsyncedBytes: Int { active?.unsyncedBytes ?? 0 }

    /// Owner thread: everything `sync()` does but the segment's fdatasync, which comes back as
    /// a job to `run` on another thread and then hand to `finishSync`. Nil when nothing is
    /// left to wait for: nothing needed syncing, or the metadata changed (rare: a vote, a term,
    /// the bootstrap config), and then the whole sync ran here, as `sync()` does, because the
    /// metadata may only be rewritten once the segment is durable.
    public func beginSync() throws -> DataSync? {
        try checkWritable()
        return try performingIO {
            if metadata.commitIndex > recordedCommit, let active {
                active.append(frameOf: RecordFrame.payload(of: .commit(metadata.commitIndex)))
                recordedCommit = metadata.commitIndex
            }
            guard let active, !metadataChanged, metadata.commitIndex <= recordedCommit else {
                try active?.sync()
                if metadataChanged || metadata.commitIndex > recordedCommit { try persistMetadata() }
                return nil
            }
            return try active.beginDataSync()
        }
    }

    /// Owner thread: the job has run. A failed fdatasync leaves the log refusing every later
    /// write (the dirty pages may be gone), as a failed `sync()` does, and throws.
    public func finishSync(_ job: DataSync) throws {
        job.segment.endDataSync(job)
        directory.countSync()
        guard job.errorCode == 0 else {
            let error = Posix.failure("fdatasync", job.segment.path, job.errorCode)
            if failure == nil { failure = error }
            throw error
        }
    }
}
