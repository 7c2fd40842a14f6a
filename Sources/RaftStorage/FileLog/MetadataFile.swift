import RaftCore

/// Everything FileLog keeps outside the segments. Small and rarely rewritten: as a whole, by
/// atomic replacement, when the hard state, bootstrap config, broken flag, snapshot or the
/// set of segments changes. The commit index rides along, and between rewrites it is
/// recorded in the segments themselves.
struct LogMetadata: Equatable {
    var hardState = HardState()
    var commitIndex: LogIndex = 0
    var prefix = LogPosition.zero
    var bootstrapConfig: ClusterConfig?
    var isBroken = false
    var snapshot: SnapshotMeta?
    /// Id of the snapshot file holding `snapshot`'s data.
    var snapshotFileID: UInt64 = 0
    /// The segments in force are firstSegmentID ..< firstSegmentID + segmentCount. Files
    /// outside that range are leftovers of an interrupted change and are removed at open.
    var firstSegmentID: UInt64 = 1
    var segmentCount: UInt64 = 0

    var segmentIDs: Range<UInt64> { firstSegmentID..<(firstSegmentID + segmentCount) }

    private static let magic = Array("RAFTMETA".utf8)
    private static let version: UInt8 = 1

    /// Magic, version, the fields, then a CRC32C of everything before it.
    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        w.raw(Self.magic)
        w.u8(Self.version)
        w.varint(hardState.term)
        w.bool(hardState.votedFor != nil)
        if let vote = hardState.votedFor { w.string(vote) }
        w.varint(commitIndex)
        w.varint(prefix.index)
        w.varint(prefix.term)
        w.bool(bootstrapConfig != nil)
        bootstrapConfig?.encode(into: &w)
        w.bool(isBroken)
        w.bool(snapshot != nil)
        snapshot?.encode(into: &w)
        w.varint(snapshotFileID)
        w.varint(firstSegmentID)
        w.varint(segmentCount)
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    init() {}

    init(decoding bytes: [UInt8]) throws {
        guard bytes.count >= Self.magic.count + 1 + 4, Array(bytes[0..<Self.magic.count]) == Self.magic else {
            throw LogError.corrupt("metadata file is not a FileLog metadata file")
        }
        let body = Array(bytes[0..<(bytes.count - 4)])
        var trailer = ByteReader(Array(bytes[(bytes.count - 4)...]))
        guard (try? trailer.u32()) == CRC32C.checksum(body) else {
            throw LogError.corrupt("metadata file fails its checksum")
        }
        var r = ByteReader(body, offset: Self.magic.count)
        do {
            let version = try r.u8()
            guard version == Self.version else { throw WireError.unknownVersion(version) }
            let term = try r.varint()
            let vote = try r.bool() ? try r.string() : nil
            hardState = HardState(term: term, votedFor: vote)
            commitIndex = try r.varint()
            prefix = LogPosition(index: try r.varint(), term: try r.varint())
            bootstrapConfig = try r.bool() ? try ClusterConfig(from: &r) : nil
            isBroken = try r.bool()
            snapshot = try r.bool() ? try SnapshotMeta(from: &r) : nil
            snapshotFileID = try r.varint()
            firstSegmentID = try r.varint()
            segmentCount = try r.varint()
            try r.expectEnd()
        } catch {
            throw LogError.corrupt("metadata file does not decode: \(error)")
        }
    }
}
