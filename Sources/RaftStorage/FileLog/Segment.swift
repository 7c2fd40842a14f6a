import Glibc
import RaftCore

/// The fixed header at the start of each segment file. It names the segment and the index its
/// first entry has, so recovery can check that consecutive segments join without a gap even
/// when a segment holds no entry yet.
struct SegmentHeader: Equatable {
    /// Version 1 (RAFTSEG1): a damaged record before an intact one is always corruption.
    /// Version 2 (RAFTSEG2): the segment carries `.syncedThrough` records, so recovery can
    /// tell damage in bytes a sync made durable (corruption) from bytes a power loss tore
    /// before any sync covered them (a torn tail, even with intact records after it).
    static let magics = [Array("RAFTSEG1".utf8), Array("RAFTSEG2".utf8)]
    static let currentVersion = 2
    static let size = 8 + 8 + 8 + 4

    var id: UInt64
    var firstIndex: LogIndex
    var version: Int

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.raw(Self.magics[version - 1])
        w.u64(id)
        w.u64(firstIndex)
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Nil unless `bytes` starts with an intact header.
    init?(decoding bytes: [UInt8]) {
        guard bytes.count >= Self.size, let v = Self.magics.firstIndex(of: Array(bytes[0..<8])) else { return nil }
        var r = ByteReader(Array(bytes[0..<Self.size]), offset: 8)
        guard let id = try? r.u64(), let first = try? r.u64(), let crc = try? r.u32(),
              crc == CRC32C.checksum(Array(bytes[0..<(Self.size - 4)])) else { return nil }
        self.id = id
        self.firstIndex = first
        self.version = v + 1
    }

    init(id: UInt64, firstIndex: LogIndex, version: Int = SegmentHeader.currentVersion) {
        self.id = id
        self.firstIndex = firstIndex
        self.version = version
    }
}

/// A segment the log retains: its id and the index its first entry has (or will have).
struct SegmentInfo: Equatable {
    let id: UInt64
    let firstIndex: LogIndex
    var name: String { LogFileName.segment(id) }
}

/// The segment appends go to. New frames collect in `buffer` and reach the OS in one write at
/// the next flush, so a burst of appends costs one write and, at `sync()`, one fdatasync.
///
/// The file is kept allocated ahead of the writes (`preallocationStep` bytes at a time, reading as
/// zeros): an fdatasync after an append inside allocated space need not commit a file-size
/// change to the file system journal, which makes it cheaper and lets the fsyncs of several
/// logs on one disk overlap better. Recovery reads an all-zero end as unused space.
final class ActiveSegment {
    static let maxPreallocationStep = 4 << 20

    let info: SegmentInfo
    /// The file's path, made once: every write, sync and error names it.
    let path: String
    private let fd: Int32
    private let directory: LogDirectory
    /// Bytes handed to the OS (they may not be durable yet).
    private(set) var writtenSize: Int
    /// The file's size: the written bytes plus zero-filled space allocated ahead.
    private var allocatedSize: Int
    /// 0 when the file is not preallocated (switched off, or the file system cannot).
    private var preallocationStep: Int
    private(set) var buffer: [UInt8] = []
    private var needsDataSync = false
    /// Bytes a completed fdatasync made durable, and the most a `.syncedThrough` record in
    /// the file (or the buffer) claims; a version-1 segment gets no such records.
    private var syncedSize = 0
    private var markedSize = 0
    private let marksSyncs: Bool
    /// Written bytes were cut off and the cut is not durable yet. It must become durable
    /// before new bytes land at the same offsets, or a crash could mix old and new records.
    private var cutPending = false
    /// The descriptor fdatasyncs on another thread go through (FileLog+DataSync), made at the
    /// first one; dropped at close, it stays open until the last job holding it is done.
    private var syncDescriptor: SyncDescriptor?
    /// Such fdatasyncs handed out and not yet finished: until they are, what they cover may
    /// not be durable, so an inline `sync()` must not skip its own.
    private var syncsInFlight = 0
    /// Cuts made so far: a job that began before one proves nothing about the bytes after it.
    private var cuts = 0
    /// Large flushes go through this O_DIRECT descriptor (opened at the first), unless the file
    /// system refused it.
    private var direct: DirectWriter?
    private var directWrites: DirectWrites = .allowed
    /// The newest direct write handed to another thread (BehindWrite) and not yet settled here;
    /// it runs every one handed out before it first.
    private var lastBehind: BehindWrite?
    /// The errno of a direct write that failed on another thread, once settled here: sticky, so
    /// that no later flush or sync goes on as if those bytes were in the file (a read may have
    /// been the step that found it).
    private var failedWrite: Int32 = 0
    enum DirectWrites { case allowed, refused }
    /// How far ahead of the records zeros were written (ZeroFill): a hint for when to zero
    /// more, nothing relies on it for safety.
    private var zeroedEnd: Int
    /// The zero fill handed out and not taken back; no byte may be written at or past its start
    /// until it is.
    private(set) var zeroFill: ZeroFill?
    /// Recent flushes' mean size (an exponential average), which decides whether zeroing
    /// ahead pays: it doubles the bytes written, and saves a journal commit per fdatasync.
    private var meanFlush = 0
    /// `allocatedSize` when space for a zero fill was last refused: no new attempt (a syscall
    /// at every pump on a nearly full disk) until the records' own allocation has moved.
    private var zeroFillRefusedAt = -1

