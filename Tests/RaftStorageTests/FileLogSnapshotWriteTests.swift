import Foundation
import Glibc
import Testing
@testable import RaftCore
@testable import RaftStorage

/// Deferred snapshot writes (FileLog+SnapshotWrite): the snapshot is recorded at once, its file
/// written by a job on another thread, and the metadata and compaction follow at the finish.
@Suite struct FileLogSnapshotWriteTests {
    static let small = FileLog.Options(segmentSize: 512, maxRecordSize: 1024, cacheEntries: 4)

    func runOnAnotherThread(_ job: SnapshotWrite) { RaftStorageTests.runOnAnotherThread(job.run) }

    func meta(_ index: LogIndex, term: Term = 1) -> SnapshotMeta {
        SnapshotMeta(index: index, term: term, config: threeVoters)
    }

    /// A deferred log with entries 1...40 (term 1, several segments) and a durable snapshot at 5.
    func deferredLog(in dir: TemporaryDirectory) throws -> FileLog {
        let log = try FileLog(directory: dir.path, options: Self.small)
        try log.append(entries(1...40, term: 1, size: 24))
        try log.sync()
        try log.saveSnapshot(meta(5), data: [5, 5], compactThrough: 5)
        log.deferSnapshotWrites = true
        return log
    }

    var snapshotFiles: (TemporaryDirectory) -> [String] { { $0.names().filter { $0.hasPrefix("snapshot-") } } }

    @Test func aDeferredSaveIsVisibleAtOnceAndCompactsOnlyAtTheFinish() throws {
        let dir = TemporaryDirectory()
        let log = try deferredLog(in: dir)
        let segments = dir.segmentNames
        let fsyncs = log.fsyncCount
        try log.saveSnapshot(meta(30), data: [3, 0], compactThrough: 25)
        // Recorded, nothing written: the core and the followers see the new snapshot.
        #expect(log.fsyncCount == fsyncs)
        #expect(log.snapshotMeta == meta(30))
        #expect(try log.loadSnapshot()?.data == [3, 0])
        #expect(log.prefix.index == 5)
        #expect(try log.entries(from: 6, through: 40, maxBytes: .max) == entries(6...40, term: 1, size: 24))
        #expect(dir.segmentNames == segments)
        #expect(snapshotFiles(dir).count == 1)

        let job = try #require(log.beginSnapshotWrite())
        #expect(job.index == 30)
        #expect(log.beginSnapshotWrite() == nil)  // one at a time
        runOnAnotherThread(job)
        #expect(job.error == nil)
        #expect(log.prefix.index == 5)  // the loop has not finished it yet
        try log.finishSnapshotWrite(job)
        #expect(log.prefix == LogPosition(index: 25, term: 1))
        #expect(logError { _ = try log.entries(from: 25, through: 26, maxBytes: .max) } == .compacted(25))
        #expect(try log.entries(from: 26, through: 40, maxBytes: .max) == entries(26...40, term: 1, size: 24))
        #expect(dir.segmentNames.count < segments.count)
        #expect(snapshotFiles(dir).count == 1)  // the one before is gone
        #expect(log.fsyncCount > fsyncs + 2)
        #expect(log.beginSnapshotWrite() == nil)  // nothing pending
        log.close()

        let reopened = try FileLog(directory: dir.path, options: Self.small)
        defer { reopened.close() }
        #expect(reopened.snapshotMeta == meta(30))
        #expect(try reopened.loadSnapshot()?.data == [3, 0])
        #expect(reopened.prefix.index == 25)
        #expect(reopened.lastIndex == 40)
    }

    @Test func aCrashBeforeTheFinishLeavesTheSnapshotBeforeAndEveryEntry() throws {
        let dir = TemporaryDirectory()
        let log = try deferredLog(in: dir)
        try log.saveSnapshot(meta(30), data: [3, 0], compactThrough: 30)
        let job = try #require(log.beginSnapshotWrite())
        runOnAnotherThread(job)
        // The process dies with the file written and the metadata not yet naming it.
        let crashed = try dir.copy()
        #expect(snapshotFiles(crashed).count == 2)
        let unfinished = try FileLog(directory: crashed.path, options: Self.small)
        #expect(unfinished.snapshotMeta == meta(5))
        #expect(try unfinished.loadSnapshot()?.data == [5, 5])
        #expect(unfinished.prefix.index == 5)
        #expect(try unfinished.entries(from: 6, through: 40, maxBytes: .max) == entries(6...40, term: 1, size: 24))
        // The orphan file was removed at open.
        #expect(snapshotFiles(crashed).count == 1)
        unfinished.close()
        _ = log
    }

