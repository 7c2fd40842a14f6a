import Testing
import RaftCore
import RaftStorage

/// The implementations every behaviour test runs against.
enum LogKind: String, CaseIterable, CustomTestStringConvertible {
    case memory
    /// FileLog, synced at each checkpoint.
    case file
    /// FileLog, synced, closed and reopened at each checkpoint: the behaviour must survive.
    case fileReopened

    var testDescription: String { rawValue }
}

/// A log of one kind under test. `log` changes identity when a checkpoint reopens it.
final class LogSubject {
    let kind: LogKind
    private let directory = TemporaryDirectory()
    private(set) var log: any RaftLog

    init(_ kind: LogKind) throws {
        self.kind = kind
        switch kind {
        case .memory: log = MemoryLog()
        case .file, .fileReopened: log = try FileLog(directory: directory.path, options: Self.options)
        }
    }

    /// Small segments, so the behaviour tests cross segment boundaries too.
    static let options = FileLog.Options(segmentSize: 256, maxRecordSize: 4096, cacheEntries: 3)

    func checkpoint() throws {
        try log.sync()
        guard kind == .fileReopened, let file = log as? FileLog else { return }
        file.close()
        log = try FileLog(directory: directory.path, options: Self.options)
    }
}

@Suite struct RaftLogBehaviourTests {
    @Test(arguments: LogKind.allCases)
    func appendReadAndTerm(kind: LogKind) throws {
        let s = try LogSubject(kind)
        #expect(s.log.lastIndex == 0)
        #expect(s.log.term(at: 0) == 0)
        #expect(s.log.term(at: 1) == nil)
        #expect(s.log.lastPosition == .zero)

        let written = [entry(1, term: 1), entry(2, term: 1, kind: .termStart, size: 0),
                       entry(3, term: 2, kind: .config, size: 40), entry(4, term: 2), entry(5, term: 3, size: 100)]
        try s.log.append(Array(written[0..<2]))
        try s.log.append(Array(written[2...]))
        #expect(try s.log.entries(from: 1, through: 5, maxBytes: .max) == written)
        try s.checkpoint()
        #expect(try s.log.entries(from: 1, through: 5, maxBytes: .max) == written)
        #expect(try s.log.entries(from: 2, through: 4, maxBytes: .max) == Array(written[1...3]))
        #expect(try s.log.entry(at: 3) == written[2])
        #expect((1...5).map { s.log.term(at: $0) } == [1, 1, 2, 2, 3])
        #expect(s.log.term(at: 6) == nil)
        #expect(s.log.lastPosition == LogPosition(index: 5, term: 3))
        #expect(try s.log.entries(from: 4, through: 3, maxBytes: .max) == [])
        #expect(logError { _ = try s.log.entries(from: 0, through: 2, maxBytes: .max) } == .compacted(0))
        #expect(logError { _ = try s.log.entries(from: 4, through: 6, maxBytes: .max) } == .unavailable(6))
        try s.log.append([])
        #expect(s.log.lastIndex == 5)
    }

    @Test(arguments: LogKind.allCases)
    func entriesStopAtMaxBytes(kind: LogKind) throws {
        let s = try LogSubject(kind)
        try s.log.append(entries(1...6, term: 1, size: 10))
        try s.checkpoint()
        #expect(try s.log.entries(from: 1, through: 6, maxBytes: 25).map(\.index) == [1, 2])
        #expect(try s.log.entries(from: 1, through: 6, maxBytes: 30).map(\.index) == [1, 2, 3])
        #expect(try s.log.entries(from: 2, through: 6, maxBytes: 0).map(\.index) == [2])
        #expect(try s.log.entries(from: 5, through: 6, maxBytes: 1000).map(\.index) == [5, 6])
        #expect(try s.log.entries(from: 1, through: 6, maxBytes: .max).count == 6)
    }

