import Glibc
import RaftCore
import RaftSim
import RaftStorage
import Testing

/// Large flushes go out as direct writes (DirectWriter) that start at the block holding the
/// segment's end — rewriting bytes already durable there — and pad the last block with zeros.
/// On a SimDisk (which treats them as ordinary unsynced writes, torn sector by sector at a
/// power loss) random workloads of small and megabyte-sized batches, syncs and follower
/// truncations must leave, after the power loss, a log that opens and holds every entry a
/// sync vouched for, byte for byte.
@Suite struct FileLogDirectWritePowerLossTests {
    static let dir = "/data/log"
    static let options = FileLog.Options(segmentSize: 6 << 20, maxRecordSize: 2 << 20, cacheEntries: 1)

    static func data(_ index: LogIndex, _ term: Term, size: Int) -> [UInt8] {
        [UInt8](repeating: UInt8(truncatingIfNeeded: Int(index) &* 131 &+ Int(term) &* 7), count: size)
    }

    /// One seed's workload; returns what went wrong (nil: nothing) and the direct writes made.
    static func run(seed: UInt64, steps: Int) -> (problem: String?, directWrites: Int) {
        var rng = SplitMix64(seed: seed)
        func roll(_ n: UInt64) -> UInt64 { rng.next() % n }
        let disk = SimDisk.seeded(&rng, directory: dir)
        let log: FileLog
        do { log = try FileLog(directory: dir, options: options, fileSystem: disk) } catch { return ("open: \(error)", 0) }
        var held: [LogIndex: Entry] = [:]
        var vouched: [LogIndex: Entry] = [:]
        var last: LogIndex = 0
        var term: Term = 1
        for _ in 0..<steps {
            switch roll(10) {
            case 0..<5:  // a batch: small entries, or two or three of 400-600 KB (mostly a direct write)
                let large = roll(2) == 0
                let n = large ? 2 + LogIndex(roll(2)) : 1 + LogIndex(roll(5))
                let batch = (last + 1...last + n).map {
                    Entry(index: $0, term: term, kind: .command,
                          data: data($0, term, size: large ? 400_000 + Int(roll(200_000)) : 1 + Int(roll(300))))
                }
                do { try log.append(batch) } catch { return ("append: \(error)", log.directWriteCount) }
                for e in batch { held[e.index] = e }
                last += n
            case 5..<8:
                do { try log.sync() } catch { return ("sync: \(error)", log.directWriteCount) }
                vouched = held
            case 8 where last > 0:  // a follower's conflicting suffix, replaced by a new term
                let from = max(1, last - LogIndex(roll(min(last, 4))))
                do { try log.truncate(from: from) } catch { return ("truncate: \(error)", log.directWriteCount) }
                for i in from...last {
                    held[i] = nil
                    vouched[i] = nil
                }
                last = from - 1
                term += 1
            default:
                break
            }
        }
        let directWrites = log.directWriteCount

        disk.powerLoss(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 3)
        return (problemAfterPowerLoss(reopening: dir, options: options, on: disk, vouchedEntries: vouched), directWrites)
    }

    @Test func everySyncedEntrySurvivesAPowerLossByteForByte() {
        var problems: [String] = []
        var directWrites = 0
        for seed in UInt64(1)...25 {
            let (p, d) = Self.run(seed: seed, steps: 30)
            if let p { problems.append("seed \(seed): \(p)") }
            directWrites += d
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        // The workloads did go through the direct path (SimDisk takes O_DIRECT).
        #expect(directWrites > 25)
    }
}