    @Test func aLogDroppedWithoutFinishingReopensWithTheSnapshotBefore() throws {
        let dir = TemporaryDirectory()
        var log: FileLog? = try deferredLog(in: dir)
        try log!.saveSnapshot(meta(30), data: [3, 0], compactThrough: 30)
        log = nil  // never begun
        let reopened = try FileLog(directory: dir.path, options: Self.small)
        defer { reopened.close() }
        #expect(reopened.snapshotMeta == meta(5))
        #expect(reopened.prefix.index == 5)
        #expect(reopened.lastIndex == 40)
        #expect(try reopened.entries(from: 6, through: 40, maxBytes: .max) == entries(6...40, term: 1, size: 24))
    }

    @Test func aJobSupersededByALaterSaveOnlyRemovesItsFile() throws {
        let dir = TemporaryDirectory()
        let log = try deferredLog(in: dir)
        try log.saveSnapshot(meta(20), data: [2, 0], compactThrough: 20)
        let first = try #require(log.beginSnapshotWrite())
        try log.saveSnapshot(meta(30), data: [3, 0], compactThrough: 30)
        #expect(log.snapshotMeta == meta(30))
        #expect(log.beginSnapshotWrite() == nil)  // the first is still out
        runOnAnotherThread(first)
        try log.finishSnapshotWrite(first)
        // Superseded: nothing compacted, its file gone, the old one still in force on disk.
        #expect(log.prefix.index == 5)
        #expect(log.snapshotMeta == meta(30))
        #expect(snapshotFiles(dir).count == 1)
        let second = try #require(log.beginSnapshotWrite())
        #expect(second.index == 30)
        runOnAnotherThread(second)
        try log.finishSnapshotWrite(second)
        #expect(log.prefix.index == 30)
        #expect(snapshotFiles(dir).count == 1)
        log.close()
        let reopened = try FileLog(directory: dir.path, options: Self.small)
        defer { reopened.close() }
        #expect(reopened.snapshotMeta == meta(30))
        #expect(try reopened.loadSnapshot()?.data == [3, 0])
    }

    @Test func anInstallWhilePendingCancelsItAndRunsInline() throws {
        let dir = TemporaryDirectory()
        let log = try deferredLog(in: dir)
        try log.saveSnapshot(meta(20), data: [2, 0], compactThrough: 20)
        let job = try #require(log.beginSnapshotWrite())
        // The leader's snapshot arrives while the job is on the other thread.
        try log.installSnapshot(meta(50, term: 2), data: [5, 0])
        #expect(log.snapshotMeta == meta(50, term: 2))
        #expect(log.prefix == LogPosition(index: 50, term: 2))
        #expect(log.lastIndex == 50)
        runOnAnotherThread(job)
        try log.finishSnapshotWrite(job)
        #expect(log.snapshotMeta == meta(50, term: 2))
        #expect(log.prefix.index == 50)
        #expect(snapshotFiles(dir).count == 1)
        #expect(log.beginSnapshotWrite() == nil)
        try log.append(entries(51...52, term: 2))
        try log.sync()
        log.close()
        let reopened = try FileLog(directory: dir.path, options: Self.small)
        defer { reopened.close() }
        #expect(reopened.snapshotMeta == meta(50, term: 2))
        #expect(try reopened.loadSnapshot()?.data == [5, 0])
        #expect(reopened.lastIndex == 52)
    }

    /// Pending but not begun: the install must not reuse the file id the pending one holds.
    @Test func anInstallBeforeTheJobBeginsLeavesNothingToWrite() throws {
        let dir = TemporaryDirectory()
        let log = try deferredLog(in: dir)
        try log.saveSnapshot(meta(20), data: [2, 0], compactThrough: 20)
        try log.installSnapshot(meta(50, term: 2), data: [5, 0])
        #expect(log.beginSnapshotWrite() == nil)
        #expect(try log.loadSnapshot()?.data == [5, 0])
        log.close()
    }

