import Testing
import RaftCore
import RaftStorage

/// Opening a directory after a crash or damage: torn tails are cut, everything else that is
/// wrong is a named error.
@Suite struct FileLogRecoveryTests {
    /// Without preallocation a segment file ends where its records end, so the tests can find
    /// records by the file size; each crash then also runs as a preallocated file would look
    /// after it (the lost bytes zero, followed by zero-filled space).
    static let options = FileLog.Options(segmentSize: 512, maxRecordSize: 1024, cacheEntries: 4, preallocate: false)
    static let preallocated = FileLog.Options(segmentSize: 512, maxRecordSize: 1024, cacheEntries: 4)
    static let segmentHeaderSize = 28

    /// Writes `count` synced entries of varying sizes and closes the log.
    /// A log of `count` entries made durable by one sync, its files as a crash right after the
    /// sync leaves them — or, with `cleanClose`, as close() leaves them (a clean shutdown also
    /// writes the record that proves the last batch durable, so damage to it reads as
    /// corruption, not as a torn write).
    static func syncedLog(in dir: TemporaryDirectory, count: LogIndex = 40, cleanClose: Bool = false) throws -> [Entry] {
        let written = (1...count).map { entry($0, term: 1 + $0 / 10, size: 10 + Int($0 % 7)) }
        let log = try FileLog(directory: dir.path, options: options)
        try log.saveHardState(HardState(term: 4, votedFor: "a"))
        try log.append(written)
        try log.sync()
        let crashed = try dir.copy()
        log.close()
        if !cleanClose {
            for name in crashed.names() { try dir.write(try crashed.bytes(of: name), to: name) }
        }
        return written
    }

    static func open(_ dir: TemporaryDirectory, preallocate: Bool = false) throws -> FileLog {
        try FileLog(directory: dir.path, options: preallocate ? preallocated : options)
    }

    static func isCorrupt(_ error: LogError?) -> Bool {
        if case .corrupt? = error { return true }
        return false
    }

    @Test(arguments: [false, true])
    func aTornTailAtEveryOffsetLeavesExactlyTheCompleteRecords(preallocated: Bool) throws {
        let dir = TemporaryDirectory()
        let written = try Self.syncedLog(in: dir)
        let last = try #require(dir.segmentNames.last)
        let size = try dir.bytes(of: last).count
        let lastRecord = recordSize(of: written[written.count - 1])
        let secondLast = recordSize(of: written[written.count - 2])
        try #require(size - Self.segmentHeaderSize >= lastRecord + secondLast)

        for cut in (size - lastRecord - secondLast)..<size {
            let crashed = try dir.copy()
            if preallocated {
                try crashed.zero(last, from: cut, to: size, thenAppend: 300)
            } else {
                try crashed.truncate(last, to: cut)
            }
            let complete = cut < size - lastRecord ? written.count - 2 : written.count - 1
            let log = try Self.open(crashed, preallocate: preallocated)
            #expect(log.lastIndex == LogIndex(complete), "cut at \(cut)")
            #expect(try log.entries(from: 1, through: log.lastIndex, maxBytes: .max) == Array(written[0..<complete]))
            #expect(log.hardState == HardState(term: 4, votedFor: "a"))
            // The log continues after the cut.
            let next = entry(LogIndex(complete + 1), term: 9)
            try log.append([next])
            try log.sync()
            log.close()
            let reopened = try Self.open(crashed, preallocate: preallocated)
            #expect(reopened.lastIndex == next.index, "cut at \(cut)")
            #expect(try reopened.entry(at: next.index) == next, "cut at \(cut)")
        }
    }

    @Test(arguments: [false, true])
    func aDamagedLastRecordIsDropped(preallocated: Bool) throws {
        let dir = TemporaryDirectory()
        let written = try Self.syncedLog(in: dir)
        let last = try #require(dir.segmentNames.last)
        let size = try dir.bytes(of: last).count
        let lastRecord = recordSize(of: written[written.count - 1])
        // Its length, its checksum, its payload and its final byte.
        for offset in [size - lastRecord, size - lastRecord + 5, size - lastRecord + 10, size - 1] {
            let damaged = try dir.copy()
            try damaged.flipByte(of: last, at: offset)
            if preallocated { try damaged.zero(last, from: size, to: size, thenAppend: 200) }
            let log = try Self.open(damaged, preallocate: preallocated)
            #expect(log.lastIndex == LogIndex(written.count - 1), "flip at \(offset)")
            #expect(try log.entries(from: 1, through: log.lastIndex, maxBytes: .max) == Array(written.dropLast()))
        }
    }

    /// A log written with preallocation holds the same records as one written without: the
    /// finished segments give their spare space back, the active one ends in zeros, and a
    /// zero-filled end a crash left on a finished segment is unused space, not damage.
    @Test func aPreallocatedLogHoldsTheSameRecordsAndReopens() throws {
        let plain = TemporaryDirectory()
        let written = try Self.syncedLog(in: plain, cleanClose: true)
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.preallocated)
        try log.saveHardState(HardState(term: 4, votedFor: "a"))
        try log.append(written)
        try log.sync()
        log.close()

        let segments = dir.segmentNames
        #expect(segments == plain.segmentNames)
        for name in segments.dropLast() {
            #expect(try dir.bytes(of: name) == plain.bytes(of: name), "\(name)")
        }
        let last = try #require(segments.last)
        let records = try plain.bytes(of: last)
        let active = try dir.bytes(of: last)
        #expect(active.count > records.count)
        #expect(Array(active[0..<records.count]) == records)
        #expect(active[records.count...].allSatisfy { $0 == 0 })

