import Glibc
import Testing
@testable import RaftCore
@testable import RaftStorage

/// The split sync (FileLog+DataSync): the fdatasync on another thread while the owner goes
/// on appending, rolling segments, truncating and closing.
@Suite struct FileLogDataSyncTests {
    static let small = FileLog.Options(segmentSize: 512, maxRecordSize: 1024, cacheEntries: 4)

    func runOnAnotherThread(_ job: DataSync) { RaftStorageTests.runOnAnotherThread(job.run) }

    @Test func appendsGoOnWhileTheJobRunsAndTheJobCountsOnce() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.small)
        try log.append(entries(1...3, term: 1))
        let before = log.fsyncCount
        let job = try #require(try log.beginSync())
        // Written while the job is out: the next sync's, not this one's.
        try log.append(entries(4...5, term: 1))
        runOnAnotherThread(job)
        try log.finishSync(job)
        #expect(job.errorCode == 0)
        #expect(log.fsyncCount == before + 1)
        #expect(try log.entries(from: 1, through: 5, maxBytes: .max) == entries(1...5, term: 1))
        // Nothing new: no job.
        let second = try #require(try log.beginSync())
        runOnAnotherThread(second)
        try log.finishSync(second)
        #expect(try log.beginSync() == nil)
    }

    @Test func anInlineSyncNeverSkipsWhileAJobIsOut() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.small)
        try log.append(entries(1...3, term: 1))
        let job = try #require(try log.beginSync())
        // No byte written since, yet what the job covers is not known durable: sync() fsyncs.
        let before = log.fsyncCount
        try log.sync()
        #expect(log.fsyncCount == before + 1)
        runOnAnotherThread(job)
        try log.finishSync(job)
        let after = log.fsyncCount
        try log.sync()
        #expect(log.fsyncCount == after)
    }

    @Test func aJobOutlivesASegmentRollATruncationAndClose() throws {
        let dir = TemporaryDirectory()
        var log: FileLog? = try FileLog(directory: dir.path, options: Self.small)
        try log!.append(entries(1...3, term: 1, size: 40))
        let job = try #require(try log!.beginSync())
        let fd = job.descriptor.fd
        // 512-byte segments: these roll over to new ones, then the suffix is cut.
        try log!.append(entries(4...20, term: 1, size: 40))
        try log!.truncate(from: 15)
        log!.close()
        log = nil
        // Descriptors freed by the close are taken by other files; the job's own stays open
        // and still names its segment file.
        let others = (0..<8).map { _ in open("/dev/null", O_RDONLY) }
        defer { for o in others { close(o) } }
        #expect(!others.contains(fd))
        #expect(fcntl(fd, F_GETFD) != -1)
        runOnAnotherThread(job)
        #expect(job.errorCode == 0)
        let reopened = try FileLog(directory: dir.path, options: Self.small)
        #expect(reopened.lastIndex <= 14)
    }

    @Test func aMetadataChangeSyncsInlineAndReturnsNoJob() throws {
        let dir = TemporaryDirectory()
        do {
            let log = try FileLog(directory: dir.path, options: Self.small)
            try log.append(entries(1...2, term: 1))
            try log.saveHardState(HardState(term: 2, votedFor: "b"))
            #expect(try log.beginSync() == nil)
            log.close()
        }
        let log = try FileLog(directory: dir.path, options: Self.small)
        #expect(log.hardState == HardState(term: 2, votedFor: "b"))
        #expect(log.lastIndex == 2)
    }

    @Test func aPendingCutIsSyncedInlineBeforeAnyJob() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.small)
        try log.append(entries(1...5, term: 1))
        try log.sync()
        try log.truncate(from: 4)
        let before = log.fsyncCount
        // The cut is all there is to sync: done here, no job.
        #expect(try log.beginSync() == nil)
        #expect(log.fsyncCount == before + 1)
    }
}
