import Foundation
import Glibc
import RaftCore
import RaftUV

/// A real 3-node cluster in this process: RaftUV runtime, loopback TCP, FileLog in temp dirs.
/// Measures commit throughput and latency at the leader, failover time and memory, next to
/// this machine's fsync and loopback round-trip latency; prints them and writes
/// bench/results/latest.{csv,json} and a latency plot. Figures, never assertions.
enum ClusterBench {
    static let warmup = 0.5
    static let window = 3.0
    static let inFlights = [1, 64, 1024]
    static let commandSizes = [64, 4096]
    static let failoverTrials = 20
    /// 1,000,000 unless RAFTENGINE_BENCH_MEMORY_COMMANDS says otherwise (longer runs show
    /// whether the resident size stays flat).
    static let memoryTarget = Int(ProcessInfo.processInfo.environment["RAFTENGINE_BENCH_MEMORY_COMMANDS"] ?? "") ?? 1_000_000
    static let memoryBudget = 60.0 * Double(max(1, memoryTarget / 1_000_000))
    static let snapshotThreshold: LogIndex = 100_000

    struct Row {
        var mode: BenchCluster.HostMode
        var result: LoadDriver.Result
    }

    static func main() {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("raftengine-bench-cluster-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try run(root: root)
        } catch {
            print("cluster benchmark failed: \(error)")
        }
    }

    static func run(root: String) throws {
        let settings = ClusterSettings.default
        print("cluster (3 nodes in one process, loopback TCP, FileLog under \(root), \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        print(String(format: "settings: heartbeat %.0f ms, election timeout %.0f-%.0f ms, max entries/message %d, max inflight messages %d",
                     Double(settings.heartbeatPeriod) / 1e6, Double(settings.electionTimeoutMin) / 1e6,
                     Double(settings.electionTimeoutMax) / 1e6, settings.maxEntriesPerMessage, settings.maxInflight))

        // The machine's floor, measured in this run.
        let fsync = try FsyncLatency.measure(in: root + "/fsync-probe", budget: .seconds(2))
        let rtt = try LoopbackRTT.measure(budget: 1.0)
        let floor = fsync.p50 + rtt.p50
        print(String(format: "fsync (4 KiB append + fdatasync, %d samples): p50 %.3f ms  p99 %.3f ms", fsync.samples, fsync.p50 * 1e3, fsync.p99 * 1e3))
        print(String(format: "loopback TCP round trip (64 B ping-pong, %d samples): p50 %.3f ms  p99 %.3f ms", rtt.samples, rtt.p50 * 1e3, rtt.p99 * 1e3))
        print(String(format: "floor = fsync p50 + RTT p50 = %.3f ms", floor * 1e3))
        print("")

