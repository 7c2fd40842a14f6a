import Glibc
import RaftCore
import RaftSim
import RaftStorage
import Testing

/// FileLog on a SimDisk whose every call, one at a time, fails with EIO or ENOSPC during the
/// power-loss suite's workload. The failing operation throws a named error; after a failed
/// write, sync or metadata change the log refuses every later write and sync (a failed fsync
/// may have dropped dirty pages, so a later "successful" one would acknowledge data that is not
/// on the disk — PostgreSQL's fsyncgate); reopened once the fault is gone — with or without a
/// power loss in between — it holds everything acknowledged before the fault.
@Suite struct FileLogDiskErrorTests {
    typealias W = FileLogPowerLossTests

    static let writeCalls: Set<SimDisk.Call> = [.write, .fsync, .fdatasync, .fallocate, .truncate, .rename, .unlink]

    @Test(arguments: [EIO, ENOSPC])
    func everyCallFailingOnceIsReportedLatchedAndLosesNothingAcknowledged(_ code: Int32) {
        let probe = W.freshDisk(.strict)
        let (none, states) = W.workload(on: probe)
        precondition(none == nil)
        var problems: [String] = []
        var failures = 0
        for k in 0..<probe.calls {
            for powerLoss in [false, true] {
                let disk = W.freshDisk(.strict)
                disk.fault = { _, _, n in n == k ? code : nil }
                let (log, cut, _) = W.workloadKeepingLog(on: disk)
                guard let failed = disk.injected.first else { log?.close(); continue }
                let at = "call \(k) (\(failed.call.rawValue) \(failed.path)), \(String(cString: strerror(code)))"
                if let cut, let log {
                    failures += 1
                    if Self.writeCalls.contains(failed.call) {
                        // Latched: nothing more is written or reported durable.
                        if (try? log.sync()) != nil { problems.append("\(at): sync succeeded after the failure") }
                        if (try? log.append([Entry(index: log.lastIndex + 1, term: 9, data: [1])])) != nil {
                            problems.append("\(at): append succeeded after the failure")
                        }
                    }
                    _ = cut
                }
                log?.close()
                disk.clearFaults()
                if powerLoss { disk.powerLoss(seed: UInt64(k)) }
                let done = cut ?? W.steps.count
                let acked = done > 0 ? states[done - 1] : W.Acknowledged()
                let heading = cut.map { states[$0] } ?? acked
                do {
                    let reopened = try FileLog(directory: W.dir, options: W.options, fileSystem: disk)
                    defer { reopened.close() }
                    for p in W.check(reopened, acked: acked, heading: heading, replacesFrom: cut.map { W.steps[$0].replacesFrom } ?? .max) {
                        problems.append("\(at), power loss \(powerLoss): \(p)")
                    }
                } catch {
                    problems.append("\(at), power loss \(powerLoss): reopening failed: \(error)")
                }
            }
        }
        print("disk errors (\(String(cString: strerror(code)))): \(probe.calls) calls failed one at a time, \(failures) failed a step, \(problems.count) problems")
        #expect(failures > 0)
        #expect(problems.isEmpty, "\(problems.count) problems, e.g.\n\(problems.prefix(8).joined(separator: "\n"))")
    }

    /// Linux reports a failed write-back once and marks the pages clean: a retried fsync
    /// succeeds with the data gone. FileLog must not take that success.
    @Test func aFailedFsyncIsNeverRetriedAsIfTheDataWereSafe() throws {
        let disk = W.freshDisk(.strict)
        let log = try FileLog(directory: W.dir, options: W.options, fileSystem: disk)
        try log.saveHardState(HardState(term: 1, votedFor: nil))
        try log.append((1...5).map { Entry(index: $0, term: 1, data: [UInt8](repeating: 1, count: 50)) })
        try log.sync()
        try log.append((6...9).map { Entry(index: $0, term: 1, data: [UInt8](repeating: 2, count: 50)) })
        var failed = false
        disk.fault = { call, _, _ in
            guard call == .fdatasync, !failed else { return nil }
            failed = true
            return EIO
        }
        #expect(throws: LogError.self) { try log.sync() }
        disk.clearFaults()
        #expect(throws: LogError.self) { try log.sync() }
        #expect(throws: LogError.self) { try log.append([Entry(index: 10, term: 1)]) }
        log.close()
        disk.powerLoss(seed: 1)
        let reopened = try FileLog(directory: W.dir, options: W.options, fileSystem: disk)
        #expect(reopened.lastIndex >= 5)
        #expect(try reopened.entries(from: 1, through: 5, maxBytes: .max).map(\.data) == Array(repeating: [UInt8](repeating: 1, count: 50), count: 5))
    }
}
