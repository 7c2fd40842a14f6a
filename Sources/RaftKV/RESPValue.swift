/// A value of the Redis serialization protocol (RESP2), the wire format of raftengine-node's
/// clients (`redis-cli`, `redis-benchmark`, any Redis client library).
public enum RESPValue: Equatable, Sendable {
    case simple(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8]?)        // nil is the null bulk string
    case array([RESPValue]?)   // nil is the null array

    public static let ok = RESPValue.simple("OK")
    public static let null = RESPValue.bulk(nil)

    public static func bulk(_ s: String) -> RESPValue { .bulk(Array(s.utf8)) }

    public func encode(into out: inout [UInt8]) {
        switch self {
        case .simple(let s):
            // Most writes' reply: one append (the general way cost about 230 instructions).
            if s == "OK" { return out.append(contentsOf: Self.okLine) }
            out.append(UInt8(ascii: "+")); Self.append(s, to: &out); out.append(13); out.append(10)
        case .error(let s):
            out.append(UInt8(ascii: "-")); Self.append(s, to: &out); out.append(13); out.append(10)
        case .integer(let n):
            out.append(UInt8(ascii: ":")); Self.append(n, to: &out); out.append(13); out.append(10)
        case .bulk(nil):
            out.append(contentsOf: Self.nullBulk)
        case .bulk(let b?):
            out.append(UInt8(ascii: "$")); Self.append(Int64(b.count), to: &out); out.append(13); out.append(10)
            out.append(contentsOf: b); out.append(13); out.append(10)
        case .array(nil):
            out.append(contentsOf: Self.nullArray)
        case .array(let items?):
            out.append(UInt8(ascii: "*")); Self.append(Int64(items.count), to: &out); out.append(13); out.append(10)
            for i in items { i.encode(into: &out) }
        }
    }

    private static let okLine: [UInt8] = Array("+OK\r\n".utf8)
    private static let nullBulk: [UInt8] = Array("$-1\r\n".utf8)
    private static let nullArray: [UInt8] = Array("*-1\r\n".utf8)

    /// A string's UTF-8 bytes, from its own storage (replies are mostly short native strings).
    @inline(__always)
    private static func append(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { out.append(contentsOf: $0) }
    }

    /// Decimal digits of n, without making a String.
    @inline(__always)
    static func append(_ n: Int64, to out: inout [UInt8]) {
        if n >= 0 && n < 10 {
            out.append(48 + UInt8(n))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        var m = n.magnitude
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[23 - count] = 48 + UInt8(m % 10)
                m /= 10
                count += 1
            } while m > 0
            if n < 0 { out.append(UInt8(ascii: "-")) }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[(24 - count)...]))
        }
    }

    public var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }
}
