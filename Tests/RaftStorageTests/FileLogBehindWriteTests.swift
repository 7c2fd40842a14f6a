import Dispatch
import Glibc
import Testing
@testable import RaftCore
@testable import RaftStorage

/// Large direct writes run on another thread (`FileLog.writeBehind`, BehindWrite), on the real
/// file system: the log counts their bytes as written at once, and everything that depends on
/// them — reads, syncs, truncations, closing — waits for them or runs them itself, so the log
/// reads back exactly what was appended, before and after a reopen.
@Suite struct FileLogBehindWriteTests {
    /// cacheEntries 1: reads of all but the newest entry come from the file.
    static let options = FileLog.Options(segmentSize: 16 << 20, maxRecordSize: 1 << 20, cacheEntries: 1)

    @Test func writesOnAnotherThreadReadBackThroughSyncsTruncationsAndAReopen() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.options)
        let queue = DispatchQueue(label: "behind-writes")
        var handed = 0
        log.writeBehind = { job in
            handed += 1
            // Late: the owner's reads and syncs meet jobs not yet begun and jobs running.
            queue.async { usleep(300); job.run() }
        }
        var expected: [Entry] = []
        var next: LogIndex = 1
        var term: Term = 1
        for round in 0..<24 {
            let batch = (next...next + 19).map { entry($0, term: term, size: 60_000 + Int($0 % 7) * 1_000) }
            try log.append(batch)
            expected += batch
            next += 20
            // Reads right after the appends (from the file, the cache holding only one entry).
            let from = next - 20
            #expect(try log.entries(from: from, through: next - 1, maxBytes: .max) == Array(expected[Int(from - 1)...]))
            switch round % 4 {
            case 0:
                try log.sync()
            case 1:
                if let job = try log.beginSync() {
                    queue.async { job.run() }
                    queue.sync {}
                    try log.finishSync(job)
                }
            case 2:
                // A follower's conflicting suffix: the last 5 entries go, a new term follows.
                try log.truncate(from: next - 5)
                expected.removeLast(5)
                next -= 5
                term += 1
            default:
                break
            }
        }
        try log.sync()
        #expect(try log.entries(from: 1, through: next - 1, maxBytes: .max) == expected)
        // Direct writes did go out to the other thread (the first ran here: it proves the file
        // system takes O_DIRECT; tmpfs refuses it, and then no write goes out).
        if log.directWriteCount > 0 { #expect(handed > 10) }
        log.close()
        queue.sync {}
        let reopened = try FileLog(directory: dir.path, options: Self.options)
        #expect(try reopened.entries(from: 1, through: reopened.lastIndex, maxBytes: .max) == expected)
        reopened.close()
    }

    /// Jobs no thread ever runs: the log runs them itself when it needs their bytes, and a
    /// close runs what is left, so nothing is lost and nothing waits forever.
    @Test func writesNoThreadRunsAreRunByTheLog() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.options)
        var handed: [BehindWrite] = []
        log.writeBehind = { handed.append($0) }
        let first = entries(1...40, term: 1, size: 60_000)
        try log.append(first)
        try log.sync()
        let second = entries(41...80, term: 1, size: 60_000)
        try log.append(second)
        if log.directWriteCount > 1 { #expect(!handed.isEmpty) }
        // A split sync's job runs the writes it covers before its fdatasync.
        let job = try #require(try log.beginSync())
        runOnAnotherThread(job.run)
        #expect(job.errorCode == 0)
        try log.finishSync(job)
        // An inline sync runs the writes no thread took.
        try log.append(entries(81...100, term: 1, size: 60_000))
        try log.sync()
        log.close()
        let reopened = try FileLog(directory: dir.path, options: Self.options)
        #expect(try reopened.entries(from: 1, through: 100, maxBytes: .max) == first + second + entries(81...100, term: 1, size: 60_000))
        reopened.close()
    }
}
