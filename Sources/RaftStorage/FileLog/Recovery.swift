import RaftCore

extension FileLog {
    /// What opening a directory found: the state to continue from.
    struct Recovery {
        var metadata: LogMetadata
        var segments: [SegmentInfo]
        var nextSegmentID: UInt64
        var active: ActiveSegment?
        var index: RecordIndex

        /// Reads the metadata, then every segment it counts, verifying each record. Only after
        /// all of it checks out does it touch the directory: removing leftovers of interrupted
        /// changes and cutting a torn end off the last segment.
        static func run(in directory: LogDirectory, preallocationStep: Int) throws -> Recovery {
            let names = try directory.names()
            let segmentIDs = Set(names.compactMap(LogFileName.segmentID))
            let snapshotIDs = Set(names.compactMap(LogFileName.snapshotID))
            let metadata = try readMetadata(in: directory, names: names,
                                            isEmpty: segmentIDs.isEmpty && snapshotIDs.isEmpty)
            let prefix = metadata.prefix

            if metadata.snapshot != nil && !snapshotIDs.contains(metadata.snapshotFileID) {
                throw LogError.missingFile(directory.file(LogFileName.snapshot(metadata.snapshotFileID)))
            }

            var segments: [SegmentInfo] = []
            var index = RecordIndex(firstIndex: prefix.index + 1)
            var commitIndex = metadata.commitIndex
            var nextIndex: LogIndex?
            var lastScan: SegmentScan?
            for id in metadata.segmentIDs {
                let name = LogFileName.segment(id)
                guard segmentIDs.contains(id) else { throw LogError.missingFile(directory.file(name)) }
                let scan = try SegmentScan(directory.posix.readWholeFile(directory.file(name)), name: name, expectedID: id)
                let isLast = id == metadata.segmentIDs.upperBound - 1
                if scan.hasTornTail && !isLast {
                    throw LogError.corrupt("\(name) has a damaged end but later segments follow it")
                }
                if let expected = nextIndex {
                    guard scan.header.firstIndex == expected else {
                        throw LogError.corrupt("\(name) starts at index \(scan.header.firstIndex), expected \(expected)")
                    }
                } else if scan.header.firstIndex > prefix.index + 1 {
                    throw LogError.missingFile("segment with entries \(prefix.index + 1)..<\(scan.header.firstIndex) before \(directory.file(name))")
                }
                for found in scan.records {
                    switch found.record {
                    case .commit(let commit):
                        commitIndex = max(commitIndex, commit)
                    case .entry(let entry) where entry.index > prefix.index:
                        index.append(RecordLocation(term: entry.term, segmentID: id, offset: UInt32(found.offset),
                                                    frameSize: UInt32(found.frameSize),
                                                    dataSize: UInt32(entry.data.count), kind: entry.kind),
                                     at: entry.index)
                    case .entry, .syncedThrough:
                        break
                    }
                }
                nextIndex = scan.lastIndex + 1
                segments.append(SegmentInfo(id: id, firstIndex: scan.header.firstIndex))
                lastScan = scan
            }
            if let nextIndex, nextIndex - 1 < prefix.index {
                throw LogError.corrupt("the segments end at index \(nextIndex - 1), before the snapshot prefix \(prefix.index)")
            }

            // Temporary files are writes interrupted before their rename: the files they were
            // to replace are intact. Files outside the metadata's ranges are leftovers of
            // changes whose metadata became durable.
            var leftovers = names.filter { $0.hasSuffix(LogDirectory.temporarySuffix) }
            leftovers += segmentIDs.filter { !metadata.segmentIDs.contains($0) }.map(LogFileName.segment)
            leftovers += snapshotIDs.filter { metadata.snapshot == nil || $0 != metadata.snapshotFileID }
                .map(LogFileName.snapshot)
            for name in leftovers { try directory.remove(name) }

            var active: ActiveSegment?
            if let last = segments.last, let lastScan {
                let segment = try ActiveSegment.open(last, validSize: lastScan.hasTornTail ? lastScan.fileSize : lastScan.validSize,
                                                     version: lastScan.header.version, in: directory,
                                                     preallocationStep: preallocationStep)
                do {
                    if lastScan.hasTornTail {
                        try segment.cut(at: lastScan.validSize)
                        try segment.sync()
                    } else {
                        try segment.syncRecovered()
                    }
                } catch {
                    segment.close()
                    throw error
                }
                active = segment
            }
            // The durable commit index is the metadata's or a later one recorded in a segment.
            var recovered = metadata
            recovered.commitIndex = commitIndex
            return Recovery(metadata: recovered, segments: segments,
                            nextSegmentID: metadata.segmentIDs.upperBound, active: active, index: index)
        }

        /// The metadata file, or fresh metadata for a directory that holds no log yet.
        private static func readMetadata(in directory: LogDirectory, names: [String], isEmpty: Bool) throws -> LogMetadata {
            guard names.contains(LogDirectory.metadataName) else {
                guard isEmpty else { throw LogError.missingFile(directory.file(LogDirectory.metadataName)) }
                let fresh = LogMetadata()
                try directory.replaceAtomically(LogDirectory.metadataName, with: [fresh.encoded()])
                return fresh
            }
            return try LogMetadata(decoding: directory.posix.readWholeFile(directory.file(LogDirectory.metadataName)))
        }
    }
}
