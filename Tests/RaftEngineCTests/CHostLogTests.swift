import Testing
import CRaftEngineABI
import RaftCore
import RaftStorage
@testable import RaftEngineC

/// The C storage adapter against MemoryLog: the same seeded random operations on both,
/// reopening the adapter over the host's table now and then (which rebuilds the terms and
/// configuration positions it keeps), comparing everything observable after each step.
@Suite struct CHostLogTests {
    let config = ClusterConfig(voters: ["a", "b", "c"])

    func entry(_ index: LogIndex, term: Term, kind: EntryKind = .command, size: Int = 8) -> Entry {
        Entry(index: index, term: term, kind: kind, data: (0..<size).map { UInt8(truncatingIfNeeded: Int(index) &* 31 &+ $0) })
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func matchesMemoryLog(seed: UInt64) throws {
        let store = TableStore()
        let reference = MemoryLog()
        var log = try store.open()
        var rng = SplitMix64(seed: seed)
        func below(_ n: UInt64) -> UInt64 { rng.next() % max(n, 1) }
        var term: Term = 1
        try log.saveBootstrapConfig(config)
        try reference.saveBootstrapConfig(config)

        for step in 0..<400 {
            let logs: [any RaftLog] = [reference, log]
            switch below(16) {
            case 0...6:
                if below(4) == 0 { term += 1 }
                let first = reference.lastIndex + 1
                let batch = (0..<below(6)).map {
                    entry(first + $0, term: term, kind: below(8) == 0 ? .config : (below(8) == 0 ? .termStart : .command),
                          size: Int(below(60)))
                }
                for l in logs { try l.append(batch) }
            case 7, 8:
                let floor = max(reference.commitIndex, reference.prefix.index) + 1
                guard reference.lastIndex >= floor else { break }
                let at = floor + below(reference.lastIndex - floor + 1)
                for l in logs { try l.truncate(from: at) }
            case 9:
                guard reference.lastIndex >= reference.commitIndex else { break }
                let at = reference.commitIndex + below((reference.lastIndex - reference.commitIndex) / 2 + 1)
                for l in logs { try l.saveCommitIndex(at) }
            case 10:
                guard reference.lastIndex > reference.prefix.index else { break }
                let index = reference.prefix.index + 1 + below(reference.lastIndex - reference.prefix.index)
                let meta = SnapshotMeta(index: index, term: reference.term(at: index)!, config: config)
                let through = index - below(min(index, 4))
                for l in logs { try l.saveSnapshot(meta, data: [UInt8(step & 0xFF)], compactThrough: through) }
            case 11:
                guard below(3) == 0 else { break }
                let index = reference.prefix.index + below(reference.lastIndex - reference.prefix.index + 8)
                let matches = below(2) == 0 && index <= reference.lastIndex
                let snapTerm = matches ? reference.term(at: index)! : term + 1
                term = max(term, snapTerm)
                let meta = SnapshotMeta(index: index, term: snapTerm, config: config)
                for l in logs { try l.installSnapshot(meta, data: [UInt8(step & 0xFF), 1]) }
            case 12:
                let state = HardState(term: term, votedFor: below(2) == 0 ? nil : "n\(below(3))")
                for l in logs { try l.saveHardState(state) }
            case 13:
                let broken = below(2) == 0
                for l in logs { try l.setBroken(broken) }
            case 14:
                try log.sync()
            default:
                try log.sync()
                log.close()
                log = try store.open()
            }
            try expectSameState(log, reference, step: step)
        }
        #expect(store.closes == store.calls["close"])
    }

    private func expectSameState(_ log: CHostLog, _ reference: MemoryLog, step: Int) throws {
        #expect(log.lastIndex == reference.lastIndex, "step \(step)")
        #expect(log.prefix == reference.prefix, "step \(step)")
        #expect(log.commitIndex == reference.commitIndex, "step \(step)")
        #expect(log.hardState == reference.hardState, "step \(step)")
        #expect(log.snapshotMeta == reference.snapshotMeta, "step \(step)")
        #expect(log.bootstrapConfig == reference.bootstrapConfig, "step \(step)")
        #expect(log.isBroken == reference.isBroken, "step \(step)")
        guard log.lastIndex == reference.lastIndex, log.prefix == reference.prefix else { return }
        #expect(try log.loadSnapshot()?.data == reference.loadSnapshot()?.data, "step \(step)")
        if reference.lastIndex > reference.prefix.index {
            let (from, through) = (reference.prefix.index + 1, reference.lastIndex)
            #expect(try log.entries(from: from, through: through, maxBytes: .max)
                    == reference.entries(from: from, through: through, maxBytes: .max), "step \(step)")
            #expect(try log.entries(from: from, through: through, maxBytes: 50)
                    == reference.entries(from: from, through: through, maxBytes: 50), "step \(step)")
        }
        for i in reference.prefix.index...reference.lastIndex + 1 {
            #expect(log.term(at: i) == reference.term(at: i), "step \(step) index \(i)")
            #expect(log.lastConfigIndex(atOrBefore: i) == reference.lastConfigIndex(atOrBefore: i), "step \(step) index \(i)")
        }
    }

    @Test func aFailedWriteFailsEveryLaterOne() throws {
        let store = TableStore()
        let log = try store.open()
        try log.append([entry(1, term: 1)])
        store.failing = ["append"]
        #expect(throws: LogError.io("host storage: append returned -7")) { try log.append([entry(2, term: 1)]) }
        store.failing = []
        // The host's state is unknown now: nothing more is written, and nothing kept changed.
        #expect(throws: LogError.io("host storage: append returned -7")) { try log.sync() }
        #expect(throws: LogError.io("host storage: append returned -7")) { try log.saveCommitIndex(1) }
        #expect(log.lastIndex == 1 && store.calls["sync"] == nil)
    }

    @Test func whatTheHostGetsWrongIsCorruption() throws {
        let store = TableStore()
        let log = try store.open()
        try log.append([entry(1, term: 1), entry(2, term: 2, kind: .config), entry(3, term: 2)])
        try log.sync()
        log.close()

        // Read back under another term than it was appended with.
        let reopened = try store.open()
        store.entries[1].term = 3
        #expect(throws: LogError.corrupt("host storage: read_entries gave term 3 for index 2, appended with term 2")) {
            _ = try reopened.entries(from: 1, through: 3, maxBytes: .max)
        }
        reopened.close()
        // Terms that go down, an entry missing or out of place, an unknown kind: the start refuses.
        #expect(throws: LogError.corrupt("host storage: entry 3 has term 2, below the 3 before it")) { _ = try store.open() }
        store.entries[1].term = 2
        store.entries.remove(at: 1)
        #expect(throws: LogError.corrupt("host storage: read_entries gave index 3 where 2 was due")) { _ = try store.open() }
        store.entries.insert((2, 2, 9, []), at: 1)
        #expect(throws: LogError.corrupt("host storage: read_entries gave entry 2 the unknown kind 9")) { _ = try store.open() }
        // A load that fails: the start fails and the storage is closed again.
        store.entries[1].kind = 2
        store.failing = ["load_bounds"]
        let closes = store.closes
        #expect(throws: LogError.io("host storage: load_bounds returned -7")) { _ = try store.open() }
        #expect(store.closes == closes + 1)
        store.failing = []
        #expect(try store.open().lastConfigIndex(atOrBefore: 3) == 2)
    }

    @Test func theSnapshotReadAtStartServesTheFirstLoad() throws {
        let store = TableStore()
        let log = try store.open()
        try log.append([entry(1, term: 1), entry(2, term: 1)])
        let meta = SnapshotMeta(index: 2, term: 1, config: config)
        try log.saveSnapshot(meta, data: [7, 7], compactThrough: 1)
        log.close()
        let reopened = try store.open()
        let loads = store.calls["load_snapshot"]
        #expect(try reopened.loadSnapshot()?.data == [7, 7])
        #expect(store.calls["load_snapshot"] == loads)
        #expect(try reopened.loadSnapshot()?.meta == meta)
        #expect(store.calls["load_snapshot"] == (loads ?? 0) + 1)
        #expect(reopened.prefix == LogPosition(index: 1, term: 1) && reopened.term(at: 2) == 1)
    }
}
