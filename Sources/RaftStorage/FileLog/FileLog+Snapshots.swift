import RaftCore

extension FileLog {
    /// Inline (the default): writes the snapshot file, then compacts. Deferred
    /// (`deferSnapshotWrites`): records it as the pending snapshot, replacing one pending
    /// before, and leaves the file and the compaction to `finishSnapshotWrite`.
    public func saveSnapshot(_ meta: SnapshotMeta, data: [UInt8], compactThrough: LogIndex) throws {
        try checkWritable()
        guard !deferSnapshotWrites else {
            pendingSnapshot = PendingSnapshot(meta: meta, data: data, compactThrough: compactThrough,
                                              fileID: reserveSnapshotFileID())
            return
        }
        pendingSnapshot = nil
        try performingIO {
            // Entries up to the new prefix must be durable before the metadata moves past them.
            try active?.sync()
            let replaced = try writeSnapshotFile(meta, data: data)
            try compactAfterSnapshot(through: min(compactThrough, meta.index), removing: replaced)
        }
    }

    /// The metadata names the snapshot just made durable: compacts through `through` (at most
    /// what the log holds), persists the metadata and removes the files it no longer names.
    func compactAfterSnapshot(through compactThrough: LogIndex, removing replaced: [String]) throws {
        let through = min(compactThrough, lastIndex)
        if through > prefix.index, let term = term(at: through) {
            compact(through: LogPosition(index: through, term: term))
        }
        let dropped = dropSegmentsBelowPrefix()
        try persistMetadata()
        try removeFiles(dropped + replaced)
    }

    /// Always inline (installs are rare); a pending snapshot is dropped, since this one
    /// replaces it (a write of it still out finds itself superseded).
    public func installSnapshot(_ meta: SnapshotMeta, data: [UInt8]) throws {
        try checkWritable()
        pendingSnapshot = nil
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
        // close() drops the pending one.
        if let pending = pendingSnapshot { return (pending.meta, pending.data) }
        guard let meta = metadata.snapshot else { return nil }
        if isClosed { throw LogError.io("log at \(directory.path) is closed") }
        return (meta, try SnapshotFile.read(id: metadata.snapshotFileID, expecting: meta, in: directory))
    }

    /// Writes the snapshot under a new file id and makes it the one in force; returns the file
    /// it replaces, to remove once the metadata no longer names it.
    private func writeSnapshotFile(_ meta: SnapshotMeta, data: [UInt8]) throws -> [String] {
        let fileID = reserveSnapshotFileID()
        try SnapshotFile.write(id: fileID, meta: meta, data: data, in: directory)
        return putInForce(meta, fileID: fileID)
    }

    /// The metadata (not yet persisted) names `meta` in file `fileID`; returns the file it named
    /// before, to remove once the persisted metadata no longer does.
    func putInForce(_ meta: SnapshotMeta, fileID: UInt64) -> [String] {
        let replaced = metadata.snapshot.map { _ in [LogFileName.snapshot(metadata.snapshotFileID)] } ?? []
        metadata.snapshot = meta
        metadata.snapshotFileID = fileID
        return replaced
    }

    /// A file id no file in force or handed out has: a write still out may be creating the
    /// one after the metadata's.
    func reserveSnapshotFileID() -> UInt64 {
        defer { nextSnapshotFileID += 1 }
        return nextSnapshotFileID
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