    var size: Int { writtenSize + buffer.count }
    /// Bytes appended that no finished sync covers yet.
    var unsyncedBytes: Int { size - syncedSize }
    var holdsRecords: Bool { size > SegmentHeader.size }

    private init(info: SegmentInfo, fd: Int32, directory: LogDirectory, writtenSize: Int, allocatedSize: Int,
                 preallocationStep: Int, marksSyncs: Bool) {
        self.marksSyncs = marksSyncs
        self.info = info
        self.path = directory.file(info.name)
        self.fd = fd
        self.directory = directory
        self.writtenSize = writtenSize
        self.allocatedSize = allocatedSize
        self.preallocationStep = preallocationStep
        self.zeroedEnd = writtenSize
    }

    /// Creates the segment file with its header, durable before the metadata may count it.
    static func create(_ info: SegmentInfo, in directory: LogDirectory, preallocationStep: Int) throws -> ActiveSegment {
        let path = directory.file(info.name)
        let fd = try directory.posix.open(path, flags: O_RDWR | O_CREAT | O_TRUNC)
        do {
            try directory.posix.write(fd, SegmentHeader(id: info.id, firstIndex: info.firstIndex).encoded(), at: 0, path: path)
            let segment = ActiveSegment(info: info, fd: fd, directory: directory, writtenSize: SegmentHeader.size,
                                        allocatedSize: SegmentHeader.size, preallocationStep: preallocationStep,
                                        marksSyncs: true)
            try segment.allocate(through: SegmentHeader.size + 1)
            try directory.dataSync(fd, path: path)
            return segment
        } catch {
            directory.posix.close(fd)
            throw error
        }
    }

    /// Opens an existing segment to continue it after its last intact record at `validSize`.
    static func open(_ info: SegmentInfo, validSize: Int, version: Int, in directory: LogDirectory,
                     preallocationStep: Int) throws -> ActiveSegment {
        let path = directory.file(info.name)
        let fd = try directory.posix.open(path, flags: O_RDWR)
        do {
            let size = try directory.posix.fileSize(fd, path: path)
            precondition(validSize <= size, "a segment's records cannot end past its file")
            return ActiveSegment(info: info, fd: fd, directory: directory, writtenSize: validSize,
                                 allocatedSize: size, preallocationStep: preallocationStep,
                                 marksSyncs: version >= 2)
        } catch {
            directory.posix.close(fd)
            throw error
        }
    }

    func append(frameOf payload: [UInt8]) {
        RecordFrame.append(payload, to: &buffer)
    }

    /// Frames `entry` into the write buffer; returns the frame size.
    func append(entry: Entry) -> Int {
        RecordFrame.appendEntry(entry, to: &buffer)
    }

