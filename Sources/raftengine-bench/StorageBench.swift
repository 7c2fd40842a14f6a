import Foundation
import Glibc
import RaftCore
import RaftStorage

/// How fast FileLog appends and recovers, next to what this machine's disk allows: the fsync
/// latency is measured in the same run, so sync-bound rows read as a fraction of 1 / fsync p50.
enum StorageBench {
    /// Each append row runs for about this long.
    static let rowBudget = Duration.seconds(2)
    static let recoveryEntries = 1_000_000

    static func main() {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("raftengine-bench-storage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let fsync = try FsyncLatency.measure(in: root + "/fsync-probe", budget: rowBudget)
            print("storage (FileLog in \(root))")
            print(String(format: "fsync latency (4 KiB append + fdatasync, %d samples): p50 %.3f ms  p99 %.3f ms  -> 1/p50 = %.0f syncs/s",
                         fsync.samples, fsync.p50 * 1e3, fsync.p99 * 1e3, 1 / fsync.p50))
            print("")
            print("append throughput (one append call and one sync per batch)")
            print("entry  batch    entries  seconds   entries/s     MB/s   syncs/s  fsyncs/s  syncs/s x p50")
            for size in [64, 4096] {
                for batch in [1, 64, 1024] {
                    let dir = root + "/append-\(size)-\(batch)"
                    let r = try appendRow(in: dir, entrySize: size, batch: batch)
                    try? FileManager.default.removeItem(atPath: dir)
                    print(String(format: "%5d  %5d  %9d  %7.3f  %10.0f  %7.1f  %8.0f  %8.0f  %13.2f",
                                 size, batch, r.entries, r.seconds, Double(r.entries) / r.seconds,
                                 Double(r.entries * size) / r.seconds / 1e6, Double(r.syncs) / r.seconds,
                                 Double(r.fsyncs) / r.seconds, Double(r.syncs) / r.seconds * fsync.p50))
                }
            }
            print("")
            let recovery = try recoveryRow(in: root + "/recovery")
            print(String(format: "recovery: open a %d-entry log (64-byte entries, %.1f MB on disk): %.3f s median of 3 (%@), %.0f entries/s",
                         recoveryEntries, Double(recovery.bytesOnDisk) / 1e6, recovery.median,
                         recovery.all.map { String(format: "%.3f", $0) }.joined(separator: ", "),
                         Double(recoveryEntries) / recovery.median))
            print("  (the page cache holds the files: this is the parsing and indexing cost, not cold disk reads)")
        } catch {
            print("storage benchmark failed: \(error)")
        }
    }

    struct AppendResult {
        var entries: Int
        var syncs: Int
        var fsyncs: Int
        var seconds: Double
    }

    /// Appends batches of `batch` entries, syncing after each, until the row's budget is spent.
    static func appendRow(in dir: String, entrySize: Int, batch: Int) throws -> AppendResult {
        let log = try FileLog(directory: dir)
        defer { log.close() }
        let payload = [UInt8](repeating: 0x5A, count: entrySize)
        let clock = ContinuousClock()
        let fsyncsBefore = log.fsyncCount
        var next: LogIndex = 1
        var syncs = 0
        let start = clock.now
        while clock.now - start < rowBudget {
            let entries = (0..<LogIndex(batch)).map { Entry(index: next + $0, term: 1, kind: .command, data: payload) }
            try log.append(entries)
            try log.sync()
            next += LogIndex(batch)
            syncs += 1
        }
        let seconds = (clock.now - start).seconds
        return AppendResult(entries: Int(next - 1), syncs: syncs, fsyncs: log.fsyncCount - fsyncsBefore, seconds: seconds)
    }

    /// Writes the recovery log once, then opens it three times.
    static func recoveryRow(in dir: String) throws -> (median: Double, all: [Double], bytesOnDisk: Int) {
        let payload = [UInt8](repeating: 0x5A, count: 64)
        do {
            let log = try FileLog(directory: dir)
            defer { log.close() }
            var next: LogIndex = 1
            while next <= LogIndex(recoveryEntries) {
                let count = min(LogIndex(4096), LogIndex(recoveryEntries) - next + 1)
                try log.append((0..<count).map { Entry(index: next + $0, term: 1, kind: .command, data: payload) })
                next += count
            }
            try log.sync()
        }
        let clock = ContinuousClock()
        var times: [Double] = []
        for _ in 0..<3 {
            let start = clock.now
            let log = try FileLog(directory: dir)
            times.append((clock.now - start).seconds)
            precondition(log.lastIndex == LogIndex(recoveryEntries), "recovery lost entries")
            log.close()
        }
        let bytes = try FileManager.default.contentsOfDirectory(atPath: dir).reduce(0) { sum, name in
            let size = try FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int ?? 0
            return sum + size
        }
        return (times.sorted()[1], times, bytes)
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
