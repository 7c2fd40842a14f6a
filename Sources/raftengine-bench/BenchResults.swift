import Foundation
import Glibc
import RaftCore

/// Writes the cluster run to bench/results/latest.csv and latest.json, then draws
/// bench/results/latency.png with bench/plot.py (an SVG when matplotlib is missing).
enum BenchResults {
    /// RAFTENGINE_BENCH_RESULTS, else bench/results of the package this binary was built from
    /// (when it exists), else ./bench/results.
    static var resultsDir: String {
        if let d = ProcessInfo.processInfo.environment["RAFTENGINE_BENCH_RESULTS"], !d.isEmpty { return d }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        if FileManager.default.fileExists(atPath: packageRoot + "/Package.swift") { return packageRoot + "/bench/results" }
        return FileManager.default.currentDirectoryPath + "/bench/results"
    }

    static func ms(_ s: Double) -> Double { (s * 1e6).rounded() / 1e3 }

    static func write(fsync: FsyncLatency, rtt: LoopbackRTT, rows: [ClusterBench.Row], best: BenchCluster.HostMode,
                      settings: ClusterSettings, failover: [Double], memory: ClusterBench.Memory?,
                      targets: [(String, String, String, Bool)]) throws {
        let dir = resultsDir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let floor = fsync.p50 + rtt.p50
        let sorted = failover.sorted()
        let foP50 = sorted.isEmpty ? Double.nan : sorted[sorted.count / 2]

        // CSV: one measurement per line.
        var csv = "section,host_mode,command_bytes,in_flight,metric,value,unit\n"
        func line(_ section: String, _ mode: String, _ bytes: Int?, _ inFlight: Int?, _ metric: String, _ value: Double, _ unit: String) {
            csv += "\(section),\(mode),\(bytes.map(String.init) ?? ""),\(inFlight.map(String.init) ?? ""),\(metric),\(value),\(unit)\n"
        }
        line("machine", "", nil, nil, "fsync_p50", ms(fsync.p50), "ms")
        line("machine", "", nil, nil, "fsync_p99", ms(fsync.p99), "ms")
        line("machine", "", nil, nil, "loopback_rtt_p50", ms(rtt.p50), "ms")
        line("machine", "", nil, nil, "loopback_rtt_p99", ms(rtt.p99), "ms")
        line("machine", "", nil, nil, "cores", Double(ProcessInfo.processInfo.activeProcessorCount), "count")
        var throughput: [[String: Any]] = []
        for row in rows {
            let r = row.result
            let m = row.mode.rawValue
            line("throughput", m, r.commandBytes, r.inFlight, "commands_per_s", r.commandsPerSecond.rounded(), "1/s")
            line("throughput", m, r.commandBytes, r.inFlight, "mb_per_s", (r.megabytesPerSecond * 100).rounded() / 100, "MB/s")
            line("throughput", m, r.commandBytes, r.inFlight, "latency_p50", ms(r.percentile(0.5)), "ms")
            line("throughput", m, r.commandBytes, r.inFlight, "latency_p99", ms(r.percentile(0.99)), "ms")
            line("throughput", m, r.commandBytes, r.inFlight, "latency_p999", ms(r.percentile(0.999)), "ms")
            line("throughput", m, r.commandBytes, r.inFlight, "p50_over_fsync_plus_rtt", (r.percentile(0.5) / floor * 100).rounded() / 100, "x")
            line("throughput", m, r.commandBytes, r.inFlight, "failed", Double(r.failed), "count")
            throughput.append([
                "host_mode": m, "command_bytes": r.commandBytes, "in_flight": r.inFlight, "committed": r.committed,
                "failed": r.failed, "seconds": (r.seconds * 1000).rounded() / 1000,
                "commands_per_s": r.commandsPerSecond.rounded(), "mb_per_s": (r.megabytesPerSecond * 100).rounded() / 100,
                "latency_p50_ms": ms(r.percentile(0.5)), "latency_p99_ms": ms(r.percentile(0.99)),
                "latency_p999_ms": ms(r.percentile(0.999)),
                "p50_over_fsync_plus_rtt": (r.percentile(0.5) / floor * 100).rounded() / 100,
            ])
        }
        line("failover", best.rawValue, nil, nil, "p50", ms(foP50), "ms")
        line("failover", best.rawValue, nil, nil, "max", ms(sorted.last ?? .nan), "ms")
        line("failover", best.rawValue, nil, nil, "trials", Double(sorted.count), "count")
        if let m = memory {
            line("memory", best.rawValue, 64, 1024, "committed", Double(m.committed), "count")
            line("memory", best.rawValue, 64, 1024, "seconds", (m.seconds * 100).rounded() / 100, "s")
            line("memory", best.rawValue, 64, 1024, "rss_after", Double(m.rssAfter) / 1048576, "MiB")
            line("memory", best.rawValue, 64, 1024, "rss_peak", Double(m.rssPeak) / 1048576, "MiB")
            line("memory", best.rawValue, 64, 1024, "rss_before_start", Double(m.rssBefore) / 1048576, "MiB")
            line("memory", best.rawValue, 64, 1024, "data_dirs", Double(m.dataBytes) / 1048576, "MiB")
        }
        try csv.write(toFile: dir + "/latest.csv", atomically: true, encoding: .utf8)

        var json: [String: Any] = [
            "generated": ISO8601DateFormatter().string(from: Date()),
            "machine": [
                "cores": ProcessInfo.processInfo.activeProcessorCount,
                "fsync_samples": fsync.samples, "fsync_p50_ms": ms(fsync.p50), "fsync_p99_ms": ms(fsync.p99),
                "loopback_rtt_samples": rtt.samples, "loopback_rtt_p50_ms": ms(rtt.p50), "loopback_rtt_p99_ms": ms(rtt.p99),
                "fsync_plus_rtt_p50_ms": ms(floor),
            ],
            "settings": [
                "heartbeat_ms": Double(settings.heartbeatPeriod) / 1e6,
                "election_timeout_min_ms": Double(settings.electionTimeoutMin) / 1e6,
                "election_timeout_max_ms": Double(settings.electionTimeoutMax) / 1e6,
                "max_entries_per_message": Int(settings.maxEntriesPerMessage),
                "max_inflight_messages": Int(settings.maxInflight),
            ],
            "throughput": throughput,
            "failover": [
                "host_mode": best.rawValue, "trials": sorted.count, "p50_ms": ms(foP50), "max_ms": ms(sorted.last ?? .nan),
                "samples_ms": failover.map { ms($0) },
            ] as [String: Any],
            "targets": targets.map { ["name": $0.0, "target": $0.1, "measured": $0.2, "met": $0.3] },
        ]
        if let m = memory {
            json["memory"] = [
                "host_mode": best.rawValue, "snapshot_threshold": Int(ClusterBench.snapshotThreshold),
                "committed": m.committed, "seconds": (m.seconds * 100).rounded() / 100,
                "rss_before_start_mib": Double(m.rssBefore) / 1048576, "rss_after_mib": Double(m.rssAfter) / 1048576,
                "rss_peak_mib": Double(m.rssPeak) / 1048576, "data_dirs_mib": Double(m.dataBytes) / 1048576,
                "rss_at_quarters_mib": m.rssAtQuarters.map { Double($0) / 1048576 },
            ] as [String: Any]
        }
        let data = try JSONSerialization.data(withJSONObject: sanitize(json), options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: dir + "/latest.json"))
        print("")
        print("wrote \(dir)/latest.csv and latest.json")
        plot(dir: dir)
    }

    /// JSON has no NaN or infinity: those become null.
    static func sanitize(_ v: Any) -> Any {
        switch v {
        case let d as Double: return d.isFinite ? d : NSNull()
        case let a as [Any]: return a.map(sanitize)
        case let o as [String: Any]: return o.mapValues(sanitize)
        default: return v
        }
    }

    static func plot(dir: String) {
        let script = URL(fileURLWithPath: dir).deletingLastPathComponent().path + "/plot.py"
        guard FileManager.default.fileExists(atPath: script) else {
            print("no \(script): plot skipped")
            return
        }
        fflush(stdout)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, dir + "/latest.json", dir + "/latency.png"]
        do {
            try p.run()
            p.waitUntilExit()
            if p.terminationStatus != 0 { print("plot.py exited with \(p.terminationStatus)") }
        } catch {
            print("cannot run python3: \(error)")
        }
    }
}
