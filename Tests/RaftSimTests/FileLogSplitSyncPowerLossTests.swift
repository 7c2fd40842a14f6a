import Glibc
import RaftCore
import RaftSim
import RaftStorage
import Testing

/// The split sync a runtime uses to fsync off its loop thread (`beginSync`, `DataSync.run`,
/// `finishSync`), on a SimDisk, under power loss: random workloads of appends, up to two jobs
/// in flight, jobs run and finished late, follower truncations between a job's start and its
/// end, inline syncs, and a failed fdatasync. After the power loss the log must reopen (no
/// corruption error) and hold every entry a finished job or an inline sync vouched for:
/// those appended before the job began and not cut since.
@Suite struct FileLogSplitSyncPowerLossTests {
    static let dir = "/data/log"
    static let options = FileLog.Options(segmentSize: 2_048, maxRecordSize: 512, cacheEntries: 4)

    struct Job {
        let job: DataSync
        /// The entries (index → term) appended when the job began.
        let covers: [LogIndex: Term]
        var ran = false
    }

    /// One seed's workload; returns what went wrong (nil: nothing).
    static func run(seed: UInt64, steps: Int) -> String? {
        var rng = SplitMix64(seed: seed)
        func roll(_ n: UInt64) -> UInt64 { rng.next() % n }
        let disk = SimDisk.seeded(&rng, directory: dir)
        let log: FileLog
        do { log = try FileLog(directory: dir, options: options, fileSystem: disk) } catch { return "open: \(error)" }
        var terms: [LogIndex: Term] = [:]  // what the log holds now
        var vouched: [LogIndex: Term] = [:]  // durable by a finished job or an inline sync
        var last: LogIndex = 0
        var term: Term = 1
        var jobs: [Job] = []
        var failed = false  // a sync failed: the log refuses writes from then on
        var injected = false  // an fdatasync was failed on purpose: later refusals are expected
        // An error is a problem unless an injected failure explains it; then the log is done.
        func refused(_ what: String, _ error: Error) -> String? {
            if injected { failed = true; return nil }
            return "\(what): \(error)"
        }

        func vouch(_ covered: [LogIndex: Term]) {
            for (i, t) in covered where terms[i] == t { vouched[i] = t }
        }
        for _ in 0..<steps {
            if failed { break }
            switch roll(100) {
            case 0..<40:  // appends
                let n = 1 + LogIndex(roll(6))
                let batch = (last + 1...last + n).map {
                    Entry(index: $0, term: term, kind: .command, data: [UInt8](repeating: UInt8($0 & 0xFF), count: 20 + Int($0 % 90)))
                }
                do { try log.append(batch) } catch {
                    if let p = refused("append", error) { return p }
                    break
                }
                for e in batch { terms[e.index] = e.term }
                last += n
            case 40..<55 where jobs.count < 2:  // a job starts
                do {
                    if let job = try log.beginSync() {
                        jobs.append(Job(job: job, covers: terms))
                    } else {
                        vouch(terms)  // nothing to wait for, or synced here
                    }
                } catch {
                    if let p = refused("beginSync", error) { return p }
                }
            case 55..<70:  // the oldest job not run yet runs (the sync thread keeps the order)
                if let k = jobs.firstIndex(where: { !$0.ran }) {
                    if roll(25) == 0 {
                        disk.fault = { call, _, _ in call == .fdatasync ? EIO : nil }
                        injected = true
                    }
                    jobs[k].job.run()
                    disk.fault = nil
                    jobs[k].ran = true
                }
            case 70..<82:  // the oldest job ends (the loop takes them back in order)
                if let first = jobs.first, first.ran {
                    jobs.removeFirst()
                    do {
                        try log.finishSync(first.job)
                        vouch(first.covers)
                    } catch {
                        if let p = refused("finishSync", error) { return p }
                    }
                }
            case 82..<90 where last > 0:  // a follower's conflicting suffix, replaced by a new term
                let from = max(1, last - LogIndex(roll(min(last, 8))))
                do { try log.truncate(from: from) } catch {
                    if let p = refused("truncate", error) { return p }
                    break
                }
                for i in from...last {
                    terms[i] = nil
                    vouched[i] = nil
                }
                last = from - 1
                term += 1
            case 90..<95:  // an inline sync (the metadata path, a shutdown)
                do {
                    try log.sync()
                    vouch(terms)
                } catch {
                    if let p = refused("sync", error) { return p }
                }
            default:
                break
            }
        }

        disk.powerLoss(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        return problemAfterPowerLoss(reopening: dir, options: options, on: disk, vouched: vouched)
    }

    /// An empty log on a disk of its own (strict POSIX sync semantics).
    static func freshLog() throws -> (SimDisk, FileLog) {
        let disk = SimDisk(semantics: .strict)
        disk.makeDurableDirectory(dir)
        return (disk, try FileLog(directory: dir, options: options, fileSystem: disk))
    }

    @Test func everyEntryAFinishedJobVouchedForSurvivesAPowerLoss() {
        var problems: [String] = []
        for seed in UInt64(1)...300 {
            if let p = Self.run(seed: seed, steps: 120) { problems.append("seed \(seed): \(p)") }
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    /// The case the cut count is for: a job that began before a truncation proves nothing
    /// about the entries written at the same offsets after it.
    @Test func aJobThatBeganBeforeACutDoesNotVouchForWhatReplacedTheSuffix() throws {
        let (disk, log) = try Self.freshLog()
        func entries(_ r: ClosedRange<LogIndex>, _ t: Term) -> [Entry] {
            r.map { Entry(index: $0, term: t, kind: .command, data: [UInt8](repeating: 1, count: 40)) }
        }
        try log.append(entries(1...4, 1))
        try log.sync()
        try log.append(entries(5...8, 1))
        let job = try #require(try log.beginSync())
        try log.truncate(from: 6)
        try log.append(entries(6...9, 2))
        job.run()
        try log.finishSync(job)
        // Entries 6-9 of term 2 were not covered by that job; an inline sync makes them durable.
        disk.powerLoss { path, _, _ in !path.hasSuffix(".log") }
        var reopened = try FileLog(directory: Self.dir, options: Self.options, fileSystem: disk)
        #expect(reopened.lastIndex >= 4)
        #expect(reopened.term(at: 4) == 1)
        #expect(reopened.lastIndex < 6 || reopened.term(at: 6) == 1 || reopened.term(at: 6) == 2)
        reopened.close()

        let (disk2, log2) = try Self.freshLog()
        try log2.append(entries(1...4, 1))
        let job2 = try #require(try log2.beginSync())
        job2.run()
        try log2.finishSync(job2)
        disk2.powerLoss { _, _, _ in false }
        reopened = try FileLog(directory: Self.dir, options: Self.options, fileSystem: disk2)
        #expect(reopened.lastIndex == 4)
        #expect((1...4).allSatisfy { reopened.term(at: $0) == 1 })
        reopened.close()
        _ = log
        _ = log2
    }

    /// A process that dies between a job's start and its fdatasync leaves the bytes in the
    /// page cache; the log reopened from them must make them durable before it hands them out
    /// (a node counts what its log holds at start as durable, and acknowledges it).
    @Test func whatAReopenedLogHoldsSurvivesAPowerLoss() throws {
        let (disk, log) = try Self.freshLog()
        func entries(_ r: ClosedRange<LogIndex>) -> [Entry] {
            r.map { Entry(index: $0, term: 1, kind: .command, data: [UInt8](repeating: 7, count: 30)) }
        }
        try log.append(entries(1...4))
        try log.sync()
        try log.append(entries(5...6))
        _ = try #require(try log.beginSync())  // never runs: the process dies
        log.close()
        var reopened = try FileLog(directory: Self.dir, options: Self.options, fileSystem: disk)
        #expect(reopened.lastIndex == 6)
        reopened.close()
        disk.powerLoss { _, _, _ in false }
        reopened = try FileLog(directory: Self.dir, options: Self.options, fileSystem: disk)
        #expect(reopened.lastIndex == 6)
        reopened.close()
    }

    /// fsyncgate: a failed write-back is reported once per open file, and the job's descriptor
    /// is a dup of the segment's. After a job's fdatasync got EIO, the owner's next inline
    /// fdatasync of the segment would return 0 with the pages gone — before the owner has
    /// heard of the job's failure (a leader that stepped down syncs inline as a follower).
    /// It must fail too, or the node would acknowledge entries that a power loss takes.
    @Test func anInlineSyncAfterAJobFailedFailsToo() throws {
        let (disk, log) = try Self.freshLog()
        try log.append([Entry(index: 1, term: 1, kind: .command, data: [1, 2, 3])])
        try log.sync()
        try log.append([Entry(index: 2, term: 1, kind: .command, data: [4, 5, 6])])
        let job = try #require(try log.beginSync())
        disk.fault = { call, _, _ in call == .fdatasync ? EIO : nil }
        job.run()
        disk.fault = nil
        #expect(job.errorCode == EIO)
        // The owner has not taken the job back yet; entry 3 is written and synced inline.
        try log.append([Entry(index: 3, term: 1, kind: .command, data: [7])])
        #expect(throws: (any Error).self) { try log.sync() }
        #expect(throws: (any Error).self) { try log.finishSync(job) }
        disk.powerLoss { _, _, _ in false }
        let reopened = try FileLog(directory: Self.dir, options: Self.options, fileSystem: disk)
        #expect(reopened.lastIndex == 1)
        reopened.close()
    }

    /// A job's failed fdatasync (EIO) is reported by `finishSync`, and the log refuses writes.
    @Test func aFailedJobIsReportedAndTheLogRefusesWrites() throws {
        let (disk, log) = try Self.freshLog()
        try log.append([Entry(index: 1, term: 1, kind: .command, data: [1, 2, 3])])
        let job = try #require(try log.beginSync())
        disk.fault = { call, _, _ in call == .fdatasync ? EIO : nil }
        job.run()
        disk.fault = nil
        #expect(job.errorCode == EIO)
        #expect(throws: (any Error).self) { try log.finishSync(job) }
        #expect(throws: (any Error).self) { try log.append([Entry(index: 2, term: 1, kind: .command, data: [4])]) }
        // The dropped pages never reached the disk: after a power loss the entry may be gone.
        disk.powerLoss { _, _, _ in false }
        let reopened = try FileLog(directory: Self.dir, options: Self.options, fileSystem: disk)
        #expect(reopened.lastIndex == 0)
        reopened.close()
    }
}
