import Glibc
import RaftCore
import RaftSim
import RaftStorage
import Testing

/// FileLog on a SimDisk: a power loss at every file-system call of a scripted workload (append,
/// sync, metadata replace, snapshot write, compaction, segment roll, preallocation, snapshot
/// install), each with several choices of which unsynced writes survive, torn or reordered.
/// Reopening must return everything `sync()` acknowledged, or a named corruption error —
/// never a shorter log than acknowledged, never a trap.
@Suite struct FileLogPowerLossTests {
    static let dir = "/data/log"
    /// Small segments and records, so the workload rolls segments and preallocates often.
    static let options = FileLog.Options(segmentSize: 1_024, maxRecordSize: 512, cacheEntries: 4)

    /// What the log holds once a step's sync returned.
    struct Acknowledged: Equatable, Sendable {
        var terms: [LogIndex: Term] = [:]
        var hardState = HardState(term: 0, votedFor: nil)
        var commit: LogIndex = 0
        var snapshotIndex: LogIndex = 0
        var bootstrap: ClusterConfig?
    }

    struct Step: Sendable {
        let name: String
        /// Indexes from here on may hold the step's new entries or the old ones after a crash
        /// inside it (the step replaces them).
        let replacesFrom: LogIndex
        let run: @Sendable (FileLog, inout Acknowledged) throws -> Void
    }

    static let config = ClusterConfig(voters: ["a", "b", "c"])

    static func append(_ log: FileLog, _ range: ClosedRange<LogIndex>, term: Term, size: Int, _ a: inout Acknowledged) throws {
        try log.append(range.map { Entry(index: $0, term: term, kind: .command, data: [UInt8](repeating: UInt8($0 & 0xFF), count: size)) })
        for i in range { a.terms[i] = term }
    }

    static let steps: [Step] = [
        Step(name: "bootstrap, vote, first entries", replacesFrom: .max) { log, a in
            try log.saveBootstrapConfig(config)
            a.bootstrap = config
            try log.saveHardState(HardState(term: 1, votedFor: "a"))
            a.hardState = HardState(term: 1, votedFor: "a")
            try append(log, 1...12, term: 1, size: 60, &a)
            try log.sync()
        },
        Step(name: "commit, entries across segment rolls", replacesFrom: .max) { log, a in
            try log.saveCommitIndex(6)
            a.commit = 6
            try append(log, 13...40, term: 1, size: 110, &a)
            try log.sync()
        },
        Step(name: "new term, suffix replaced", replacesFrom: 30) { log, a in
            try log.saveHardState(HardState(term: 2, votedFor: "b"))
            a.hardState = HardState(term: 2, votedFor: "b")
            try log.truncate(from: 30)
            for i in LogIndex(30)...40 { a.terms[i] = nil }
            try append(log, 30...45, term: 2, size: 90, &a)
            try log.sync()
        },
        Step(name: "snapshot and compaction", replacesFrom: .max) { log, a in
            try log.saveSnapshot(SnapshotMeta(index: 20, term: 1, config: config), data: [UInt8](repeating: 7, count: 700),
                                 compactThrough: 15)
            a.snapshotIndex = 20
            for i in LogIndex(1)...15 { a.terms[i] = nil }
            try log.sync()
        },
        Step(name: "more entries, commit", replacesFrom: .max) { log, a in
            try append(log, 46...60, term: 2, size: 200, &a)
            try log.saveCommitIndex(40)
            a.commit = 40
            try log.sync()
        },
        Step(name: "snapshot installed from a leader", replacesFrom: .max) { log, a in
            try log.installSnapshot(SnapshotMeta(index: 70, term: 3, config: config), data: [UInt8](repeating: 9, count: 900))
            a.terms = [:]
            a.snapshotIndex = 70
            a.commit = max(a.commit, 70)
            try log.sync()
        },
        Step(name: "entries after the installed snapshot", replacesFrom: .max) { log, a in
            try append(log, 71...80, term: 3, size: 100, &a)
            try log.sync()
        },
    ]

    /// Runs the steps until one throws; the step that was cut short (nil if all completed) and
    /// the state after each completed step.
    static func workload(on disk: SimDisk) -> (cut: Int?, states: [Acknowledged]) {
        let r = workloadKeepingLog(on: disk)
        r.log?.close()
        return (r.cut, r.states)
    }

    /// The same, handing back the log (open, nil if opening failed) for more calls.
    static func workloadKeepingLog(on disk: SimDisk) -> (log: FileLog?, cut: Int?, states: [Acknowledged]) {
        var states: [Acknowledged] = []
        guard let log = try? FileLog(directory: dir, options: options, fileSystem: disk) else { return (nil, 0, states) }
        var acked = Acknowledged()
        for (n, step) in steps.enumerated() {
            do { try step.run(log, &acked) } catch { return (log, n, states) }
            states.append(acked)
        }
        return (log, nil, states)
    }