        let crashed = try dir.copy()
        try crashed.zero(segments[1], from: 0, to: 0, thenAppend: 100)
        for d in [dir, crashed] {
            let reopened = try Self.open(d, preallocate: true)
            #expect(reopened.lastIndex == LogIndex(written.count))
            #expect(try reopened.entries(from: 1, through: reopened.lastIndex, maxBytes: .max) == written)
            let next = entry(LogIndex(written.count + 1), term: 9)
            try reopened.append([next])
            try reopened.sync()
            reopened.close()
            #expect(try Self.open(d, preallocate: true).entry(at: next.index) == next)
        }
    }

    @Test func aDamagedRecordBeforeTheTailIsCorruption() throws {
        let dir = TemporaryDirectory()
        let written = try Self.syncedLog(in: dir, cleanClose: true)
        let segments = dir.segmentNames
        let last = try #require(segments.last)
        try #require(try dir.bytes(of: last).count > Self.segmentHeaderSize + 3 * recordSize(of: written[0]))

        // The first record of the last segment, with intact records after it.
        let inLastSegment = try dir.copy()
        try inLastSegment.flipByte(of: last, at: Self.segmentHeaderSize + 12)
        #expect(Self.isCorrupt(logError { _ = try Self.open(inLastSegment) }))

        // A record of an earlier segment.
        let inEarlierSegment = try dir.copy()
        try inEarlierSegment.flipByte(of: segments[1], at: Self.segmentHeaderSize + 40)
        #expect(Self.isCorrupt(logError { _ = try Self.open(inEarlierSegment) }))

        // An earlier segment cut short.
        let shortened = try dir.copy()
        try shortened.truncate(segments[1], to: try dir.bytes(of: segments[1]).count - 3)
        #expect(Self.isCorrupt(logError { _ = try Self.open(shortened) }))

        // A damaged segment header.
        let badHeader = try dir.copy()
        try badHeader.flipByte(of: last, at: 10)
        #expect(Self.isCorrupt(logError { _ = try Self.open(badHeader) }))
    }

    @Test func aMissingSegmentRefusesToOpen() throws {
        let dir = TemporaryDirectory()
        _ = try Self.syncedLog(in: dir)
        let segments = dir.segmentNames
        try #require(segments.count >= 3)
        for missing in [segments[1], segments[0], segments[segments.count - 1]] {
            let damaged = try dir.copy()
            try damaged.remove(missing)
            #expect(logError { _ = try Self.open(damaged) } == .missingFile(damaged.file(missing)))
        }
    }

    @Test func anInterruptedMetadataReplacementKeepsTheOldMetadata() throws {
        let dir = TemporaryDirectory()
        let written = try Self.syncedLog(in: dir)
        let crashed = try dir.copy()
        let newer = try Self.open(dir)
        try newer.saveHardState(HardState(term: 5, votedFor: "c"))
        try newer.sync()
        newer.close()
        let newerMetadata = try dir.bytes(of: "meta")

        // The temporary file was complete, partly written, or garbage when the crash came.
        for temporary in [newerMetadata, Array(newerMetadata.prefix(9)), [0xde, 0xad]] {
            try crashed.write(temporary, to: "meta.tmp")
            let log = try Self.open(crashed)
            #expect(log.hardState == HardState(term: 4, votedFor: "a"))
            #expect(log.lastIndex == LogIndex(written.count))
            log.close()
            #expect(!crashed.names().contains("meta.tmp"))
        }
    }

    @Test func aDamagedOrMissingMetadataFileRefusesToOpen() throws {
        let dir = TemporaryDirectory()
        _ = try Self.syncedLog(in: dir)

        let flipped = try dir.copy()
        try flipped.flipByte(of: "meta", at: 10)
        #expect(Self.isCorrupt(logError { _ = try Self.open(flipped) }))

        let emptied = try dir.copy()
        try emptied.write([], to: "meta")
        #expect(Self.isCorrupt(logError { _ = try Self.open(emptied) }))

        let missing = try dir.copy()
        try missing.remove("meta")
        #expect(logError { _ = try Self.open(missing) } == .missingFile(missing.file("meta")))
    }

    @Test func aMissingSnapshotFileRefusesToOpen() throws {
        let dir = TemporaryDirectory()
        let log = try Self.open(dir)
        try log.append(entries(1...5, term: 1))
        try log.saveSnapshot(SnapshotMeta(index: 3, term: 1, config: threeVoters), data: [3], compactThrough: 3)
        log.close()
        let snapshot = try #require(dir.names().first { $0.hasPrefix("snapshot-") })
        try dir.remove(snapshot)
        #expect(logError { _ = try Self.open(dir) } == .missingFile(dir.file(snapshot)))
    }

    @Test func filesLeftByAnInterruptedChangeAreRemoved() throws {
        let dir = TemporaryDirectory()
        let written = try Self.syncedLog(in: dir)
        let segments = dir.segmentNames
        // A segment past the range, as a crash after truncation shrank the metadata leaves it,
        // and a stray snapshot file, as a crash before a snapshot's metadata leaves it.
        let stray = "segment-\(String(repeating: "0", count: 19))9.log"
        try #require(!segments.contains(stray))
        try dir.write(try dir.bytes(of: segments[0]), to: stray)
        try dir.write([1, 2, 3], to: "snapshot-00000000000000000007.snap")
        let log = try Self.open(dir)
        #expect(log.lastIndex == LogIndex(written.count))
        #expect(dir.segmentNames == segments)
        #expect(!dir.names().contains { $0.hasPrefix("snapshot-") })
    }
}
