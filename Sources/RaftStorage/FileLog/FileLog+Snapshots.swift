import RaftCore

extension FileLog {
    public func saveSnapshot(_ meta: SnapshotMeta, data: [UInt8], compactThrough: LogIndex) throws {
        try checkWritable()
        try performingIO {
            // Entries up to the new prefix must be durable before the metadata moves past them.
            try active?.sync()
            let replaced = try writeSnapshotFile(meta, data: data)
            let through = min(compactThrough, meta.index, lastIndex)
            if through > prefix.index, let term = term(at: through) {
                compact(through: LogPosition(index: through, term: term))
            }
            let dropped = dropSegmentsBelowPrefix()
            try persistMetadata()
            try removeFiles(dropped + replaced)
        }
    }

    public func installSnapshot(_ meta: SnapshotMeta, data: [UInt8]) throws {
        try checkWritable()
        try performingIO {
            let position = LogPosition(index: meta.index, term: meta.term)
            let keepsSuffix = meta.index > prefix.index && term(at: meta.index) == meta.term
            if keepsSuffix { try active?.sync() }
            let replaced = try writeSnapshotFile(meta, data: data)
            var dropped: [String]
            if keepsSuffix {
                compact(through: position)
                dropped = dropSegmentsBelowPrefix()
            } else {
                // Every segment goes; the next append starts a new one after all their ids.
                active?.close()
                active = nil
                dropped = segments.map(\.name)
                segments = []
                index = RecordIndex(firstIndex: meta.index + 1)
                recent.removeAll()
                metadata.prefix = position
            }
            metadata.commitIndex = max(metadata.commitIndex, meta.index)
            try persistMetadata()
            try removeFiles(dropped + replaced)
        }
    }

    public func loadSnapshot() throws -> (meta: SnapshotMeta, data: [UInt8])? {
        guard let meta = metadata.snapshot else { return nil }
        if isClosed { throw LogError.io("log at \(directory.path) is closed") }
        return (meta, try SnapshotFile.read(id: metadata.snapshotFileID, expecting: meta, in: directory))
    }

    /// Writes the snapshot under a new file id and makes it the one in force; returns the file
    /// it replaces, to remove once the metadata no longer names it.
    private func writeSnapshotFile(_ meta: SnapshotMeta, data: [UInt8]) throws -> [String] {
        let fileID = metadata.snapshotFileID + 1
        try SnapshotFile.write(id: fileID, meta: meta, data: data, in: directory)
        let replaced = metadata.snapshot.map { _ in [LogFileName.snapshot(metadata.snapshotFileID)] } ?? []
        metadata.snapshot = meta
        metadata.snapshotFileID = fileID
        return replaced
    }

    private func compact(through position: LogPosition) {
        metadata.prefix = position
        index.removeThrough(position.index)
        recent.removeThrough(position.index)
    }

    /// Drops segments whose every entry lies at or below the prefix. The last segment stays,
    /// since appends continue in it.
    private func dropSegmentsBelowPrefix() -> [String] {
        var dropped: [String] = []
        while segments.count > 1 && segments[1].firstIndex <= prefix.index + 1 {
            dropped.append(segments.removeFirst().name)
        }
        return dropped
    }
}
