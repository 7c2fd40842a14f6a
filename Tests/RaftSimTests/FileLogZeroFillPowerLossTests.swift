import Glibc
import RaftCore
import RaftSim
import RaftStorage
import Testing

/// Zeroing ahead (`beginZeroFill`, `ZeroFill.run`, `finishZeroFill`) on a SimDisk, under power
/// loss: random workloads of appends, inline syncs, follower truncations, segment rolls, zero
/// fills begun, run late or never, taken back late, some failing. After the power loss the log
/// must reopen (no corruption error) and hold every entry an inline sync vouched for, with
/// terms that never go down: the zeros may land or not, before or after the records around
/// them, and must change nothing.
@Suite struct FileLogZeroFillPowerLossTests {
    static let dir = "/data/log"
    /// 16 KiB segments: jobs of up to 12 KiB starting 4 KiB past the records, and many rolls.
    static let options = FileLog.Options(segmentSize: 16 << 10, maxRecordSize: 4 << 10, cacheEntries: 4)

    static func run(seed: UInt64, steps: Int) -> (problem: String?, zeroFills: Int) {
        var rng = SplitMix64(seed: seed)
        func roll(_ n: UInt64) -> UInt64 { rng.next() % n }
        let disk = SimDisk.seeded(&rng, directory: dir)
        let log: FileLog
        do { log = try FileLog(directory: dir, options: options, fileSystem: disk) } catch {
            return ("open: \(error)", 0)
        }
        var terms: [LogIndex: Term] = [:]
        var vouched: [LogIndex: Term] = [:]
        var last: LogIndex = 0
        var term: Term = 1
        var job: ZeroFill?
        var injected = false
        var failed = false
        func refused(_ what: String, _ error: Error) -> String? {
            if injected { failed = true; return nil }
            return "\(what): \(error)"
        }
        for _ in 0..<steps {
            if failed { break }
            switch roll(100) {
            case 0..<40:
                let n = 1 + LogIndex(roll(8))
                let batch = (last + 1...last + n).map {
                    Entry(index: $0, term: term, kind: .command,
                          data: [UInt8](repeating: UInt8($0 & 0xFF), count: 20 + Int(roll(400))))
                }
                do { try log.append(batch) } catch {
                    if let p = refused("append", error) { return (p, log.zeroFillCount) }
                    break
                }
                for e in batch { terms[e.index] = e.term }
                last += n
            case 40..<55:
                do {
                    try log.sync()
                    for (i, t) in terms { vouched[i] = t }
                } catch {
                    if let p = refused("sync", error) { return (p, log.zeroFillCount) }
                }
            case 55..<65 where job == nil:
                job = log.beginZeroFill()
            case 65..<75:  // the zero thread runs it, maybe failing
                if let j = job {
                    if roll(20) == 0 {
                        let call: SimDisk.Call = roll(2) == 0 ? .write : .fdatasync
                        disk.fault = { c, _, _ in c == call ? EIO : nil }
                        injected = true
                    }
                    j.run()
                    disk.fault = nil
                }
            case 75..<85:  // the loop takes it back (run or not: a late report of a settled job)
                if let j = job, roll(3) != 0 {
                    job = nil
                    do { try log.finishZeroFill(j) } catch {
                        if let p = refused("finishZeroFill", error) { return (p, log.zeroFillCount) }
                    }
                }
            case 85..<93 where last > 0:
                let from = max(1, last - LogIndex(roll(min(last, 12))))
                do { try log.truncate(from: from) } catch {
                    if let p = refused("truncate", error) { return (p, log.zeroFillCount) }
                    break
                }
                for i in from...last {
                    terms[i] = nil
                    vouched[i] = nil
                }
                last = from - 1
                term += 1
            default:
                break
            }
        }
        let zeroFills = log.zeroFillCount
        disk.powerLoss(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 3)
        return (problemAfterPowerLoss(reopening: dir, options: options, on: disk, vouched: vouched), zeroFills)
    }