    @Test func closeWhileAJobIsOutDropsTheSnapshotAndTheDirectoryStaysLockedUntilItRan() throws {
        let dir = TemporaryDirectory()
        let log = try deferredLog(in: dir)
        try log.saveSnapshot(meta(30), data: [UInt8](repeating: 3, count: 100_000), compactThrough: 30)
        let job = try #require(log.beginSnapshotWrite())
        log.close()
        #expect(log.snapshotMeta == meta(5))
        // The job may still create its file: no second instance may open the directory yet.
        #expect(logError { _ = try FileLog(directory: dir.path, options: Self.small) } == .locked(dir.path))
        runOnAnotherThread(job)
        #expect(job.error == nil)
        try log.finishSnapshotWrite(job)  // after close: nothing happens
        #expect(snapshotFiles(dir).count == 2)
        let reopened = try FileLog(directory: dir.path, options: Self.small)
        defer { reopened.close() }
        #expect(reopened.snapshotMeta == meta(5))
        #expect(reopened.lastIndex == 40)
        #expect(snapshotFiles(dir).count == 1)  // the orphan is gone
    }

    @Test func aJobNeverRunReleasesTheDirectoryWhenDropped() throws {
        let dir = TemporaryDirectory()
        let log = try deferredLog(in: dir)
        try log.saveSnapshot(meta(30), data: [3], compactThrough: 30)
        var job = log.beginSnapshotWrite()
        #expect(job != nil)
        log.close()
        job = nil  // a sync thread stopping drops the jobs it had not started
        let reopened = try FileLog(directory: dir.path, options: Self.small)
        reopened.close()
    }

    @Test func anOrphanSnapshotFileAndItsTemporaryAreRemovedAtOpen() throws {
        let dir = TemporaryDirectory()
        let log = try deferredLog(in: dir)
        log.close()
        let named = try #require(snapshotFiles(dir).first)
        let orphan = named.replacingOccurrences(of: "1.snap", with: "7.snap")
        #expect(orphan != named)
        try dir.write(try dir.bytes(of: named), to: orphan)
        try dir.write([1, 2, 3], to: named.replacingOccurrences(of: "1.snap", with: "8.snap") + ".tmp")
        let reopened = try FileLog(directory: dir.path, options: Self.small)
        defer { reopened.close() }
        #expect(snapshotFiles(dir) == [named])
        #expect(reopened.snapshotMeta == meta(5))
        // The next deferred snapshot gets a fresh file and finishes.
        reopened.deferSnapshotWrites = true
        try reopened.saveSnapshot(meta(30), data: [3], compactThrough: 30)
        let job = try #require(reopened.beginSnapshotWrite())
        runOnAnotherThread(job)
        try reopened.finishSnapshotWrite(job)
        #expect(snapshotFiles(dir).count == 1 && snapshotFiles(dir) != [named])
    }

    @Test func aFailedWriteFailsTheLogAndKeepsTheSnapshotBefore() throws {
        let dir = TemporaryDirectory()
        let log = try deferredLog(in: dir)
        try log.saveSnapshot(meta(30), data: [3], compactThrough: 30)
        let job = try #require(log.beginSnapshotWrite())
        // The directory vanished under the job: its open fails.
        let renamed = dir.path + "-gone"
        #expect(rename(dir.path, renamed) == 0)
        runOnAnotherThread(job)
        #expect(rename(renamed, dir.path) == 0)
        #expect(job.error != nil)
        #expect(throws: LogError.self) { try log.finishSnapshotWrite(job) }
        #expect(throws: LogError.self) { try log.append(entries(41...41, term: 1)) }
        log.close()
        let reopened = try FileLog(directory: dir.path, options: Self.small)
        defer { reopened.close() }
        #expect(reopened.snapshotMeta == meta(5))
        #expect(reopened.lastIndex == 40)
    }

    @Test func inlineModeIsUnchanged() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.small)
        defer { log.close() }
        try log.append(entries(1...40, term: 1, size: 24))
        try log.saveSnapshot(meta(30), data: [3], compactThrough: 30)
        #expect(log.prefix.index == 30)
        #expect(log.beginSnapshotWrite() == nil)
        #expect(snapshotFiles(dir).count == 1)
    }
}