    static func freshDisk(_ semantics: SimDisk.Semantics) -> SimDisk {
        let disk = SimDisk(semantics: semantics)
        disk.makeDurableDirectory("/data")
        return disk
    }

    /// Problems with the reopened log against what was acknowledged; empty when it is right.
    static func check(_ log: FileLog, acked: Acknowledged, heading: Acknowledged, replacesFrom: LogIndex) -> [String] {
        var problems: [String] = []
        if log.hardState != acked.hardState && log.hardState != heading.hardState {
            problems.append("hard state \(log.hardState), acknowledged \(acked.hardState)")
        }
        if acked.bootstrap != nil && log.bootstrapConfig != acked.bootstrap { problems.append("bootstrap config lost") }
        let snapshot = log.snapshotMeta?.index ?? 0
        if snapshot < acked.snapshotIndex { problems.append("snapshot \(snapshot), acknowledged \(acked.snapshotIndex)") }
        if log.commitIndex < acked.commit && snapshot < acked.commit {
            problems.append("commit index \(log.commitIndex), acknowledged \(acked.commit)")
        }
        for (i, term) in acked.terms.sorted(by: { $0.key < $1.key }) where i > snapshot && i < replacesFrom {
            let got = log.term(at: i)
            if got != term {
                problems.append("index \(i): term \(got.map(String.init) ?? "missing"), acknowledged \(term)")
                break
            }
        }
        if replacesFrom != .max {
            // Cut inside a step that replaces the suffix: the old suffix whole (the cut never
            // became durable), or a prefix of the new one — never a mix, never a gap.
            let from = max(replacesFrom, snapshot + 1)
            let got = from <= log.lastIndex ? (from...log.lastIndex).map { log.term(at: $0) } : []
            let old = acked.terms.keys.filter { $0 >= from }.sorted().map { acked.terms[$0] }
            let new = heading.terms.keys.filter { $0 >= from }.sorted().map { heading.terms[$0] }
            // A prefix of the old suffix is allowed too: the step removes it (a leader of a newer
            // term replaces it, so none of it was committed).
            func isPrefix(_ a: [Term?], of b: [Term?]) -> Bool { a.count <= b.count && Array(b.prefix(a.count)) == a }
            if !isPrefix(got, of: old) && !isPrefix(got, of: new) {
                problems.append("suffix from \(from): \(got.map { $0.map(String.init) ?? "-" }), neither a prefix of the acknowledged one nor of the new one")
            }
        }
        // The entries read back whole (checksums, framing), not only their terms.
        if log.lastIndex >= log.firstIndex {
            do { _ = try log.entries(from: log.firstIndex, through: log.lastIndex, maxBytes: .max) } catch {
                problems.append("reading entries \(log.firstIndex)...\(log.lastIndex): \(error)")
            }
        }
        return problems
    }

    static func powerLossAtEveryCall(_ semantics: SimDisk.Semantics, seeds: Int) -> (runs: Int, refusals: [String], problems: [String]) {
        let probe = freshDisk(semantics)
        let (none, states) = workload(on: probe)
        precondition(none == nil, "the workload fails without faults")
        let total = probe.calls
        var runs = 0
        var refusals: [String] = []
        var problems: [String] = []
        for k in 0...total {
            for seed in 0..<UInt64(seeds) {
                let disk = freshDisk(semantics)
                disk.powerCut(atCall: k)
                let cut = workload(on: disk).cut
                disk.powerLoss(seed: seed &* 0x9E37_79B9 &+ UInt64(k))
                runs += 1
                let done = cut ?? steps.count
                let acked = done > 0 ? states[done - 1] : Acknowledged()
                let heading = cut.map { states[$0] } ?? acked
                let replacesFrom = cut.map { steps[$0].replacesFrom } ?? .max
                do {
                    let log = try FileLog(directory: dir, options: options, fileSystem: disk)
                    defer { log.close() }
                    for p in check(log, acked: acked, heading: heading, replacesFrom: replacesFrom) {
                        problems.append("cut at call \(k) (in \(cut.map { steps[$0].name } ?? "none")), seed \(seed): \(p)")
                    }
                } catch let e as LogError {
                    if case .io = e { problems.append("cut at call \(k), seed \(seed): reopen failed with an I/O error: \(e)") } else {
                        refusals.append("cut at call \(k) (in \(cut.map { steps[$0].name } ?? "none")), seed \(seed): \(e)")
                    }
                } catch {
                    problems.append("cut at call \(k), seed \(seed): \(error)")
                }
            }
        }
        return (runs, refusals, problems)
    }

