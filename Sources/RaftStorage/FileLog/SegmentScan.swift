import Glibc
import RaftCore

/// One intact record recovery found in a segment.
struct ScannedRecord {
    let offset: Int
    let frameSize: Int
    let record: LogRecord
}

/// What recovery read from one segment file: its header, its intact records in order, and
/// where the last intact record ends.
struct SegmentScan {
    let header: SegmentHeader
    let records: [ScannedRecord]
    /// The end of the last intact record; bytes after it are a torn write or, when all of
    /// them are zero, space allocated ahead of the writes.
    let validSize: Int
    let fileSize: Int
    /// Bytes after `validSize` that are not all zero: the end of a write a crash interrupted.
    let hasTornTail: Bool

    /// The index of the last entry, or firstIndex - 1 when the segment holds none.
    let lastIndex: LogIndex

    /// Reads `bytes` (the whole file). A frame that fails its checksum ends the scan: it is a
    /// torn tail when no intact frame follows it, and corruption otherwise, because a crash
    /// only damages the unsynced end of a file. An intact frame that does not decode or does
    /// not carry the next index cannot come from a crash, so it is corruption too.
    init(_ bytes: [UInt8], name: String, expectedID: UInt64) throws {
        guard let header = SegmentHeader(decoding: bytes) else {
            throw LogError.corrupt("\(name) has a damaged header")
        }
        guard header.id == expectedID else {
            throw LogError.corrupt("\(name) has the header of segment \(header.id)")
        }
        var records: [ScannedRecord] = []
        var offset = SegmentHeader.size
        var nextIndex = header.firstIndex
        // Past the last non-zero byte lies only space allocated ahead (a frame starts with its
        // non-zero length), so no frame can start there.
        let dataEnd = Self.endOfNonZeroBytes(bytes)
        try bytes.withUnsafeBytes { raw in
            while offset < dataEnd {
                guard let payload = RecordFrame.intactPayload(in: raw, at: offset) else {
                    if header.version >= 2 {
                        // Damage inside what a sync made durable is corruption; past it, a power
                        // loss may have torn or dropped any unsynced sector, intact ones after.
                        if let claim = Self.durableClaim(in: raw, after: offset, before: dataEnd), claim > offset {
                            throw LogError.corrupt("\(name): damaged record at offset \(offset), inside the part a sync made durable (through \(claim))")
                        }
                    } else if let later = Self.firstIntactFrame(in: raw, after: offset, before: dataEnd) {
                        throw LogError.corrupt("\(name): damaged record at offset \(offset) before an intact one at \(later)")
                    }
                    break
                }
                let record: LogRecord
                do {
                    record = try RecordFrame.decode(bytes[payload])
                } catch {
                    throw LogError.corrupt("\(name): record at offset \(offset) does not decode: \(error)")
                }
                if case .entry(let entry) = record {
                    guard entry.index == nextIndex else {
                        throw LogError.corrupt("\(name): record at offset \(offset) holds index \(entry.index), expected \(nextIndex)")
                    }
                    nextIndex += 1
                }
                records.append(ScannedRecord(offset: offset, frameSize: payload.upperBound - offset, record: record))
                offset = payload.upperBound
            }
        }
        self.header = header
        self.records = records
        self.validSize = offset
        self.fileSize = bytes.count
        self.hasTornTail = offset < dataEnd
        self.lastIndex = nextIndex - 1
    }

    /// One past the last byte that is not zero; compares a page at a time, as a preallocated
    /// segment can end in megabytes of zeros.
    static func endOfNonZeroBytes(_ bytes: [UInt8]) -> Int {
        let page = 4096
        return bytes.withUnsafeBytes { raw -> Int in
            zeroPage.withUnsafeBytes { zeros -> Int in
                guard let base = raw.baseAddress else { return 0 }
                var end = raw.count
                while end >= page, memcmp(base + end - page, zeros.baseAddress!, page) == 0 { end -= page }
                while end > 0, raw[end - 1] == 0 { end -= 1 }
                return end
            }
        }
    }

    private static let zeroPage = [UInt8](repeating: 0, count: 4096)

    /// The largest offset an intact `.syncedThrough` record after `offset` claims durable.
    private static func durableClaim(in raw: UnsafeRawBufferPointer, after offset: Int, before end: Int) -> Int? {
        var claim: Int?
        var candidate = offset + 1
        while let found = firstIntactFrame(in: raw, after: candidate - 1, before: end) {
            let payload = RecordFrame.intactPayload(in: raw, at: found)!
            if case .syncedThrough(let through)? = try? RecordFrame.decode(ArraySlice(UnsafeRawBufferPointer(rebasing: raw[payload]))) {
                claim = max(claim ?? 0, Int(through))
            }
            candidate = payload.upperBound
        }
        return claim
    }

    private static func firstIntactFrame(in raw: UnsafeRawBufferPointer, after offset: Int, before end: Int) -> Int? {
        var candidate = offset + 1
        while candidate < end, raw.count - candidate >= RecordFrame.headerSize + RecordFrame.minimumPayloadSize {
            if RecordFrame.intactPayload(in: raw, at: candidate) != nil { return candidate }
            candidate += 1
        }
        return nil
    }
}
