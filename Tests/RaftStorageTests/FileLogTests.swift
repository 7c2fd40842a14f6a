import Testing
import RaftCore
import RaftStorage

@Suite struct FileLogTests {
    static let small = FileLog.Options(segmentSize: 512, maxRecordSize: 1024, cacheEntries: 4)

    @Test func reopenAfterSyncReturnsEverything() throws {
        let dir = TemporaryDirectory()
        let config = ClusterConfig(voters: ["a", "b"])
        let written = entries(1...30, term: 2, size: 20) + [entry(31, term: 3, kind: .config, size: 50)]
        let meta = SnapshotMeta(index: 10, term: 2, config: config)
        do {
            let log = try FileLog(directory: dir.path, options: Self.small)
            try log.saveBootstrapConfig(config)
            try log.saveHardState(HardState(term: 3, votedFor: "a"))
            try log.append(written)
            try log.saveSnapshot(meta, data: Array(repeating: 7, count: 300), compactThrough: 8)
            try log.saveCommitIndex(25)
            try log.setBroken(true)
            try log.sync()
        }
        let log = try FileLog(directory: dir.path, options: Self.small)
        #expect(log.bootstrapConfig == config)
        #expect(log.hardState == HardState(term: 3, votedFor: "a"))
        #expect(log.commitIndex == 25)
        #expect(log.isBroken)
        #expect(log.prefix == LogPosition(index: 8, term: 2))
        #expect(log.lastPosition == LogPosition(index: 31, term: 3))
        #expect(log.snapshotMeta == meta)
        #expect(try log.loadSnapshot()?.data == Array(repeating: 7, count: 300))
        #expect(try log.entries(from: 9, through: 31, maxBytes: .max) == Array(written[8...]))
        #expect(log.lastConfigIndex(atOrBefore: 31) == 31)
    }

    @Test func closeDoesNotSync() throws {
        let dir = TemporaryDirectory()
        do {
            let log = try FileLog(directory: dir.path, options: Self.small)
            try log.append(entries(1...5, term: 1))
            try log.sync()
            try log.append(entries(6...8, term: 1))
            try log.saveHardState(HardState(term: 9))
            log.close()
        }
        let log = try FileLog(directory: dir.path, options: Self.small)
        #expect(log.lastIndex == 5)
        #expect(log.hardState == HardState())
    }

