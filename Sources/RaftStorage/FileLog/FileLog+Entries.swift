import RaftCore

extension FileLog {
    public func term(at index: LogIndex) -> Term? {
        if index == prefix.index { return prefix.term }
        return self.index[index]?.term
    }

    public func lastConfigIndex(atOrBefore index: LogIndex) -> LogIndex? {
        self.index.lastConfigIndex(atOrBefore: min(index, lastIndex))
    }

    public func entries(from: LogIndex, through: LogIndex, maxBytes: Int) throws -> [Entry] {
        guard from > prefix.index else { throw LogError.compacted(from) }
        guard through <= lastIndex else { throw LogError.unavailable(through) }
        guard from <= through else { return [] }
        if isClosed { throw LogError.io("log at \(directory.path) is closed") }

        // The byte limit is decided from the index, so no entry past it is read.
        var end = from
        var bytes = Int(index[from]!.dataSize)
        while end < through {
            let size = Int(index[end + 1]!.dataSize)
            if bytes + size > maxBytes { break }
            bytes += size
            end += 1
        }

        var out: [Entry] = []
        out.reserveCapacity(Int(end - from + 1))
        var next = from
        while next <= end {
            if let cached = recent.entry(at: next) {
                out.append(cached)
                next += 1
                continue
            }
            // Consecutive entries of one segment sit back to back on disk: read them at once.
            let segmentID = index[next]!.segmentID
            var runEnd = next
            while runEnd < end, index[runEnd + 1]!.segmentID == segmentID, recent.entry(at: runEnd + 1) == nil {
                runEnd += 1
            }
            out += try readEntries(next...runEnd, segmentID: segmentID)
            next = runEnd + 1
        }
        return out
    }

    public func append(_ entries: [Entry]) throws {
        try checkWritable()
        // Check every entry before writing any, so a refused batch leaves the log unchanged.
        var expected = lastIndex + 1
        for entry in entries {
            guard entry.index == expected else { throw LogError.notContiguous(expected: expected, got: entry.index) }
            let size = RecordFrame.entryPayloadSize(entry)
            guard size <= options.maxRecordSize else {
                throw LogError.recordTooLarge(size: size, max: options.maxRecordSize)
            }
            expected += 1
        }
        try performingIO {
            for entry in entries {
                let frameSize = RecordFrame.frameSize(payloadSize: RecordFrame.entryPayloadSize(entry))
                if active.map({ $0.holdsRecords && $0.size + frameSize > options.segmentSize }) ?? true {
                    try startSegment(firstIndex: entry.index)
                }
                let segment = active!
                let offset = segment.size
                let written = segment.append(entry: entry)
                assert(written == frameSize)
                index.append(RecordLocation(term: entry.term, segmentID: segment.info.id,
                                            offset: UInt32(offset), frameSize: UInt32(frameSize),
                                            dataSize: UInt32(entry.data.count), kind: entry.kind),
                             at: entry.index)
                recent.append(entry)
                if segment.buffer.count >= Self.flushThreshold { try segment.flush() }
            }
        }
    }

    public func truncate(from truncateIndex: LogIndex) throws {
        try checkWritable()
        guard truncateIndex > commitIndex else {
            throw LogError.belowCommit(index: truncateIndex, commit: commitIndex)
        }
        guard truncateIndex > prefix.index else { throw LogError.compacted(truncateIndex) }
        guard truncateIndex <= lastIndex, let location = index[truncateIndex] else { return }
        try performingIO {
            if location.segmentID != active?.info.id {
                try reactivateSegment(location.segmentID)
            }
            try active!.cut(at: Int(location.offset))
            index.removeFrom(truncateIndex)
            recent.removeFrom(truncateIndex)
            // A commit record may have been cut off with the entries; record it again at sync.
            recordedCommit = 0
        }
    }

    /// Makes an earlier segment the active one again, dropping every later segment. The
    /// metadata shrinks the segment range before any file goes, so a crash in between leaves
    /// leftovers to remove, never a gap.
    private func reactivateSegment(_ id: UInt64) throws {
        let keep = Int(id - segments[0].id) + 1
        let dropped = segments[keep...].map(\.name)
        active?.close()
        active = nil
        segments.removeLast(segments.count - keep)
        nextSegmentID = id + 1
        try persistMetadata()
        try removeFiles(dropped)
        // The caller cuts it right after, inside its records, which also drops any zero-filled
        // end a crash may have left on it.
        let info = segments[keep - 1]
        let size = try directory.posix.fileSize(ofFile: directory.file(info.name))
        let header = SegmentHeader(decoding: try readClosedSegment(named: info.name, range: 0..<SegmentHeader.size, in: directory))
        guard let header else { throw LogError.corrupt("\(info.name) has a damaged header") }
        active = try ActiveSegment.open(info, validSize: size, version: header.version, in: directory,
                                        preallocationStep: preallocationStep)
    }

    /// Reads and verifies entries that lie back to back in one segment.
    private func readEntries(_ range: ClosedRange<LogIndex>, segmentID: UInt64) throws -> [Entry] {
        let first = index[range.lowerBound]!
        let last = index[range.upperBound]!
        let span = Int(first.offset)..<Int(last.offset + last.frameSize)
        let bytes: [UInt8]
        if let active, active.info.id == segmentID {
            bytes = try active.read(span)
        } else {
            bytes = try readClosedSegment(named: LogFileName.segment(segmentID), range: span, in: directory)
        }
        let name = LogFileName.segment(segmentID)
        var out: [Entry] = []
        out.reserveCapacity(range.count)
        for i in range {
            let location = index[i]!
            let start = Int(location.offset) - span.lowerBound
            guard let payload = RecordFrame.intactPayload(in: bytes, at: start),
                  payload.upperBound - start == Int(location.frameSize) else {
                throw LogError.corrupt("\(name): the record of index \(i) fails its checksum")
            }
            guard case .entry(let entry)? = try? RecordFrame.decode(bytes[payload]), entry.index == i else {
                throw LogError.corrupt("\(name): the record at offset \(location.offset) is not index \(i)")
            }
            out.append(entry)
        }
        return out
    }
}
