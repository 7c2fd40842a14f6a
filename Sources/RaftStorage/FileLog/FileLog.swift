import RaftCore

/// The durable embedded `RaftLog`: one directory per node holding append-only segment files of
/// checksummed records, a metadata file replaced atomically, and snapshot files.
///
/// Writes are buffered; `sync()` makes all of them durable with one fdatasync of the active
/// segment (plus a metadata rewrite when the hard state, bootstrap config or broken flag
/// changed), so a burst of appends costs one fsync. The commit index travels in the segment as
/// a small record, so advancing it costs no extra fsync either. Opening a directory recovers it: a torn
/// record at the end of the last segment is cut off; any other damage is a named `LogError`.
///
/// Not thread-safe: one driver thread owns it, as with every `RaftLog`. The exceptions are
/// the fdatasync of a split sync (`beginSync`, FileLog+DataSync), the file write of a
/// deferred snapshot (`beginSnapshotWrite`, FileLog+SnapshotWrite) and large direct writes
/// (`writeBehind`, BehindWrite), which may run on another thread under the rules stated there.
public final class FileLog: RaftLog {
    public struct Options: Sendable {
        /// A segment is closed and a new one started once the next record would pass this size.
        public var segmentSize: Int
        /// Largest encoded entry accepted; bigger ones are refused with `.recordTooLarge`.
        public var maxRecordSize: Int
        /// How many recently appended entries are kept in memory for reads.
        public var cacheEntries: Int
        /// Allocates segment space ahead of the writes (up to 4 MiB at a time, zero-filled) so
        /// an fdatasync after an append commits no file-size change: cheaper, and it overlaps
        /// better with other logs' fsyncs on the same disk. Off: segments grow with each write.
        public var preallocate: Bool

        public init(segmentSize: Int = 64 << 20, maxRecordSize: Int = 16 << 20, cacheEntries: Int = 4096,
                    preallocate: Bool = true) {
            self.segmentSize = segmentSize
            self.maxRecordSize = maxRecordSize
            self.cacheEntries = cacheEntries
            self.preallocate = preallocate
        }
    }

    /// Bytes a segment is allocated ahead by at a time; 0 when not preallocating.
    var preallocationStep: Int {
        options.preallocate ? min(ActiveSegment.maxPreallocationStep, options.segmentSize) : 0
    }

    /// Buffered frames are handed to the OS once they reach this size, even before `sync()`.
    static let flushThreshold = 1 << 20

    let options: Options
    let directory: LogDirectory
    /// The hard state, commit index, prefix, bootstrap config, broken flag and snapshot as they
    /// are now; `persistMetadata()` writes them.
    var metadata: LogMetadata
    /// Retained segments in order; the last one is `active`.
    var segments: [SegmentInfo]
    /// Id the next new segment gets: above every id in use or left over.
    var nextSegmentID: UInt64
    var active: ActiveSegment?
    var index: RecordIndex
    var recent: RecentEntries
    /// A field other than the commit index changed since the metadata was last written.
    var metadataChanged = false
    /// The commit index that is durable, or will be after the next segment sync.
    var recordedCommit: LogIndex
    /// The first I/O failure of a write. After it the files' state is unknown (a failed fsync
    /// may have dropped dirty pages), so every later write refuses with the same error.
    var failure: LogError?
    var isClosed = false

    /// Off (the default): `saveSnapshot` writes the snapshot file, fsyncs it and compacts before
    /// it returns. On: it only records the snapshot, and a runtime writes the file on another
    /// thread and finishes it later (FileLog+SnapshotWrite). Only for a driver that does so.
    public var deferSnapshotWrites = false
    /// A snapshot saved in deferred mode and not finished yet: what `snapshotMeta` and
    /// `loadSnapshot()` give, while the metadata still names the one before.
    var pendingSnapshot: PendingSnapshot?
    /// File id of the snapshot write handed out and not finished yet.
    var snapshotWriteOut: UInt64?
    /// Id the next snapshot file gets: above the metadata's and every one handed out.
    var nextSnapshotFileID: UInt64

    /// Opens (creating when needed) and recovers the log in `directory`, holding its lock until
    /// `close()` or deinit. `fileSystem` is where its files live: the system's, or a test's
    /// simulated disk.
    public init(directory path: String, options: Options = .init(),
                fileSystem: FileSystem = SystemFileSystem.shared) throws {
        precondition(options.segmentSize >= 64 && options.segmentSize <= 1 << 31,
                     "segment size must lie between 64 bytes and 2 GiB")
        precondition(options.maxRecordSize >= 16 && options.maxRecordSize <= 1 << 30,
                     "maximum record size must lie between 16 bytes and 1 GiB")
        precondition(options.cacheEntries >= 0, "cache size cannot be negative")
        self.options = options
        directory = try LogDirectory(path: path, fileSystem: fileSystem)
        let recovered = try Recovery.run(in: directory, preallocationStep:
                                            options.preallocate ? min(ActiveSegment.maxPreallocationStep, options.segmentSize) : 0)
        metadata = recovered.metadata
        segments = recovered.segments
        nextSegmentID = recovered.nextSegmentID
        active = recovered.active
        index = recovered.index
        recordedCommit = recovered.metadata.commitIndex
        nextSnapshotFileID = recovered.metadata.snapshotFileID + 1
        recent = RecentEntries(capacity: options.cacheEntries)
    }

