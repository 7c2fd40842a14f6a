import RaftCore

/// A snapshot stored in its own file: magic, the encoded meta (length-prefixed), the data
/// (length-prefixed), then a CRC32C of everything before it. Each snapshot gets a new file id;
/// the metadata names the one in force, so a crash before the metadata is replaced leaves the
/// previous snapshot in force and its file in place.
enum SnapshotFile {
    private static let magic = Array("RAFTSNAP".utf8)

    static func write(id: UInt64, meta: SnapshotMeta, data: [UInt8], in directory: LogDirectory) throws {
        try directory.replaceAtomically(LogFileName.snapshot(id), with: chunks(meta: meta, data: data))
    }

    /// The file's content: header, data (not copied), trailer.
    static func chunks(meta: SnapshotMeta, data: [UInt8]) -> [[UInt8]] {
        var w = ByteWriter(capacity: 128)
        w.raw(magic)
        var metaWriter = ByteWriter()
        meta.encode(into: &metaWriter)
        w.blob(metaWriter.bytes)
        w.u64(UInt64(data.count))
        var crc = CRC32C()
        crc.update(w.bytes)
        crc.update(data)
        let trailer = withUnsafeBytes(of: crc.value.littleEndian) { Array($0) }
        return [w.bytes, data, trailer]
    }

    static func read(id: UInt64, expecting meta: SnapshotMeta, in directory: LogDirectory) throws -> [UInt8] {
        let name = LogFileName.snapshot(id)
        var bytes = try directory.posix.readWholeFile(directory.file(name))
        guard bytes.count >= magic.count + 4, Array(bytes[0..<magic.count]) == magic else {
            throw LogError.corrupt("\(name) is not a snapshot file")
        }
        var crc = CRC32C()
        crc.update(bytes[0..<(bytes.count - 4)])
        guard crc.value == littleEndianU32(bytes, at: bytes.count - 4) else {
            throw LogError.corrupt("\(name) fails its checksum")
        }
        var r = ByteReader(bytes, offset: magic.count)
        let stored: SnapshotMeta
        let count: UInt64
        do {
            stored = try SnapshotMeta(decoding: r.blob())
            count = try r.u64()
        } catch {
            throw LogError.corrupt("\(name) does not decode: \(error)")
        }
        guard stored == meta else {
            throw LogError.corrupt("\(name) holds the snapshot at \(stored.index), expected \(meta.index)")
        }
        guard count == UInt64(bytes.count - 4 - r.offset) else {
            throw LogError.corrupt("\(name) declares \(count) data bytes but holds \(bytes.count - 4 - r.offset)")
        }
        bytes.removeLast(4)
        bytes.removeFirst(r.offset)
        return bytes
    }

    private static func littleEndianU32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
            | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }
}

private extension SnapshotMeta {
    init(decoding bytes: [UInt8]) throws(WireError) {
        var r = ByteReader(bytes)
        try self.init(from: &r)
        try r.expectEnd()
    }
}