    /// Makes the file at least `end` bytes long with allocated space, a step at a time. When a
    /// whole step no longer fits, `exactWhenShort` allocates just through `end`; else the call
    /// throws `noSpace` (zeroing ahead must not take a nearly full disk's last bytes).
    func allocate(through end: Int, exactWhenShort: Bool = true) throws {
        let step = preallocationStep
        guard step > 0, end > allocatedSize else { return }
        let target = (end + step - 1) / step * step
        switch try directory.posix.preallocate(fd, offset: allocatedSize, length: target - allocatedSize, path: path) {
        case .done: allocatedSize = target
        case .unsupported: preallocationStep = 0
        case .noSpace:
            guard exactWhenShort else { throw Posix.noSpace("posix_fallocate", path) }
            // A whole step no longer fits: the bytes this write needs may, so a nearly full
            // disk is used to its end. When even they do not, the write could not land either.
            switch try directory.posix.preallocate(fd, offset: allocatedSize, length: end - allocatedSize, path: path) {
            case .done: allocatedSize = end
            case .unsupported: preallocationStep = 0
            case .noSpace: throw Posix.noSpace("posix_fallocate", path)
            }
        }
    }

    /// Hands the buffered frames to the OS.
    func flush() throws {
        if failedWrite != 0 { throw Posix.failure("pwrite", path, failedWrite) }
        guard !buffer.isEmpty else { return }
        // Written behind this batch (whose record offsets are already handed out): after a
        // power loss, damage before `syncedSize` is corruption, damage after it a torn write.
        if marksSyncs && syncedSize > markedSize {
            RecordFrame.append(RecordFrame.payload(of: .syncedThrough(UInt64(syncedSize))), to: &buffer)
            markedSize = syncedSize
        }
        if cutPending {
            try dataSyncHere()
            cutPending = false
        }
        try settleZeroFill(before: DirectWriter.blockEnd(writtenSize + buffer.count))
        if let w = lastBehind, w.isFinished { try settleWrites() }
        meanFlush = (meanFlush * 7 + buffer.count) / 8
        try allocate(through: writtenSize + buffer.count)
        if !(try writeDirect()) {
            // A buffered write must not land before (or under) a direct one still going out.
            try settleWrites()
            direct?.forgetTail()
            try directory.posix.write(fd, buffer, at: writtenSize, path: path)
        }
        writtenSize += buffer.count
        allocatedSize = max(allocatedSize, writtenSize)
        // Keep an ordinary buffer's memory for the next burst, not a rare huge one's.
        buffer.removeAll(keepingCapacity: buffer.capacity <= 4 << 20)
        needsDataSync = true
    }

    /// Writes a large buffer past the page cache when the file system allows it; false when
    /// the buffer is to go through the page cache instead.
    private func writeDirect() throws -> Bool {
        // While direct writes are out, every flush goes the same way, so none has to wait.
        guard buffer.count >= DirectWriter.minimumBytes || lastBehind != nil, directWrites != .refused else { return false }
        if direct == nil {
            direct = DirectWriter.open(path, posix: directory.posix)
            guard direct != nil else { directWrites = .refused; return false }
        }
        // The zeros that pad the last block must land in space the file already has.
        let padded = DirectWriter.blockEnd(writtenSize + buffer.count)
        try allocate(through: padded)
        if let launch = directory.writeBehind, direct!.proven {
            let job = try direct!.behind(buffer, at: writtenSize, previous: lastBehind, readWritten: { try self.read($0) })
            lastBehind = job
            directory.countBehindWrite()
            launch(job)
        } else {
            try settleWrites()
            guard try direct!.write(buffer, at: writtenSize, readWritten: { try self.read($0) }) else {
                direct!.close()
                direct = nil
                directWrites = .refused
                return false
            }
        }
        allocatedSize = max(allocatedSize, padded)
        directory.countDirectWrite()
        return true
    }

    /// Writes the `.syncedThrough` record the last sync earned, if no flush carried it yet (at
    /// close: a clean shutdown keeps the proof that the last batch was durable). Not synced.
    func writeSyncMark() throws {
        guard buffer.isEmpty, marksSyncs, syncedSize > markedSize else { return }
        RecordFrame.append(RecordFrame.payload(of: .syncedThrough(UInt64(syncedSize))), to: &buffer)
        markedSize = syncedSize
        try flush()
    }

    /// Makes everything appended so far durable.
    func sync() throws {
        try flush()
        guard needsDataSync || cutPending || syncsInFlight > 0 else { return }
        try dataSyncHere()
        needsDataSync = false
        cutPending = false
        syncedSize = writtenSize
    }

    /// After recovery: the records read back may be in the page cache only (the process that
    /// wrote them died before their fdatasync, which a sync thread leaves time for), yet the
    /// node counts what the log holds at start as durable and acknowledges it.
    func syncRecovered() throws {
        try dataSyncHere()
        syncedSize = writtenSize
    }

