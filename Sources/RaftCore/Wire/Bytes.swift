/// Little-endian byte writer used by every encoder in the project.
public struct ByteWriter {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Continues `bytes` (moved in: pass a uniquely referenced array to avoid a copy); take it
    /// back with `takeBytes()`.
    public init(continuing bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Hands the bytes over, leaving the writer empty.
    public mutating func takeBytes() -> [UInt8] {
        var out: [UInt8] = []
        swap(&out, &bytes)
        return out
    }

    /// Bytes `varint(v)` writes.
    public static func varintSize(_ v: UInt64) -> Int {
        var n = 1
        var v = v >> 7
        while v != 0 { n += 1; v >>= 7 }
        return n
    }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }

    /// Unsigned LEB128: small indexes and lengths cost one or two bytes.
    public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func blob(_ b: [UInt8]) {
        varint(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    public mutating func string(_ s: String) { blob(Array(s.utf8)) }
    public mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    /// Makes room for `n` more bytes before a large write. Grows at least geometrically, because
    /// `reserveCapacity` alone allocates exactly and would make packing many frames quadratic.
    public mutating func reserve(additional n: Int) {
        let needed = bytes.count + n
        guard needed > bytes.capacity else { return }
        bytes.reserveCapacity(Swift.max(needed, bytes.capacity * 2))
    }
}

public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated
    case unknownVersion(UInt8)
    case unknownMessageType(UInt8)
    case unknownEnumValue(String, UInt8)
    case lengthTooLarge(UInt64)
    case countTooLarge(UInt64)
    case invalidUTF8
    case varintOverflow
    case trailingBytes(Int)
    case invalidValue(String)

    public var description: String {
        switch self {
        case .truncated: return "frame is truncated"
        case .unknownVersion(let v): return "unknown wire version \(v)"
        case .unknownMessageType(let t): return "unknown message type \(t)"
        case .unknownEnumValue(let name, let v): return "unknown \(name) value \(v)"
        case .lengthTooLarge(let n): return "length \(n) exceeds the frame"
        case .countTooLarge(let n): return "count \(n) exceeds the frame"
        case .invalidUTF8: return "string is not valid UTF-8"
        case .varintOverflow: return "varint longer than 64 bits"
        case .trailingBytes(let n): return "\(n) unexpected bytes after the message"
        case .invalidValue(let what): return "invalid value: \(what)"
        }
    }
}

/// Bounds-checked reader: every read checks the remaining length first, so garbage input
/// yields a `WireError`, never a trap or an allocation larger than the input.
public struct ByteReader {
    private let bytes: [UInt8]
    public private(set) var offset: Int
    private let end: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
        self.end = bytes.count
    }

    public var remaining: Int { end - offset }
    public var isAtEnd: Bool { offset >= end }

    public mutating func u8() throws(WireError) -> UInt8 {
        guard offset < end else { throw .truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func bool() throws(WireError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        case let v: throw .unknownEnumValue("bool", v)
        }
    }

    private mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws(WireError) -> T {
        let n = MemoryLayout<T>.size
        guard remaining >= n else { throw .truncated }
        var v: T = 0
        for i in 0..<n { v |= T(bytes[offset + i]) << (8 * i) }
        offset += n
        return v
    }

    public mutating func u16() throws(WireError) -> UInt16 { try fixed(UInt16.self) }
    public mutating func u32() throws(WireError) -> UInt32 { try fixed(UInt32.self) }
    public mutating func u64() throws(WireError) -> UInt64 { try fixed(UInt64.self) }

    public mutating func varint() throws(WireError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try u8()
            if shift == 63 && b > 1 { throw .varintOverflow }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw .varintOverflow }
        }
    }

    /// A count of items that each take at least `minItemSize` bytes; refuses counts the
    /// remaining input could not hold, so a forged count cannot make us over-allocate.
    public mutating func count(minItemSize: Int) throws(WireError) -> Int {
        let n = try varint()
        guard n <= UInt64(remaining / max(minItemSize, 1)) else { throw .countTooLarge(n) }
        return Int(n)
    }

    public mutating func blob() throws(WireError) -> [UInt8] {
        let n = try varint()
        guard n <= UInt64(remaining) else { throw .lengthTooLarge(n) }
        let start = offset
        offset += Int(n)
        return Array(bytes[start..<offset])
    }

    public mutating func string() throws(WireError) -> String {
        let b = try blob()
        guard let s = String(validating: b, as: UTF8.self) else { throw .invalidUTF8 }
        return s
    }

    public mutating func expectEnd() throws(WireError) {
        if offset != end { throw .trailingBytes(end - offset) }
    }
}