    @Test func zeroFillsChangeNothingAPowerLossLeaves() {
        var problems: [String] = []
        var zeroFills = 0
        for seed in UInt64(1)...400 {
            let r = Self.run(seed: seed, steps: 200)
            if let p = r.problem { problems.append("seed \(seed): \(p)") }
            zeroFills += r.zeroFills
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        // The workloads did zero space ahead, or they tested nothing.
        #expect(zeroFills > 400)
    }

    /// A log holding entry 1, synced, on a disk of its own (strict POSIX sync semantics).
    static func logWithOneSyncedEntry() throws -> (SimDisk, FileLog) {
        let disk = SimDisk(semantics: .strict)
        disk.makeDurableDirectory(dir)
        let log = try FileLog(directory: dir, options: options, fileSystem: disk)
        try log.append([Entry(index: 1, term: 1, kind: .command, data: [1, 2, 3])])
        try log.sync()
        return (disk, log)
    }

    /// Closes `log`; after a power loss that keeps nothing unsynced, only entry 1 is left.
    static func expectOnlyTheSyncedEntryAfterAPowerLoss(_ disk: SimDisk, _ log: FileLog) throws {
        log.close()
        disk.powerLoss { _, _, _ in false }
        let reopened = try FileLog(directory: dir, options: options, fileSystem: disk)
        #expect(reopened.lastIndex == 1)
        reopened.close()
    }

    @Test func aFailedZeroFillIsReportedAndTheLogRefusesWrites() throws {
        for call in [SimDisk.Call.write, .fdatasync] {
            let (disk, log) = try Self.logWithOneSyncedEntry()
            let job = try #require(log.beginZeroFill())
            disk.fault = { c, _, _ in c == call ? EIO : nil }
            job.run()
            disk.fault = nil
            #expect(job.outcome == EIO)
            #expect(throws: (any Error).self) { try log.finishZeroFill(job) }
            #expect(throws: (any Error).self) { try log.append([Entry(index: 2, term: 1, kind: .command, data: [4])]) }
            try Self.expectOnlyTheSyncedEntryAfterAPowerLoss(disk, log)
        }
    }

    /// The owner runs a job whose space it needs; when that run fails, the flush that needed
    /// it fails rather than writing into space whose zeros are in doubt, and the log refuses
    /// writes from then on.
    @Test func aFailedZeroFillRunByTheOwnerFailsTheFlushThatNeededIt() throws {
        let (disk, log) = try Self.logWithOneSyncedEntry()
        // The job starts at most 8 KiB in (4 KiB past the records, rounded to a block).
        _ = try #require(log.beginZeroFill())
        try log.append((2...11).map { Entry(index: $0, term: 1, kind: .command, data: [UInt8](repeating: 9, count: 1_100)) })
        // The flush settles the job before its own write: the first write is the job's.
        var writes = 0
        disk.fault = { c, _, _ in
            guard c == .write else { return nil }
            writes += 1
            return writes == 1 ? EIO : nil
        }
        #expect(throws: (any Error).self) { try log.sync() }
        disk.fault = nil
        #expect(writes >= 1)
        #expect(throws: (any Error).self) { try log.append([Entry(index: 12, term: 1, kind: .command, data: [4])]) }
        try Self.expectOnlyTheSyncedEntryAfterAPowerLoss(disk, log)
    }

    /// On a nearly full disk zeroing ahead takes nothing: the last bytes stay for records.
    @Test func zeroingAheadNeverTakesANearlyFullDisksLastSpace() throws {
        let disk = SimDisk(semantics: .strict)
        disk.makeDurableDirectory(Self.dir)
        // 8 MiB segments: allocated 4 MiB at a time, zeroed 1 MiB at a time.
        let options = FileLog.Options(segmentSize: 8 << 20, maxRecordSize: 64 << 10, cacheEntries: 4)
        let log = try FileLog(directory: Self.dir, options: options, fileSystem: disk)
        var next: LogIndex = 1
        func append(_ n: Int, size: Int) throws {
            try log.append((0..<n).map { k in
                Entry(index: next + LogIndex(k), term: 1, kind: .command, data: [UInt8](repeating: 5, count: size))
            })
            next += LogIndex(n)
            try log.sync()
        }
        // Records up to ~3.1 MiB, then small flushes: the next stretch to zero would reach past
        // the first 4 MiB allocated.
        try append(52, size: 60_000)
        for _ in 0..<40 { try append(1, size: 100) }
        // Less than a preallocation step left on the disk.
        disk.capacity = disk.usedBytes + (2 << 20)
        #expect(log.beginZeroFill() == nil)
        // Asking again (every pump does) makes no call until the allocation has moved.
        let calls = disk.calls
        #expect(log.beginZeroFill() == nil)
        #expect(disk.calls == calls)
        // The space is still there for records, past the first allocation.
        try append(20, size: 60_000)
        #expect(log.lastIndex == next - 1)
        #expect(log.zeroFillCount == 0)
        log.close()
        disk.capacity = nil
        let reopened = try FileLog(directory: Self.dir, options: options, fileSystem: disk)
        #expect(reopened.lastIndex == next - 1)
        reopened.close()
    }
}