    /// The owner thread's own fdatasync; once jobs were handed out, through their descriptor's
    /// lock, so that a failure one of them hit is not lost (see `SyncDescriptor`).
    private func dataSyncHere() throws {
        try settleWrites()
        guard let d = syncDescriptor else { return try directory.dataSync(fd, path: path) }
        let rc = d.dataSync(fd)
        directory.countSync()
        if rc != 0 { throw Posix.failure("fdatasync", path, rc) }
    }

    /// Hands the buffered frames to the OS and returns the fdatasync that makes them durable,
    /// to run on another thread; nil when nothing is waiting to be made durable. A cut not yet
    /// durable is synced here instead (rare: a follower's conflicting suffix), so a job never
    /// has to cover one.
    func beginDataSync() throws -> DataSync? {
        try flush()
        if cutPending {
            try sync()
            return nil
        }
        guard needsDataSync || syncsInFlight > 0 else { return nil }
        if syncDescriptor == nil { syncDescriptor = try SyncDescriptor(duplicating: fd, on: directory.posix.fs, path: path) }
        needsDataSync = false
        syncsInFlight += 1
        return DataSync(descriptor: syncDescriptor!, segment: self, covers: writtenSize, cuts: cuts, awaiting: lastBehind)
    }

    /// A job from `beginDataSync` has finished (owner thread). A successful one proves its
    /// bytes durable (the next `.syncedThrough` record says so), unless a cut since replaced
    /// some of them.
    func endDataSync(_ job: DataSync) {
        syncsInFlight -= 1
        if job.errorCode == 0 && job.cuts == cuts { syncedSize = max(syncedSize, job.covers) }
    }

    /// Drops every byte from `offset` on (the space allocated ahead too; it returns at the
    /// next flush).
    func cut(at offset: Int) throws {
        if offset >= writtenSize {
            buffer.removeLast(size - offset)
            return
        }
        buffer.removeAll(keepingCapacity: true)
        try settleWrites()
        direct?.forgetTail()
        try settleZeroFill(cancelling: true)
        zeroedEnd = min(zeroedEnd, offset)
        try directory.posix.truncate(fd, to: offset, path: path)
        writtenSize = offset
        allocatedSize = offset
        // Records kept before `offset` claim no more than their own position, so none claims
        // the bytes that will land here.
        syncedSize = min(syncedSize, offset)
        markedSize = min(markedSize, offset)
        cuts += 1
        cutPending = true
    }

    /// Gives back the space allocated past the records, once the segment takes no more
    /// appends. Not made durable: a zero-filled end left by a crash reads as unused space.
    func trimAllocation() throws {
        try settleWrites()
        try settleZeroFill(cancelling: true)
        guard allocatedSize > writtenSize else { return }
        try directory.posix.truncate(fd, to: writtenSize, path: path)
        allocatedSize = writtenSize
    }

    /// Bytes `range` of the segment, from the file and the write buffer as needed.
    func read(_ range: Range<Int>) throws -> [UInt8] {
        var bytes: [UInt8] = []
        if range.lowerBound < writtenSize {
            try settleWrites()
            let end = min(range.upperBound, writtenSize)
            bytes = try directory.posix.read(fd, count: end - range.lowerBound, at: range.lowerBound,
                                   path: path)
            guard bytes.count == end - range.lowerBound else {
                throw LogError.corrupt("\(info.name) ends before offset \(end)")
            }
        }
        if range.upperBound > writtenSize {
            let start = max(range.lowerBound, writtenSize) - writtenSize
            bytes.append(contentsOf: buffer[start..<(range.upperBound - writtenSize)])
        }
        return bytes
    }

    func close() {
        // Its descriptor closes below; a failure is the next open's to find (as a crash's).
        try? settleWrites()
        zeroFill?.cancel()
        zeroFill = nil
        syncDescriptor = nil
        direct?.close()
        direct = nil
        directory.posix.close(fd)
    }
}

// Direct writes on another thread (BehindWrite).
extension ActiveSegment {
    /// Runs here, or waits for, every direct write handed out; throws when one failed (the
    /// bytes the segment counts as written may then not be in the file).
    fileprivate func settleWrites() throws {
        if failedWrite != 0 { throw Posix.failure("pwrite", path, failedWrite) }
        guard let w = lastBehind else { return }
        lastBehind = nil
        w.run()
        if let code = w.outcome, code != 0 {
            failedWrite = code
            throw Posix.failure("pwrite", path, code)
        }
    }
}