    /// Releases the directory for another instance (once a snapshot write still out has run).
    /// It does not sync: writes not made durable by `sync()` may be lost, as in a crash, and a
    /// snapshot not finished is dropped (the one before stays in force). Every later write throws.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        pendingSnapshot = nil
        if failure == nil { try? active?.writeSyncMark() }
        active?.close()
        active = nil
        directory.release()
    }

    deinit { close() }

    /// Off (nil, the default): every write runs on the owner thread. Set: a large flush's
    /// direct write is handed to this function as a job (BehindWrite) to `run` on another
    /// thread — in the order given, or the owner waits longer than it needs to — while the
    /// owner goes on; the log settles a job itself before anything that depends on its bytes
    /// (a sync covers them only once they are written). Set on the owner thread; called there.
    public var writeBehind: ((BehindWrite) -> Void)? {
        get { directory.writeBehind }
        set { directory.writeBehind = newValue }
    }

    /// fsync and fdatasync calls made so far, for tests and benchmarks of group commit.
    public var fsyncCount: Int { directory.syncCount }
    /// Flushes written with O_DIRECT (large ones, where the file system allows it).
    public var directWriteCount: Int { directory.directWriteCount }
    /// Of those, the ones handed to `writeBehind` to run on another thread.
    public var behindWriteCount: Int { directory.behindWriteCount }
    /// Zero fills (FileLog+ZeroFill) that ran, each a write and an fdatasync of its own (not in
    /// `fsyncCount`, which counts the syncs of group commit).
    public var zeroFillCount: Int { directory.zeroFillCount }

    public var hardState: HardState { metadata.hardState }
    public var commitIndex: LogIndex { metadata.commitIndex }
    public var bootstrapConfig: ClusterConfig? { metadata.bootstrapConfig }
    public var prefix: LogPosition { metadata.prefix }
    public var snapshotMeta: SnapshotMeta? { pendingSnapshot?.meta ?? metadata.snapshot }
    public var isBroken: Bool { metadata.isBroken }
    public var lastIndex: LogIndex { index.lastIndex }

    public func saveHardState(_ state: HardState) throws {
        try checkWritable()
        guard state != metadata.hardState else { return }
        metadata.hardState = state
        metadataChanged = true
    }

    /// Kept in memory; the next `sync()` records it in the active segment at no extra fsync.
    public func saveCommitIndex(_ index: LogIndex) throws {
        try checkWritable()
        metadata.commitIndex = max(metadata.commitIndex, index)
    }

    public func saveBootstrapConfig(_ config: ClusterConfig) throws {
        try checkWritable()
        guard config != metadata.bootstrapConfig else { return }
        metadata.bootstrapConfig = config
        metadataChanged = true
    }

    public func setBroken(_ broken: Bool) throws {
        try checkWritable()
        guard broken != metadata.isBroken else { return }
        metadata.isBroken = broken
        metadataChanged = true
    }

    public func sync() throws {
        try checkWritable()
        try performingIO {
            if metadata.commitIndex > recordedCommit, let active {
                active.append(frameOf: RecordFrame.payload(of: .commit(metadata.commitIndex)))
                recordedCommit = metadata.commitIndex
            }
            try active?.sync()
            if metadataChanged || metadata.commitIndex > recordedCommit { try persistMetadata() }
        }
    }

    // MARK: - Shared by the operations

    func checkWritable() throws {
        if isClosed { throw LogError.io("log at \(directory.path) is closed") }
        if let failure { throw failure }
    }

    /// Runs file operations; any error they throw leaves the log refusing further writes.
    func performingIO<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as LogError {
            failure = error
            throw error
        } catch {
            failure = .io("\(error)")
            throw failure!
        }
    }

    /// Writes the metadata file. Callers first make durable whatever it describes: recovery
    /// trusts it over the segments.
    func persistMetadata() throws {
        metadata.firstSegmentID = segments.first?.id ?? nextSegmentID
        metadata.segmentCount = UInt64(segments.count)
        try directory.replaceAtomically(LogDirectory.metadataName, with: [metadata.encoded()])
        metadataChanged = false
        recordedCommit = metadata.commitIndex
    }

    /// Closes the active segment and starts the next one; the metadata then counts it.
    func startSegment(firstIndex: LogIndex) throws {
        // Recovery forgives a damaged end only in the last segment, so the finished one must
        // be durable before a later one exists.
        try active?.sync()
        try active?.trimAllocation()
        active?.close()
        active = nil
        let info = SegmentInfo(id: nextSegmentID, firstIndex: firstIndex)
        let segment = try ActiveSegment.create(info, in: directory, preallocationStep: preallocationStep)
        active = segment
        segments.append(info)
        nextSegmentID += 1
        try directory.syncDirectory()
        try persistMetadata()
    }

    /// Removes files the durable metadata no longer refers to.
    func removeFiles(_ names: [String]) throws {
        for name in names { try directory.remove(name) }
    }
}
