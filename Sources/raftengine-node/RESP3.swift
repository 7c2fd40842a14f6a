import RaftKV

/// Replies for RESP3 clients (HELLO 3, redis-py's default). The state machine answers in
/// RESP2; for a RESP3 session the reply is rewritten: null bulk strings and null arrays become
/// RESP3's null, and the commands whose RESP3 reply is a map (HGETALL, CONFIG GET) get one.
enum RESP3 {
    /// Commands whose flat array of field, value pairs is a map in RESP3.
    static let mapReplies: Set<String> = ["HGETALL", "CONFIG"]

    static func upgrade(_ reply: [UInt8], command: String) -> [UInt8] {
        if !mapReplies.contains(command) && isSameInRESP3(reply) { return reply }
        var r = Reader(bytes: reply)
        var out: [UInt8] = []
        out.reserveCapacity(reply.count)
        let asMap = mapReplies.contains(command)
        while r.pos < reply.count {
            guard r.copyValue(into: &out, mapAtTop: asMap) else { return reply }
        }
        return out
    }

    /// True for one simple string, error, integer or non-null bulk string: RESP3 spells those
    /// the same (most replies), so they need no walk.
    static func isSameInRESP3(_ reply: [UInt8]) -> Bool {
        let n = reply.count
        guard n >= 3, reply[n - 2] == 13, reply[n - 1] == 10 else { return false }
        switch reply[0] {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"):
            // One line: its first CR is the last but one byte.
            var i = 1
            while reply[i] != 13 { i += 1 }
            return i == n - 2
        case UInt8(ascii: "$"):
            var len = 0, i = 1
            while i < n, reply[i] >= 48, reply[i] <= 57 { len = len * 10 + Int(reply[i] - 48); i += 1 }
            return i > 1 && i + 2 + len + 2 == n && reply[i] == 13
        default:
            return false
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var pos = 0

        mutating func line() -> ArraySlice<UInt8>? {
            var i = pos
            while i + 1 < bytes.count {
                if bytes[i] == 13 && bytes[i + 1] == 10 {
                    let l = bytes[pos..<i]
                    pos = i + 2
                    return l
                }
                i += 1
            }
            return nil
        }

        /// Copies one RESP2 value as RESP3; false when the bytes are not RESP as expected.
        mutating func copyValue(into out: inout [UInt8], mapAtTop: Bool = false) -> Bool {
            guard pos < bytes.count else { return false }
            let type = bytes[pos]
            guard let l = line() else { return false }
            let body = l.dropFirst()
            switch type {
            case UInt8(ascii: "$"):
                guard let n = Int(String(decoding: body, as: UTF8.self)) else { return false }
                if n < 0 {
                    out.append(contentsOf: [UInt8(ascii: "_"), 13, 10])
                    return true
                }
                out.append(contentsOf: l); out.append(contentsOf: [13, 10])
                guard pos + n + 2 <= bytes.count else { return false }
                out.append(contentsOf: bytes[pos..<(pos + n + 2)])
                pos += n + 2
            case UInt8(ascii: "*"):
                guard let n = Int(String(decoding: body, as: UTF8.self)) else { return false }
                if n < 0 {
                    out.append(contentsOf: [UInt8(ascii: "_"), 13, 10])
                    return true
                }
                if mapAtTop && n % 2 == 0 {
                    out.append(UInt8(ascii: "%")); out.append(contentsOf: String(n / 2).utf8); out.append(contentsOf: [13, 10])
                } else {
                    out.append(contentsOf: l); out.append(contentsOf: [13, 10])
                }
                for _ in 0..<n { guard copyValue(into: &out) else { return false } }
            default:
                out.append(contentsOf: l); out.append(contentsOf: [13, 10])
            }
            return true
        }
    }
}

/// The server's own structured replies, encoded for the session's protocol.
enum Reply {
    case value(RESPValue)
    /// Field-value pairs: a map in RESP3, a flat array in RESP2.
    case map([(String, Reply)])

    static func bulk(_ s: String) -> Reply { .value(.bulk(s)) }
    static func int(_ n: Int) -> Reply { .value(.integer(Int64(n))) }

    func encoded(_ proto: Int) -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out, proto)
        return out
    }

    func encode(into out: inout [UInt8], _ proto: Int) {
        switch self {
        case .value(let v):
            let e = v.encoded
            out.append(contentsOf: proto == 3 ? RESP3.upgrade(e, command: "") : e)
        case .map(let pairs):
            let head = proto == 3 ? "%\(pairs.count)\r\n" : "*\(pairs.count * 2)\r\n"
            out.append(contentsOf: head.utf8)
            for (k, v) in pairs {
                RESPValue.bulk(k).encode(into: &out)
                v.encode(into: &out, proto)
            }
        }
    }
}

extension RESPValue {
    /// Encodes the value as a RESP3 session gets it: what `RESP3.upgrade` makes of the RESP2
    /// encoding (nulls as `_`, with `asMap` a top-level array of pairs as a map), written
    /// directly instead of re-parsed.
    func encode3(into out: inout [UInt8], asMap: Bool = false) {
        switch self {
        case .bulk(nil), .array(nil):
            out.append(contentsOf: [UInt8(ascii: "_"), 13, 10])
        case .array(let items?):
            if asMap && items.count % 2 == 0 {
                out.append(UInt8(ascii: "%")); out.append(contentsOf: String(items.count / 2).utf8)
            } else {
                out.append(UInt8(ascii: "*")); out.append(contentsOf: String(items.count).utf8)
            }
            out.append(contentsOf: [13, 10])
            for i in items { i.encode3(into: &out) }
        default:
            encode(into: &out)
        }
    }
}
