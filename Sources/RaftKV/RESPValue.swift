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
            out.append(UInt8(ascii: "+")); out.append(contentsOf: s.utf8); out.append(contentsOf: [13, 10])
        case .error(let s):
            out.append(UInt8(ascii: "-")); out.append(contentsOf: s.utf8); out.append(contentsOf: [13, 10])
        case .integer(let n):
            out.append(UInt8(ascii: ":")); out.append(contentsOf: String(n).utf8); out.append(contentsOf: [13, 10])
        case .bulk(nil):
            out.append(contentsOf: Array("$-1\r\n".utf8))
        case .bulk(let b?):
            out.append(UInt8(ascii: "$")); out.append(contentsOf: String(b.count).utf8); out.append(contentsOf: [13, 10])
            out.append(contentsOf: b); out.append(contentsOf: [13, 10])
        case .array(nil):
            out.append(contentsOf: Array("*-1\r\n".utf8))
        case .array(let items?):
            out.append(UInt8(ascii: "*")); out.append(contentsOf: String(items.count).utf8); out.append(contentsOf: [13, 10])
            for i in items { i.encode(into: &out) }
        }
    }

    public var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }
}
