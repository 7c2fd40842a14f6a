import Glibc
import Testing
@testable import RaftCore
@testable import RaftStorage

/// Zeroing the active segment's space ahead of its records (FileLog+ZeroFill): the job writes
/// zeros only past the records, appends that reach its space wait for it, truncations and
/// closes take it back, and nothing it does changes what the log holds.
@Suite struct FileLogZeroFillTests {
    /// 256 KiB segments: a 256 KiB preallocation step, so jobs of up to 256 KiB starting 64 KiB
    /// past the records.
    static let options = FileLog.Options(segmentSize: 256 << 10, maxRecordSize: 64 << 10, cacheEntries: 16)

    func segmentBytes(_ dir: TemporaryDirectory) throws -> [UInt8] {
        try dir.bytes(of: try #require(dir.segmentNames.last))
    }

    @Test func aJobZeroesSpacePastTheRecordsAndAppendsGoOn() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.options)
        try log.append(entries(1...10, term: 1, size: 100))
        try log.sync()
        let job = try #require(log.beginZeroFill())
        let recordsEnd = try segmentBytes(dir).lastIndex(where: { $0 != 0 })! + 1
        #expect(job.range.lowerBound >= recordsEnd + 64 << 10)
        #expect(job.range.upperBound <= Self.options.segmentSize)
        // One at a time.
        #expect(log.beginZeroFill() == nil)
        // Appends below the job's range go on while it is out.
        try log.append(entries(11...20, term: 1, size: 100))
        try log.sync()
        runOnAnotherThread(job.run)
        #expect(job.outcome == 0)
        try log.finishZeroFill(job)
        #expect(log.zeroFillCount == 1)
        let bytes = try segmentBytes(dir)
        #expect(bytes.count >= job.range.upperBound)
        #expect(bytes[job.range].allSatisfy { $0 == 0 })
        // Records then go into the zeroed space and read back, before and after a reopen.
        try log.append(entries(21...1_000, term: 1, size: 100))
        try log.sync()
        let written = entries(1...1_000, term: 1, size: 100)
        #expect(try log.entries(from: 1, through: 1_000, maxBytes: .max) == written)
        log.close()
        let reopened = try FileLog(directory: dir.path, options: Self.options)
        #expect(try reopened.entries(from: 1, through: reopened.lastIndex, maxBytes: .max) == written)
        reopened.close()
    }

    @Test func appendsThatReachTheJobsSpaceRunItFirst() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.options)
        try log.append(entries(1...2, term: 1))
        let job = try #require(log.beginZeroFill())
        // The job never ran elsewhere: the flush that reaches its start runs it here.
        var next: LogIndex = 3
        while job.outcome == nil {
            try log.append(entries(next...next + 49, term: 1, size: 200))
            try log.sync()
            next += 50
            if next > 5_000 { break }
        }
        #expect(job.outcome == 0)
        #expect(log.zeroFillCount == 1)
        // Taking it back afterwards (the other thread's late report) changes nothing.
        try log.finishZeroFill(job)
        #expect(log.zeroFillCount == 1)
        // A job that ran is never run again: its descriptor is closed.
        job.run()
        #expect(job.outcome == 0)
        let written = entries(1...2, term: 1) + (3..<next).map { entry($0, term: 1, size: 200) }
        #expect(try log.entries(from: 1, through: next - 1, maxBytes: .max) == written)
        log.close()
        let reopened = try FileLog(directory: dir.path, options: Self.options)
        #expect(reopened.lastIndex == next - 1)
        reopened.close()
    }

    @Test func aTruncationOrACloseTakesAJobBackUnrun() throws {
        let dir = TemporaryDirectory()
        var log = try FileLog(directory: dir.path, options: Self.options)
        try log.append(entries(1...10, term: 1, size: 100))
        try log.sync()
        let job = try #require(log.beginZeroFill())
        try log.truncate(from: 6)
        // Cancelled: a late run does nothing, and taking it back is ignored.
        job.run()
        #expect(job.outcome == nil)
        try log.finishZeroFill(job)
        #expect(log.zeroFillCount == 0)
        try log.append(entries(6...8, term: 2, size: 100))
        try log.sync()
        let second = try #require(log.beginZeroFill())
        log.close()
        second.run()
        #expect(second.outcome == nil)
        try log.finishZeroFill(second)
        log = try FileLog(directory: dir.path, options: Self.options)
        #expect(log.lastIndex == 8)
        #expect(log.term(at: 5) == 1)
        #expect(log.term(at: 6) == 2)
        log.close()
    }

    @Test func largeFlushesGetNoJob() throws {
        let dir = TemporaryDirectory()
        let options = FileLog.Options(segmentSize: 64 << 20, maxRecordSize: 1 << 20, cacheEntries: 4)
        let log = try FileLog(directory: dir.path, options: options)
        // 48 KiB per flush: past the 32 KiB mean under which zeroing ahead pays.
        for i in LogIndex(1)...40 {
            try log.append([entry(i, term: 1, size: 48 << 10)])
            try log.sync()
        }
        #expect(log.beginZeroFill() == nil)
        // Small flushes bring the mean back down.
        for i in LogIndex(41)...100 {
            try log.append([entry(i, term: 1, size: 100)])
            try log.sync()
        }
        let job = try #require(log.beginZeroFill())
        job.run()
        try log.finishZeroFill(job)
        #expect(log.zeroFillCount == 1)
        log.close()
    }

    @Test func aLogThatDoesNotPreallocateGetsNoJob() throws {
        let dir = TemporaryDirectory()
        var options = Self.options
        options.preallocate = false
        let log = try FileLog(directory: dir.path, options: options)
        try log.append(entries(1...3, term: 1))
        try log.sync()
        #expect(log.beginZeroFill() == nil)
        log.close()
    }

    @Test func aSegmentRollTakesTheJobBack() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.options)
        try log.append(entries(1...2, term: 1))
        let job = try #require(log.beginZeroFill())
        // More than a segment: the log rolls to a new one, trimming the old one's space.
        for i in stride(from: LogIndex(3), through: 3_000, by: 100) {
            try log.append(entries(i...i + 99, term: 1, size: 100))
        }
        try log.sync()
        #expect(dir.segmentNames.count >= 2)
        runOnAnotherThread(job.run)
        try log.finishZeroFill(job)
        #expect(log.lastIndex == 3_002)
        log.close()
        let reopened = try FileLog(directory: dir.path, options: Self.options)
        #expect(reopened.lastIndex == 3_002)
        reopened.close()
    }
}