    @Test(arguments: LogKind.allCases)
    func appendRefusesAGap(kind: LogKind) throws {
        let s = try LogSubject(kind)
        try s.log.append([entry(1, term: 1)])
        #expect(logError { try s.log.append([entry(3, term: 1)]) } == .notContiguous(expected: 2, got: 3))
        #expect(logError { try s.log.append([entry(2, term: 1), entry(4, term: 1)]) }
                == .notContiguous(expected: 3, got: 4))
        #expect(logError { try s.log.append([entry(1, term: 1)]) } == .notContiguous(expected: 2, got: 1))
        try s.checkpoint()
        #expect(s.log.lastIndex == 1)
        try s.log.append([entry(2, term: 1)])
        #expect(s.log.lastIndex == 2)
    }

    @Test(arguments: LogKind.allCases)
    func truncateRemovesAConflictingSuffix(kind: LogKind) throws {
        let s = try LogSubject(kind)
        try s.log.append(entries(1...20, term: 1, size: 30))
        try s.checkpoint()
        try s.log.truncate(from: 18)
        #expect(s.log.lastIndex == 17)
        #expect(s.log.term(at: 18) == nil)
        try s.log.append([entry(18, term: 2, size: 5)])
        try s.checkpoint()
        // A cut deep in the log, several segments back for FileLog.
        try s.log.truncate(from: 4)
        #expect(s.log.lastIndex == 3)
        try s.log.truncate(from: 10)
        #expect(s.log.lastIndex == 3)
        try s.log.append(entries(4...6, term: 3))
        try s.checkpoint()
        #expect(try s.log.entries(from: 1, through: 6, maxBytes: .max)
                == entries(1...3, term: 1, size: 30) + entries(4...6, term: 3))
        // Truncating unsynced entries.
        try s.log.append(entries(7...9, term: 3))
        try s.log.truncate(from: 8)
        try s.log.append([entry(8, term: 4)])
        try s.checkpoint()
        #expect((6...8).map { s.log.term(at: $0) } == [3, 3, 4])
        #expect(try s.log.entry(at: 8) == entry(8, term: 4))
    }

    @Test(arguments: LogKind.allCases)
    func truncateRefusesCommittedEntries(kind: LogKind) throws {
        let s = try LogSubject(kind)
        try s.log.append(entries(1...5, term: 1))
        try s.log.saveCommitIndex(3)
        try s.checkpoint()
        #expect(logError { try s.log.truncate(from: 3) } == .belowCommit(index: 3, commit: 3))
        #expect(logError { try s.log.truncate(from: 1) } == .belowCommit(index: 1, commit: 3))
        #expect(s.log.lastIndex == 5)
        try s.log.truncate(from: 4)
        #expect(s.log.lastIndex == 3)
        try s.log.append([entry(4, term: 2)])
        try s.checkpoint()
        #expect(s.log.commitIndex == 3)
    }

    @Test(arguments: LogKind.allCases)
    func hardStateIsKept(kind: LogKind) throws {
        let s = try LogSubject(kind)
        #expect(s.log.hardState == HardState())
        try s.log.saveHardState(HardState(term: 3, votedFor: "b"))
        try s.checkpoint()
        #expect(s.log.hardState == HardState(term: 3, votedFor: "b"))
        try s.log.saveHardState(HardState(term: 4, votedFor: nil))
        try s.checkpoint()
        #expect(s.log.hardState == HardState(term: 4, votedFor: nil))
    }

    @Test(arguments: LogKind.allCases)
    func commitIndexOnlyMovesForward(kind: LogKind) throws {
        let s = try LogSubject(kind)
        #expect(s.log.commitIndex == 0)
        try s.log.append(entries(1...6, term: 1))
        try s.log.saveCommitIndex(5)
        try s.log.saveCommitIndex(3)
        try s.checkpoint()
        #expect(s.log.commitIndex == 5)
        try s.log.saveCommitIndex(6)
        try s.checkpoint()
        #expect(s.log.commitIndex == 6)
    }

    @Test(arguments: LogKind.allCases)
    func bootstrapConfigIsKept(kind: LogKind) throws {
        let s = try LogSubject(kind)
        #expect(s.log.bootstrapConfig == nil)
        var settings = ClusterSettings()
        settings.maxInflight = 9
        let config = ClusterConfig(members: [Member(id: "a", address: "127.0.0.1:7001"),
                                             Member(id: "b", isVoter: false)], settings: settings)
        try s.log.saveBootstrapConfig(config)
        try s.checkpoint()
        #expect(s.log.bootstrapConfig == config)
    }

    @Test(arguments: LogKind.allCases)
    func lastConfigIndexFindsTheLatestRetainedConfig(kind: LogKind) throws {
        let s = try LogSubject(kind)
        try s.log.append([entry(1, term: 1), entry(2, term: 1, kind: .config), entry(3, term: 1),
                          entry(4, term: 1), entry(5, term: 1, kind: .config), entry(6, term: 1)])
        try s.checkpoint()
        #expect(s.log.lastConfigIndex(atOrBefore: 1) == nil)
        #expect(s.log.lastConfigIndex(atOrBefore: 2) == 2)
        #expect(s.log.lastConfigIndex(atOrBefore: 4) == 2)
        #expect(s.log.lastConfigIndex(atOrBefore: 5) == 5)
        #expect(s.log.lastConfigIndex(atOrBefore: 100) == 5)
        try s.log.truncate(from: 5)
        #expect(s.log.lastConfigIndex(atOrBefore: 100) == 2)
        try s.log.saveSnapshot(SnapshotMeta(index: 3, term: 1, config: threeVoters), data: [1], compactThrough: 3)
        try s.checkpoint()
        #expect(s.log.lastConfigIndex(atOrBefore: 100) == nil)
        try s.log.append([entry(5, term: 2, kind: .config)])
        #expect(s.log.lastConfigIndex(atOrBefore: 4) == nil)
        #expect(s.log.lastConfigIndex(atOrBefore: 5) == 5)
    }

    @Test(arguments: LogKind.allCases)
    func saveSnapshotCompactsThePrefix(kind: LogKind) throws {
        let s = try LogSubject(kind)
        #expect(try s.log.loadSnapshot() == nil)
        try s.log.append(entries(1...4, term: 1, size: 30) + entries(5...12, term: 2, size: 30))
        let meta = SnapshotMeta(index: 6, term: 2, config: threeVoters)
        try s.log.saveSnapshot(meta, data: [1, 2, 3], compactThrough: 6)
        try s.checkpoint()
        #expect(s.log.prefix == LogPosition(index: 6, term: 2))
        #expect(s.log.firstIndex == 7)
        #expect(s.log.lastIndex == 12)
        #expect(s.log.snapshotMeta == meta)
        #expect(try s.log.loadSnapshot()?.meta == meta)
        #expect(try s.log.loadSnapshot()?.data == [1, 2, 3])
        #expect(s.log.term(at: 6) == 2)
        #expect(s.log.term(at: 5) == nil)
        #expect(logError { _ = try s.log.entries(from: 6, through: 8, maxBytes: .max) } == .compacted(6))
        #expect(logError { _ = try s.log.entries(from: 1, through: 8, maxBytes: .max) } == .compacted(1))
        #expect(logError { try s.log.truncate(from: 6) } == .compacted(6))
        #expect(try s.log.entries(from: 7, through: 12, maxBytes: .max) == entries(7...12, term: 2, size: 30))

        // A later snapshot replaces the earlier one.
        let later = SnapshotMeta(index: 9, term: 2, config: threeVoters)
        try s.log.saveSnapshot(later, data: [9], compactThrough: 9)
        try s.checkpoint()
        #expect(try s.log.loadSnapshot()?.data == [9])
        #expect(s.log.prefix == LogPosition(index: 9, term: 2))
        try s.log.append([entry(13, term: 3)])
        #expect(try s.log.entries(from: 10, through: 13, maxBytes: .max).map(\.index) == [10, 11, 12, 13])
    }

    @Test(arguments: LogKind.allCases)
    func saveSnapshotCanKeepATrailingWindow(kind: LogKind) throws {
        let s = try LogSubject(kind)
        try s.log.append(entries(1...10, term: 1, size: 30))
        let meta = SnapshotMeta(index: 8, term: 1, config: threeVoters)
        try s.log.saveSnapshot(meta, data: [8], compactThrough: 5)
        try s.checkpoint()
        #expect(s.log.prefix == LogPosition(index: 5, term: 1))
        #expect(s.log.snapshotMeta == meta)
        #expect(try s.log.entries(from: 6, through: 10, maxBytes: .max) == entries(6...10, term: 1, size: 30))
        // compactThrough beyond the snapshot is capped at the snapshot.
        try s.log.saveSnapshot(meta, data: [8], compactThrough: 50)
        #expect(s.log.prefix == LogPosition(index: 8, term: 1))
    }

    @Test(arguments: LogKind.allCases)
    func saveSnapshotBeyondTheLogCompactsWhatExists(kind: LogKind) throws {
        let s = try LogSubject(kind)
        try s.log.append(entries(1...4, term: 1))
        try s.log.saveSnapshot(SnapshotMeta(index: 20, term: 1, config: threeVoters), data: [], compactThrough: 20)
        try s.checkpoint()
        #expect(s.log.prefix == LogPosition(index: 4, term: 1))
        #expect(s.log.lastIndex == 4)
        try s.log.append([entry(5, term: 1)])
        try s.checkpoint()
        #expect(try s.log.entry(at: 5) == entry(5, term: 1))
    }

    @Test(arguments: LogKind.allCases)
    func installSnapshotKeepsAMatchingSuffix(kind: LogKind) throws {
        let s = try LogSubject(kind)
        try s.log.append(entries(1...3, term: 1, size: 30) + entries(4...10, term: 2, size: 30))
        let meta = SnapshotMeta(index: 6, term: 2, config: threeVoters)
        try s.log.installSnapshot(meta, data: [6, 6])
        try s.checkpoint()
        #expect(s.log.prefix == LogPosition(index: 6, term: 2))
        #expect(s.log.lastIndex == 10)
        #expect(s.log.commitIndex == 6)
        #expect(try s.log.loadSnapshot()?.data == [6, 6])
        #expect(try s.log.entries(from: 7, through: 10, maxBytes: .max) == entries(7...10, term: 2, size: 30))
        #expect(logError { _ = try s.log.entries(from: 6, through: 7, maxBytes: .max) } == .compacted(6))
    }

    @Test(arguments: LogKind.allCases)
    func installSnapshotDiscardsAConflictingLog(kind: LogKind) throws {
        let s = try LogSubject(kind)
        try s.log.append(entries(1...10, term: 1, size: 30))
        try s.log.saveCommitIndex(2)
        let meta = SnapshotMeta(index: 6, term: 5, config: threeVoters)
        try s.log.installSnapshot(meta, data: [5])
        try s.checkpoint()
        #expect(s.log.prefix == LogPosition(index: 6, term: 5))
        #expect(s.log.lastIndex == 6)
        #expect(s.log.lastTerm == 5)
        #expect(s.log.commitIndex == 6)
        #expect(s.log.term(at: 7) == nil)
        try s.log.append([entry(7, term: 5)])
        try s.checkpoint()
        #expect(try s.log.entry(at: 7) == entry(7, term: 5))

        // A snapshot past the end of the log replaces it too.
        try s.log.installSnapshot(SnapshotMeta(index: 40, term: 6, config: threeVoters), data: [40])
        try s.checkpoint()
        #expect(s.log.lastPosition == LogPosition(index: 40, term: 6))
        #expect(try s.log.loadSnapshot()?.data == [40])
        try s.log.append([entry(41, term: 6)])
        try s.checkpoint()
        #expect(s.log.lastIndex == 41)
    }

    @Test(arguments: LogKind.allCases)
    func brokenFlagIsKept(kind: LogKind) throws {
        let s = try LogSubject(kind)
        #expect(!s.log.isBroken)
        try s.log.setBroken(true)
        try s.checkpoint()
        #expect(s.log.isBroken)
        try s.log.setBroken(false)
        try s.checkpoint()
        #expect(!s.log.isBroken)
    }
}