    @Test(arguments: [SimDisk.Semantics.strict, .ext4])
    func powerLossAtEveryCallKeepsEverythingAcknowledged(_ semantics: SimDisk.Semantics) {
        let r = Self.powerLossAtEveryCall(semantics, seeds: 6)
        print("power loss (\(semantics)): \(r.runs) runs, \(r.refusals.count) refused to open, \(r.problems.count) problems")
        for line in r.refusals.prefix(5) { print("  refused: \(line)") }
        #expect(r.problems.isEmpty, "\(r.problems.count) problems, e.g.\n\(r.problems.prefix(8).joined(separator: "\n"))")
        // A power loss only ever loses unsynced bytes, which FileLog repairs as a torn tail:
        // refusing to open would leave an operator with a node that cannot restart.
        #expect(r.refusals.isEmpty, "\(r.refusals.count) refusals, e.g.\n\(r.refusals.prefix(8).joined(separator: "\n"))")
    }
}

/// The two sides of the rule recovery applies to damage in a segment (RAFTSEG2): past the
/// last offset a `.syncedThrough` record proves durable, damage is a power loss's torn write
/// even with intact records after it; before it, damage is corruption.
@Suite struct FileLogTornWriteTests {
    static let dir = "/data/log"
    static let options = FileLog.Options(segmentSize: 1 << 20, maxRecordSize: 4 << 10, cacheEntries: 4)

    static func entries(_ r: ClosedRange<LogIndex>, fill: UInt8) -> [Entry] {
        r.map { Entry(index: $0, term: 1, data: [UInt8](repeating: fill, count: 300)) }
    }

    /// Batch 1 synced; batch 2 (several sectors) written, its fsync failing with ENOSPC (so it
    /// stays in the page cache, unsynced), then the power goes: `keep` decides the sectors of
    /// the segment's unsynced changes (all of them batch 2's).
    static func powerLossInSecondBatch(keep: @escaping (Int, Int) -> Bool) throws -> SimDisk {
        let disk = SimDisk()
        disk.makeDurableDirectory("/data")
        let log = try FileLog(directory: dir, options: options, fileSystem: disk)
        try log.saveHardState(HardState(term: 1, votedFor: nil))
        try log.append(entries(1...4, fill: 1))
        try log.sync()
        try log.append(entries(5...12, fill: 2))
        disk.fault = { call, _, _ in call == .fdatasync ? ENOSPC : nil }
        #expect(throws: LogError.self) { try log.sync() }
        log.close()
        disk.powerLoss { path, n, offset in !path.hasSuffix(".log") || keep(n, offset) }
        disk.clearFaults()
        return disk
    }

    @Test func aLostSectorWithIntactOnesAfterItIsATornTail() throws {
        // The second batch's first sector is lost, the rest of it lands.
        var first: Int?
        let disk = try Self.powerLossInSecondBatch { _, offset in
            guard offset >= 0 else { return true }
            if first == nil { first = offset }
            return offset != first
        }
        let log = try FileLog(directory: Self.dir, options: Self.options, fileSystem: disk)
        #expect(log.lastIndex >= 4)
        #expect(log.lastIndex < 12)
        #expect(try log.entries(from: 1, through: 4, maxBytes: .max) == Self.entries(1...4, fill: 1))
        // And it goes on from there.
        try log.append(Self.entries((log.lastIndex + 1)...(log.lastIndex + 2), fill: 3))
        try log.sync()
    }

    @Test func damageInsideWhatASyncProvedDurableIsCorruption() throws {
        let disk = SimDisk()
        disk.makeDurableDirectory("/data")
        do {
            let log = try FileLog(directory: Self.dir, options: Self.options, fileSystem: disk)
            try log.append(Self.entries(1...4, fill: 1))
            try log.sync()
            try log.append(Self.entries(5...6, fill: 2))  // carries the proof that 1...4 are durable
            try log.sync()
            log.close()
        }
        let segment = "\(Self.dir)/" + disk.files(in: Self.dir).first { $0.hasPrefix("segment-") }!
        var bytes = disk.content(of: segment)!
        bytes[100] ^= 0x5A  // inside entry 1: bit rot, not a power loss
        disk.replaceContent(of: segment, with: bytes)
        #expect {
            _ = try FileLog(directory: Self.dir, options: Self.options, fileSystem: disk)
        } throws: { error in
            guard case .corrupt(let why) = error as? LogError else { return false }
            return why.contains("inside the part a sync made durable")
        }
    }
}
