import Testing
import RaftCore
import RaftStorage

/// Drives MemoryLog (the reference) and FileLog with the same seeded random operations,
/// reopening the FileLog now and then, and compares everything observable after each step.
@Suite struct FileLogModelTests {
    /// RaftCore's seeded SplitMix64, so a failure replays exactly.
    struct Generator {
        var rng: SplitMix64
        init(state: UInt64) { rng = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { rng.next() }
        mutating func below(_ n: UInt64) -> UInt64 { next() % max(n, 1) }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func fileLogMatchesMemoryLog(seed: UInt64) throws {
        let dir = TemporaryDirectory()
        let options = FileLog.Options(segmentSize: 300, maxRecordSize: 1024, cacheEntries: 5)
        let reference = MemoryLog()
        var file = try FileLog(directory: dir.path, options: options)
        var random = Generator(state: seed)
        var term: Term = 1
        var synced = DurableView(reference)
        /// Hard states saved since the last sync: an earlier write of the metadata (at a
        /// segment roll, say) may have made any of them durable.
        var recentHardStates = [reference.hardState]

        for step in 0..<400 {
            let logs: [any RaftLog] = [reference, file]
            switch random.below(16) {
            case 0...6:
                if random.below(4) == 0 { term += 1 }
                let first = reference.lastIndex + 1
                let batch = (0..<random.below(6)).map {
                    entry(first + $0, term: term, kind: random.below(8) == 0 ? .config : .command,
                          size: Int(random.below(60)))
                }
                for log in logs { try log.append(batch) }
            case 7, 8:
                let floor = max(reference.commitIndex, reference.prefix.index) + 1
                guard reference.lastIndex >= floor else { break }
                let at = floor + random.below(reference.lastIndex - floor + 1)
                for log in logs { try log.truncate(from: at) }
            case 9:
                // An installed snapshot older than the commit index can leave it past the end.
                guard reference.lastIndex >= reference.commitIndex else { break }
                let at = reference.commitIndex + random.below((reference.lastIndex - reference.commitIndex) / 2 + 1)
                for log in logs { try log.saveCommitIndex(at) }
            case 10:
                guard reference.lastIndex > reference.prefix.index else { break }
                let index = reference.prefix.index + 1 + random.below(reference.lastIndex - reference.prefix.index)
                let meta = SnapshotMeta(index: index, term: reference.term(at: index)!, config: threeVoters)
                let through = index - random.below(min(index, 4))
                for log in logs { try log.saveSnapshot(meta, data: [UInt8(step & 0xFF)], compactThrough: through) }
                synced = DurableView(reference)
                recentHardStates = [reference.hardState]
            case 11:
                guard random.below(3) == 0 else { break }
                let index = reference.prefix.index + random.below(reference.lastIndex - reference.prefix.index + 8)
                let matches = random.below(2) == 0 && index <= reference.lastIndex
                let snapTerm = matches ? reference.term(at: index)! : term + 1
                term = max(term, snapTerm)
                let meta = SnapshotMeta(index: index, term: snapTerm, config: threeVoters)
                for log in logs { try log.installSnapshot(meta, data: [UInt8(step & 0xFF), 1]) }
                synced = DurableView(reference)
                recentHardStates = [reference.hardState]
            case 12:
                let state = HardState(term: term, votedFor: random.below(2) == 0 ? nil : "n\(random.below(3))")
                for log in logs { try log.saveHardState(state) }
                recentHardStates.append(state)
            case 13:
                try file.sync()
                synced = DurableView(reference)
                recentHardStates = [reference.hardState]
            default:
                try file.sync()
                synced = DurableView(reference)
                recentHardStates = [reference.hardState]
                file.close()
                file = try FileLog(directory: dir.path, options: options)
            }
            try expectSameState(file, reference, step: step)
            if step % 3 == 0 {
                try expectCrashCopyOpens(dir, options: options, synced: synced, current: DurableView(reference),
                                         hardStates: recentHardStates, step: step)
            }
        }
    }

    /// The entries and hard state of a log at one moment.
    struct DurableView {
        var entries: [LogIndex: Entry] = [:]
        var lastIndex: LogIndex

        init(_ log: MemoryLog) {
            lastIndex = log.lastIndex
            if log.lastIndex > log.prefix.index {
                for e in try! log.entries(from: log.prefix.index + 1, through: log.lastIndex, maxBytes: .max) {
                    entries[e.index] = e
                }
            }
        }
    }

    /// A copy of the directory as it is now is what a crash leaves when every write handed to
    /// the OS reached the disk. It must open, keep what was synced and still holds, and show
    /// each entry as it was at the last sync or as it is now.
    private func expectCrashCopyOpens(_ dir: TemporaryDirectory, options: FileLog.Options,
                                      synced: DurableView, current: DurableView, hardStates: [HardState],
                                      step: Int) throws {
        let copy = try dir.copy()
        let crashed: FileLog
        do {
            crashed = try FileLog(directory: copy.path, options: options)
        } catch {
            Issue.record("step \(step): a crash copy does not open: \(error)")
            return
        }
        #expect(hardStates.contains(crashed.hardState), "step \(step)")
        var kept: LogIndex = 0
        while kept < synced.lastIndex, let e = synced.entries[kept + 1], current.entries[kept + 1] == e { kept += 1 }
        #expect(crashed.lastIndex >= min(kept, current.lastIndex), "step \(step)")
        guard crashed.lastIndex > crashed.prefix.index else { return }
        for e in try crashed.entries(from: crashed.prefix.index + 1, through: crashed.lastIndex, maxBytes: .max) {
            #expect(e == synced.entries[e.index] || e == current.entries[e.index], "step \(step) index \(e.index)")
        }
    }

    private func expectSameState(_ file: FileLog, _ reference: MemoryLog, step: Int) throws {
        #expect(file.lastIndex == reference.lastIndex, "step \(step)")
        #expect(file.prefix == reference.prefix, "step \(step)")
        #expect(file.commitIndex == reference.commitIndex, "step \(step)")
        #expect(file.hardState == reference.hardState, "step \(step)")
        #expect(file.snapshotMeta == reference.snapshotMeta, "step \(step)")
        guard file.lastIndex == reference.lastIndex, file.prefix == reference.prefix else { return }
        #expect(try file.loadSnapshot()?.data == reference.loadSnapshot()?.data, "step \(step)")
        if reference.lastIndex > reference.prefix.index {
            let range = (reference.prefix.index + 1, reference.lastIndex)
            #expect(try file.entries(from: range.0, through: range.1, maxBytes: .max)
                    == reference.entries(from: range.0, through: range.1, maxBytes: .max), "step \(step)")
        }
        for i in reference.prefix.index...reference.lastIndex + 1 {
            #expect(file.term(at: i) == reference.term(at: i), "step \(step) index \(i)")
            #expect(file.lastConfigIndex(atOrBefore: i) == reference.lastConfigIndex(atOrBefore: i), "step \(step) index \(i)")
        }
    }
}