    @Test func aBurstCostsOneFsync() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: FileLog.Options(segmentSize: 1 << 20))
        try log.append([entry(1, term: 1)])
        try log.sync()
        let before = log.fsyncCount
        for i in stride(from: 2 as LogIndex, through: 200, by: 11) {
            try log.append(entries(i...(i + 10), term: 1))
            try log.saveCommitIndex(i)
        }
        try log.sync()
        #expect(log.fsyncCount == before + 1)
        // The commit index travelled in the segment, not through a metadata rewrite.
        log.close()
        #expect(try FileLog(directory: dir.path).commitIndex == 200)
    }

    @Test func aHardStateChangeRewritesTheMetadataAtSync() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.small)
        let before = log.fsyncCount
        try log.saveHardState(HardState(term: 1, votedFor: "b"))
        #expect(log.fsyncCount == before)
        try log.sync()
        // fsync of the new metadata file and of the directory after the rename.
        #expect(log.fsyncCount == before + 2)
    }

    @Test func segmentsRollAndCompactionDeletesTheOldOnes() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.small)
        let written = entries(1...100, term: 1, size: 20)
        try log.append(written)
        try log.sync()
        let rolled = dir.segmentNames
        #expect(rolled.count >= 8)
        let meta = SnapshotMeta(index: 60, term: 1, config: threeVoters)
        try log.saveSnapshot(meta, data: [1], compactThrough: 60)
        let kept = dir.segmentNames
        #expect(kept.count < rolled.count)
        #expect(kept == Array(rolled.suffix(kept.count)))
        // The first kept segment still holds compacted entries: reads there report them so.
        #expect(logError { _ = try log.entries(from: 60, through: 61, maxBytes: .max) } == .compacted(60))
        #expect(try log.entries(from: 61, through: 100, maxBytes: .max) == Array(written[60...]))
        log.close()
        let reopened = try FileLog(directory: dir.path, options: Self.small)
        #expect(reopened.prefix == LogPosition(index: 60, term: 1))
        #expect(try reopened.entries(from: 61, through: 100, maxBytes: .max) == Array(written[60...]))
        #expect(dir.segmentNames == kept)
        #expect(dir.names().filter { $0.hasPrefix("snapshot-") }.count == 1)
    }

    @Test func truncateAcrossSegmentsRemovesTheLaterFiles() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.small)
        try log.append(entries(1...100, term: 1, size: 20))
        try log.sync()
        let before = dir.segmentNames.count
        try log.truncate(from: 30)
        #expect(dir.segmentNames.count < before)
        try log.append(entries(30...40, term: 2, size: 20))
        try log.sync()
        log.close()
        let reopened = try FileLog(directory: dir.path, options: Self.small)
        #expect(try reopened.entries(from: 1, through: 40, maxBytes: .max)
                == entries(1...29, term: 1, size: 20) + entries(30...40, term: 2, size: 20))
    }

    @Test func installSnapshotThatDiscardsTheLogRemovesEverySegment() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.small)
        try log.append(entries(1...50, term: 1, size: 20))
        try log.sync()
        let old = Set(dir.segmentNames)
        try log.installSnapshot(SnapshotMeta(index: 70, term: 4, config: threeVoters), data: [4])
        #expect(dir.segmentNames.isEmpty)
        try log.append(entries(71...80, term: 4))
        try log.sync()
        #expect(Set(dir.segmentNames).isDisjoint(with: old))
        log.close()
        let reopened = try FileLog(directory: dir.path, options: Self.small)
        #expect(reopened.prefix == LogPosition(index: 70, term: 4))
        #expect(try reopened.entries(from: 71, through: 80, maxBytes: .max) == entries(71...80, term: 4))
    }

    @Test func readsOlderThanTheCacheComeFromDiskIntact() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.small)
        let written = (1...60).map { entry($0, term: 1, size: Int($0) % 37) }
        for e in written { try log.append([e]) }
        // Before and after the buffered frames reach the file.
        #expect(try log.entries(from: 1, through: 60, maxBytes: .max) == written)
        try log.sync()
        #expect(try log.entries(from: 1, through: 60, maxBytes: .max) == written)
        #expect(try log.entries(from: 17, through: 43, maxBytes: 100) == Array(written[16..<21]))
    }

    @Test func aBurstLargerThanTheWriteBufferReadsBackBeforeAndAfterSync() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: FileLog.Options(cacheEntries: 4))
        // About 1.5 MiB: the write buffer reaches the OS part-way through the append.
        let written = entries(1...3000, term: 1, size: 500)
        try log.append(written)
        #expect(try log.entries(from: 1, through: 3000, maxBytes: .max) == written)
        try log.truncate(from: 2500)
        try log.sync()
        log.close()
        let reopened = try FileLog(directory: dir.path)
        #expect(try reopened.entries(from: 1, through: 2499, maxBytes: .max) == Array(written[0..<2499]))
    }

    @Test func aDamagedRecordIsReportedOnRead() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.small)
        try log.append(entries(1...20, term: 1, size: 20))
        try log.sync()
        try dir.flipByte(of: dir.segmentNames[0], at: 28 + 12)
        guard case .corrupt? = logError({ _ = try log.entries(from: 1, through: 2, maxBytes: .max) }) else {
            Issue.record("a damaged record must be reported as corrupt")
            return
        }
    }

    @Test func aSecondOpenOfTheDirectoryIsRefusedUntilClose() throws {
        let dir = TemporaryDirectory()
        let first = try FileLog(directory: dir.path)
        #expect(logError { _ = try FileLog(directory: dir.path) } == .locked(dir.path))
        first.close()
        let second = try FileLog(directory: dir.path)
        #expect(logError { try first.append([entry(1, term: 1)]) } != nil)
        try second.append([entry(1, term: 1)])
        try second.sync()
    }

    @Test func releasingTheLogReleasesTheLock() throws {
        let dir = TemporaryDirectory()
        do { _ = try FileLog(directory: dir.path) }
        _ = try FileLog(directory: dir.path)
    }

    @Test func recordsAboveTheMaximumAreRefused() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: FileLog.Options(maxRecordSize: 100))
        try log.append([entry(1, term: 1, size: 80)])
        guard case .recordTooLarge(let size, let max)? = logError({
            try log.append([entry(2, term: 1), entry(3, term: 1, size: 200)])
        }) else {
            Issue.record("expected recordTooLarge")
            return
        }
        #expect(size > 200 && max == 100)
        #expect(log.lastIndex == 1)
    }
}