// Zeroing ahead (ZeroFill): in this file for the segment's private state.
extension ActiveSegment {
    /// Flushes smaller than this on average get their space zeroed ahead; larger ones (big
    /// commands, deep pipelines) pay one journal commit per many bytes and would pay the
    /// doubled writes in bandwidth.
    static let zeroFillMaxMeanFlush = 32 << 10
    /// A new zero fill starts this far past the records at least, so the flushes that come
    /// before it has run need not wait for it.
    static let zeroFillMargin = 256 << 10
    /// Bytes one job zeroes: small enough that its write-back does not hold the disk queue
    /// long in front of the log's own fdatasyncs.
    static let zeroFillChunk = 1 << 20

    /// The next stretch of space to zero, below `limit` (the segment size), as a job for another
    /// thread; nil when none is wanted (one is out, enough is zeroed, flushes are large, no
    /// preallocation) or the space or a descriptor for it could not be had: zeroing is only an
    /// optimisation, and a disk that fails for the records reports it at their write.
    func beginZeroFill(limit: Int) -> ZeroFill? {
        let step = preallocationStep
        let chunk = min(Self.zeroFillChunk, step)
        let margin = min(Self.zeroFillMargin, step / 4)
        guard zeroFill == nil, step > 0, meanFlush < Self.zeroFillMaxMeanFlush,
              zeroedEnd < size + margin + chunk, allocatedSize != zeroFillRefusedAt else { return nil }
        let start = max(zeroedEnd, DirectWriter.blockEnd(size + margin))
        // Never past the segment's size: the space beyond it would only be trimmed again.
        let end = min(start + chunk, limit)
        // (A file system that cannot preallocate leaves allocatedSize short: no job.)
        guard start < end else { return nil }
        guard (try? allocate(through: end, exactWhenShort: false)) != nil, allocatedSize >= end else {
            zeroFillRefusedAt = allocatedSize
            return nil
        }
        let jobFD = directory.posix.fs.open(path, flags: O_WRONLY | O_CLOEXEC, mode: 0)
        guard jobFD >= 0 else {
            zeroFillRefusedAt = allocatedSize
            return nil
        }
        let job = ZeroFill(range: start..<end, fd: jobFD, fs: directory.posix.fs)
        zeroFill = job
        return job
    }

    /// The job ran on another thread (owner thread); a job already settled here, or one of
    /// another segment, is ignored.
    func finishZeroFill(_ job: ZeroFill) throws {
        guard zeroFill === job else { return }
        try settleZeroFill(cancelling: false)
    }

    /// Before bytes are written up to `end`: if they would reach the zero fill's range, the job
    /// runs here (or its run elsewhere is waited for) first.
    fileprivate func settleZeroFill(before end: Int) throws {
        guard let job = zeroFill, end > job.range.lowerBound else { return }
        try settleZeroFill(cancelling: false)
    }

    /// Takes the zero fill back: cancelled if it has not begun (or, not cancelling, run here),
    /// else waited for. A failed one fails the segment's writes, as a failed fdatasync does.
    fileprivate func settleZeroFill(cancelling: Bool) throws {
        guard let job = zeroFill else { return }
        if cancelling { job.cancel() } else { job.run() }
        zeroFill = nil
        switch job.outcome {
        case nil:
            return
        case 0?:
            directory.countZeroFill()
            // No cut can have dropped these zeros: a cut takes the job back first.
            zeroedEnd = max(zeroedEnd, job.range.upperBound)
        case let code?:
            directory.countZeroFill()
            throw Posix.failure("zero fill", path, code)
        }
    }
}

/// Reads bytes of a segment that no longer takes appends; opened per read so a long log does
/// not hold one descriptor per segment.
func readClosedSegment(named name: String, range: Range<Int>, in directory: LogDirectory) throws -> [UInt8] {
    let path = directory.file(name)
    let fd = try directory.posix.open(path, flags: O_RDONLY)
    defer { directory.posix.close(fd) }
    let bytes = try directory.posix.read(fd, count: range.count, at: range.lowerBound, path: path)
    guard bytes.count == range.count else {
        throw LogError.corrupt("\(name) ends before offset \(range.upperBound)")
    }
    return bytes
}
