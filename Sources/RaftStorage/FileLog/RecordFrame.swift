import RaftCore

/// What one record of a segment holds.
enum LogRecord: Equatable {
    case entry(Entry)
    /// The commit index as of a `sync()`. Recording it in the segment makes it durable with
    /// the entries' own fdatasync, instead of rewriting the metadata file on every sync.
    case commit(LogIndex)
    /// Bytes of this segment before the offset were durable (a completed fdatasync) when this
    /// record was written. Recovery uses it to tell corruption from a power loss's torn write.
    case syncedThrough(UInt64)
}

/// A record as stored in a segment: payload length (u32 LE), CRC32C over the length bytes and
/// the payload (u32 LE), then the payload — a type byte and the record's body. The checksum
/// covers the length so a damaged length cannot make a wrong slice look valid.
enum RecordFrame {
    static let headerSize = 8
    /// A type byte and at least a one-byte varint.
    static let minimumPayloadSize = 2

    private static let entryType: UInt8 = 1
    private static let commitType: UInt8 = 2
    private static let syncedThroughType: UInt8 = 3

    static func payload(of record: LogRecord) -> [UInt8] {
        var w = ByteWriter()
        switch record {
        case .entry(let entry):
            w.u8(entryType)
            entry.encode(into: &w)
        case .commit(let index):
            w.u8(commitType)
            w.varint(index)
        case .syncedThrough(let offset):
            w.u8(syncedThroughType)
            w.varint(offset)
        }
        return w.bytes
    }

    /// Appends the framed payload to a write buffer.
    static func append(_ payload: [UInt8], to buffer: inout [UInt8]) {
        let length = UInt32(payload.count)
        let lengthBytes = withUnsafeBytes(of: length.littleEndian) { Array($0) }
        var crc = CRC32C()
        crc.update(lengthBytes)
        crc.update(payload)
        buffer.append(contentsOf: lengthBytes)
        withUnsafeBytes(of: crc.value.littleEndian) { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: payload)
    }

    static func frameSize(payloadSize: Int) -> Int { headerSize + payloadSize }

    /// The payload size of an entry record, computed without encoding it (it must match
    /// `payload(of: .entry(entry))`, which `appendEntry` asserts in debug builds).
    static func entryPayloadSize(_ entry: Entry) -> Int {
        1 + ByteWriter.varintSize(entry.index) + ByteWriter.varintSize(entry.term) + 1
            + ByteWriter.varintSize(UInt64(entry.data.count)) + entry.data.count
    }

    /// Frames an entry record straight into a write buffer (no intermediate arrays): the
    /// append path's version of `payload(of:)` + `append(_:to:)`. Returns the frame size.
    static func appendEntry(_ entry: Entry, to buffer: inout [UInt8]) -> Int {
        let start = buffer.count
        var w = ByteWriter(continuing: buffer)
        buffer = []
        w.u64(0)  // length and checksum, filled in below
        w.u8(entryType)
        entry.encode(into: &w)
        buffer = w.takeBytes()
        let payloadSize = buffer.count - start - headerSize
        assert(payloadSize == entryPayloadSize(entry), "entryPayloadSize disagrees with Entry.encode")
        buffer.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(payloadSize).littleEndian, toByteOffset: start, as: UInt32.self)
            var crc = CRC32C()
            crc.update(UnsafeRawBufferPointer(rebasing: raw[start..<(start + 4)]))
            crc.update(UnsafeRawBufferPointer(rebasing: raw[(start + headerSize)...]))
            raw.storeBytes(of: crc.value.littleEndian, toByteOffset: start + 4, as: UInt32.self)
        }
        return headerSize + payloadSize
    }

    /// The payload range of the frame starting at `offset`, or nil unless a whole frame with a
    /// matching checksum lies there.
    static func intactPayload(in bytes: [UInt8], at offset: Int) -> Range<Int>? {
        bytes.withUnsafeBytes { intactPayload(in: $0, at: offset) }
    }

    static func intactPayload(in bytes: UnsafeRawBufferPointer, at offset: Int) -> Range<Int>? {
        guard offset >= 0, bytes.count - offset >= headerSize else { return nil }
        let length = Int(littleEndianU32(bytes, at: offset))
        guard length >= minimumPayloadSize, length <= bytes.count - offset - headerSize else { return nil }
        let payload = (offset + headerSize)..<(offset + headerSize + length)
        var crc = CRC32C()
        crc.update(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + 4)]))
        crc.update(UnsafeRawBufferPointer(rebasing: bytes[payload]))
        return crc.value == littleEndianU32(bytes, at: offset + 4) ? payload : nil
    }

    static func decode(_ payload: ArraySlice<UInt8>) throws(WireError) -> LogRecord {
        var r = ByteReader(Array(payload))
        let type = try r.u8()
        let record: LogRecord
        switch type {
        case entryType: record = .entry(try Entry(from: &r))
        case commitType: record = .commit(try r.varint())
        case syncedThroughType: record = .syncedThrough(try r.varint())
        default: throw .unknownEnumValue("record type", type)
        }
        try r.expectEnd()
        return record
    }

    private static func littleEndianU32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
            | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }
}