        // Throughput and latency, both host layouts.
        var rows: [Row] = []
        print(String(format: "commit throughput and latency at the leader (closed loop, %.1f s warm-up, %.1f s window per row)", warmup, window))
        print("host mode      bytes  in-flight  committed  failed    commands/s     MB/s   p50 ms   p99 ms  p999 ms  p50/floor")
        for mode in BenchCluster.HostMode.allCases {
            for size in commandSizes {
                let c = try BenchCluster(mode: mode, root: root, settings: settings)
                defer { c.shutdown() }
                try c.startAll()
                guard let leader = c.waitReady() else {
                    print("\(mode.rawValue): no leader within 15 s")
                    continue
                }
                for n in inFlights {
                    let r = LoadDriver.run(target: { c.leader() ?? leader }, commandBytes: size, inFlight: n, warmup: warmup, window: window)
                    rows.append(Row(mode: mode, result: r))
                    print(mode.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0) + String(format: "  %5d  %9d  %9d  %6d  %12.0f  %7.2f  %7.3f  %7.3f  %7.3f  %9.2f",
                                 size, n, r.committed, r.failed, r.commandsPerSecond, r.megabytesPerSecond,
                                 r.percentile(0.5) * 1e3, r.percentile(0.99) * 1e3, r.percentile(0.999) * 1e3,
                                 r.percentile(0.5) / floor))
                }
            }
        }
        print("")

        // The faster layout (64-byte commands, 1024 in flight) runs failover and memory.
        let best = rows.filter { $0.result.commandBytes == 64 && $0.result.inFlight == 1024 }
            .max { $0.result.commandsPerSecond < $1.result.commandsPerSecond }?.mode ?? .shared
        print("failover (\(best.rawValue), default timing): stop the leader, time to the first command committed by a new leader")
        let failover = try failoverTrials(mode: best, root: root, settings: settings)
        let fo = failover.sorted()
        let foP50 = fo.isEmpty ? Double.nan : fo[fo.count / 2]
        let foMax = fo.last ?? .nan
        print(String(format: "trials %d  p50 %.1f ms  max %.1f ms  min %.1f ms  (election timeout max %.0f ms)",
                     fo.count, foP50 * 1e3, foMax * 1e3, (fo.first ?? .nan) * 1e3, Double(settings.electionTimeoutMax) / 1e6))
        print("  all (ms): " + failover.map { String(format: "%.0f", $0 * 1e3) }.joined(separator: " "))
        print("")

        print(String(format: "memory (\(best.rawValue), fresh process, snapshots every %d entries, 64-byte commands, 1024 in flight, up to %d commands or %.0f s)",
                     snapshotThreshold, memoryTarget, memoryBudget))
        let memory = memoryInSubprocess(mode: best)
        if let m = memory {
            print(String(format: "committed %d in %.1f s (%.0f/s)  RSS before start %.1f MiB  RSS after %.1f MiB  peak RSS %.1f MiB  data dirs %.1f MiB",
                         m.committed, m.seconds, Double(m.committed) / m.seconds, Double(m.rssBefore) / 1048576,
                         Double(m.rssAfter) / 1048576, Double(m.rssPeak) / 1048576, Double(m.dataBytes) / 1048576))
            if m.failed > 0 { print("  \(m.failed) submissions failed and were retried (a leader change during the run)") }
            if !m.rssAtQuarters.isEmpty {
                print("  RSS as the count passed each quarter of \(memoryTarget): "
                      + m.rssAtQuarters.map { String(format: "%.1f", Double($0) / 1048576) }.joined(separator: " / ") + " MiB")
            }
            if m.committed < memoryTarget { print("  (fewer than \(memoryTarget): the run is bounded to \(Int(memoryBudget)) s on this machine)") }
        } else {
            print("memory run failed")
        }
        print("")

        // Targets.
        let headline = rows.filter { $0.mode == best && $0.result.commandBytes == 64 }
        let tput1024 = headline.first { $0.result.inFlight == 1024 }?.result.commandsPerSecond ?? 0
        let p50at1 = headline.first { $0.result.inFlight == 1 }?.result.percentile(0.5) ?? .nan
        var targets: [(String, String, String, Bool)] = []
        targets.append(("commits/s at 1024 in flight (64 B)", ">= 175000", String(format: "%.0f", tput1024), tput1024 >= 175_000))
        if let m = memory {
            let rate = Double(m.committed) / m.seconds
            targets.append(("same, a snapshot every \(snapshotThreshold) entries", ">= 175000", String(format: "%.0f", rate), rate >= 175_000))
        }
        targets.append(("p50 latency at 1 in flight / (fsync p50 + RTT p50)", "<= 1.20", String(format: "%.2f", p50at1 / floor), p50at1 / floor <= 1.2))
        let etMax = Double(settings.electionTimeoutMax) / 1e9
        targets.append(("failover p50 / election timeout max", "< 2.00", String(format: "%.2f", foP50 / etMax), foP50 < 2 * etMax))
        let rssMiB = memory.map { Double($0.rssAfter) / 1048576 } ?? .nan
        targets.append(("RSS MiB after the memory run", "< 100", String(format: "%.1f", rssMiB), rssMiB < 100))
        // Bounded: the second half of the run adds (almost) nothing once snapshots compact the log.
        if let m = memory, m.rssAtQuarters.count >= 4 {
            let growth = (Double(m.rssAtQuarters[3]) - Double(m.rssAtQuarters[1])) / 1048576
            targets.append(("RSS growth MiB from 1/2 to all of the commands", "< 5", String(format: "%+.1f", growth), growth < 5))
        }
        print("targets (\(best.rawValue))")
        for t in targets {
            print("  " + t.0.padding(toLength: 52, withPad: " ", startingAt: 0) + " target " + t.1.padding(toLength: 10, withPad: " ", startingAt: 0)
                  + " measured " + t.2.padding(toLength: 10, withPad: " ", startingAt: 0) + (t.3 ? "met" : "NOT met"))
        }

        try BenchResults.write(fsync: fsync, rtt: rtt, rows: rows, best: best, settings: settings,
                               failover: failover, memory: memory, targets: targets)
    }

    // MARK: Failover

    static func failoverTrials(mode: BenchCluster.HostMode, root: String, settings: ClusterSettings) throws -> [Double] {
        let c = try BenchCluster(mode: mode, root: root, settings: settings)
        defer { c.shutdown() }
        try c.startAll()
        var samples: [Double] = []
        for _ in 0..<failoverTrials {
            guard let old = c.waitReady() else { print("  no leader: trial skipped"); continue }
            c.waitInSync()
            let oldID = old.id
            let t0 = monotonicNanos()
            c.stop(oldID)
            var t1: UInt64?
            let deadline = t0 + 20_000_000_000
            while t1 == nil && monotonicNanos() < deadline {
                if let l = c.leader(excluding: oldID) {
                    if case .applied = l.submitSync([1], timeout: 2) { t1 = monotonicNanos() }
                } else {
                    usleep(200)
                }
            }
            if let t1 { samples.append(Double(t1 - t0) / 1e9) } else { print("  trial: no new leader within 20 s") }
            try c.start(oldID)
            c.waitInSync()
        }
        return samples
    }

    // MARK: Memory (in a fresh process, so the figure is the cluster's alone)

    struct Memory {
        var committed: Int
        var seconds: Double
        var rssBefore: UInt64
        var rssAfter: UInt64
        var rssPeak: UInt64
        var dataBytes: UInt64
        /// Resident size when the committed count first reached each quarter of the target.
        var rssAtQuarters: [UInt64]
        /// Submissions that failed and were retried (a leader change during the run).
        var failed: Int
    }

    static func memoryInSubprocess(mode: BenchCluster.HostMode) -> Memory? {
        let p = Process()
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["cluster-memory", mode.rawValue]
        let pipe = Pipe()
        p.standardOutput = pipe
        do { try p.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let out = String(decoding: data, as: UTF8.self)
        guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("MEMORY ") }) else {
            print(out)
            return nil
        }
        var kv: [String: String] = [:]
        for f in line.split(separator: " ").dropFirst() {
            let parts = f.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { kv[String(parts[0])] = String(parts[1]) }
        }
        guard let c = kv["committed"].flatMap(Int.init), let s = kv["seconds"].flatMap(Double.init),
              let b = kv["rssBefore"].flatMap(UInt64.init), let a = kv["rssAfter"].flatMap(UInt64.init),
              let pk = kv["rssPeak"].flatMap(UInt64.init), let d = kv["dataBytes"].flatMap(UInt64.init) else { return nil }
        let quarters = (kv["rssAtQuarters"] ?? "").split(separator: ",").compactMap { UInt64($0) }
        return Memory(committed: c, seconds: s, rssBefore: b, rssAfter: a, rssPeak: pk, dataBytes: d, rssAtQuarters: quarters,
                      failed: kv["failed"].flatMap(Int.init) ?? 0)
    }

    /// `raftengine-bench cluster-memory MODE`: commits up to `memoryTarget` commands with
    /// automatic snapshots, then prints one MEMORY line.
    static func memoryMain(mode: BenchCluster.HostMode) {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("raftengine-bench-memory-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            let rssBefore = residentBytes()
            let c = try BenchCluster(mode: mode, root: root, snapshotThreshold: snapshotThreshold)
            defer { c.shutdown() }
            try c.startAll()
            guard let leader = c.waitReady() else { print("no leader"); return }
            let d = LoadDriver(target: { c.leader() ?? leader }, commandBytes: 64, recordLatencies: false)
            let start = monotonicNanos()
            d.begin(inFlight: 1024)
            var peak = residentBytes()
            var quarters: [UInt64] = []
            var lastCount = 0
            var lastProgress = monotonicNanos()
            var dumped = false
            while d.totalCommittedSoFar < memoryTarget && Double(monotonicNanos() - start) / 1e9 < memoryBudget {
                usleep(20_000)
                let count = d.totalCommittedSoFar
                if count != lastCount {
                    lastCount = count
                    lastProgress = monotonicNanos()
                } else if !dumped && monotonicNanos() - lastProgress > 3_000_000_000 {
                    // No commit for 3 s: say where each node stands (stderr, outside the MEMORY line).
                    dumped = true
                    FileHandle.standardError.write(Data("no progress for 3 s at \(count) commands:\n\(c.dumpState())\n".utf8))
                }
                let rss = residentBytes()
                peak = max(peak, rss)
                if d.totalCommittedSoFar >= memoryTarget / 4 * (quarters.count + 1) { quarters.append(rss) }
            }
            let r = d.finish(inFlight: 1024, windowStart: start)
            let committed = d.totalCommittedSoFar
            c.waitInSync()
            let rssAfter = residentBytes()
            peak = max(peak, rssAfter)
            print("MEMORY committed=\(committed) failed=\(r.failed) seconds=\(r.seconds) rssBefore=\(rssBefore) rssAfter=\(rssAfter) rssPeak=\(peak) dataBytes=\(c.dataBytes()) rssAtQuarters=\(quarters.map(String.init).joined(separator: ","))")
        } catch {
            print("memory run failed: \(error)")
        }
    }

    /// `raftengine-bench cluster-profile [MODE] [SECONDS] [IN-FLIGHT...]`: 64-byte commands,
    /// one row per in-flight count (1024 by default) next to the fsync + RTT floor; for
    /// profilers and quick checks.
    static func profileMain(mode: BenchCluster.HostMode, seconds: Double, inFlights: [Int]) {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("raftengine-bench-profile-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let fsync = try FsyncLatency.measure(in: root + "/fsync-probe", budget: .seconds(1))
            let rtt = try LoopbackRTT.measure(budget: 0.5)
            let floor = fsync.p50 + rtt.p50
            print(String(format: "floor: fsync p50 %.3f ms + RTT p50 %.3f ms = %.3f ms", fsync.p50 * 1e3, rtt.p50 * 1e3, floor * 1e3))
            let c = try BenchCluster(mode: mode, root: root)
            defer { c.shutdown() }
            try c.startAll()
            guard let leader = c.waitReady() else { print("no leader"); return }
            for n in inFlights {
                let r = LoadDriver.run(target: { c.leader() ?? leader }, commandBytes: 64, inFlight: n, warmup: 0.5, window: seconds)
                print(String(format: "%@ 64 B x %d in flight: %.0f commands/s, p50 %.3f ms (%.2f x floor), p99 %.3f ms",
                             mode.rawValue, n, r.commandsPerSecond, r.percentile(0.5) * 1e3, r.percentile(0.5) / floor,
                             r.percentile(0.99) * 1e3))
            }
        } catch {
            print("profile run failed: \(error)")
        }
    }

    /// `raftengine-bench side-trial MODE SECONDS IN_FLIGHT SNAPSHOT_THRESHOLD [PAYLOAD]`: one
    /// fresh cluster, 0.5 s of warm-up, one window; prints one RESULT line in the format of
    /// bench/canonical/raft_bench.c, which bench/canonical/run.py alternates it with.
    static func sideTrialMain(mode: BenchCluster.HostMode, seconds: Double, inFlight: Int, snapshotThreshold: LogIndex,
                              payload: Int) {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("raftengine-bench-side-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let c = try BenchCluster(mode: mode, root: root, snapshotThreshold: snapshotThreshold)
            defer { c.shutdown() }
            try c.startAll()
            guard let leader = c.waitReady() else { print("RESULT system=raftengine error=no-leader"); return }
            let r = LoadDriver.run(target: { c.leader() ?? leader }, commandBytes: payload, inFlight: inFlight,
                                   warmup: 0.5, window: seconds)
            print(String(format: "RESULT system=raftengine servers=%d inflight=%d payload=%d snapshots=%d committed=%d failed=%d seconds=%.3f commits_per_s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f",
                         c.ids.count, inFlight, payload, Int(snapshotThreshold), r.committed, r.failed, r.seconds, r.commandsPerSecond,
                         r.percentile(0.5) * 1e6, r.percentile(0.99) * 1e6, r.percentile(0.999) * 1e6))
            // Where the time went: each node's log syncs over the whole trial (not parsed by run.py).
            for (id, node) in c.nodes.sorted(by: { $0.key < $1.key }) {
                let s = node.syncStats
                let within = zip(SyncStats.bucketBoundsMicros, s.cumulative).prefix(3)
                    .map { "le\($0.0)=\(s.count > 0 ? 100 * $0.1 / s.count : 0)%" }.joined(separator: " ")
                print("SYNCS node=\(id) role=\(node.status()?.role.description ?? "-") count=\(s.count) mean_us=\(s.count > 0 ? s.totalMicros / s.count : 0) \(within)")
            }
        } catch {
            print("RESULT system=raftengine error=\(error)")
        }
    }
}
