/// Redis's reply texts, verbatim (server.c / object.c / t_string.c of Redis 7).
enum KVReply {
    static let wrongType = RESPValue.error("WRONGTYPE Operation against a key holding the wrong kind of value")
    static let notInteger = RESPValue.error("ERR value is not an integer or out of range")
    static let notFloat = RESPValue.error("ERR value is not a valid float")
    static let syntax = RESPValue.error("ERR syntax error")
    static let noSuchKey = RESPValue.error("ERR no such key")
    static let overflow = RESPValue.error("ERR increment or decrement would overflow")
    static let decrementOverflow = RESPValue.error("ERR decrement would overflow")
    static let nanOrInfinity = RESPValue.error("ERR increment would produce NaN or Infinity")
    static let valueNanOrInfinity = RESPValue.error("ERR value is NaN or Infinity")
    static let hashNotInteger = RESPValue.error("ERR hash value is not an integer")
    static let hashNotFloat = RESPValue.error("ERR hash value is not a float")
    static let offsetOutOfRange = RESPValue.error("ERR offset is out of range")
    static let indexOutOfRange = RESPValue.error("ERR index out of range")
    static let invalidCursor = RESPValue.error("ERR invalid cursor")
    static let mustBePositive = RESPValue.error("ERR value is out of range, must be positive")
    static let tooLarge = RESPValue.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    static let pong = RESPValue.simple("PONG")
    static let zero = RESPValue.integer(0)
    static let one = RESPValue.integer(1)
    static let emptyArray = RESPValue.array([])
    static let nullArray = RESPValue.array(nil)
    static let emptyBulk = RESPValue.bulk([])

    static func invalidExpire(_ command: String) -> RESPValue {
        .error("ERR invalid expire time in '\(command)' command")
    }

    static func arity(_ command: String) -> RESPValue {
        .error("ERR wrong number of arguments for '\(command)' command")
    }

    /// Redis 7's text: the name (first 128 bytes), then the first arguments quoted, up to about
    /// 128 bytes in all; CR and LF shown as spaces.
    static func unknownCommand(_ args: [[UInt8]]) -> RESPValue {
        var text = Array("ERR unknown command '".utf8)
        text += cString(args.first ?? [], max: 128)
        text += Array("', with args beginning with: ".utf8)
        var shown: [UInt8] = []
        var i = 1
        while i < args.count && shown.count < 128 {
            let room = 128 - shown.count
            shown.append(39)
            shown += cString(args[i], max: room)
            shown += [39, 32]
            i += 1
        }
        text += shown
        return .error(String(decoding: text.map { $0 == 13 || $0 == 10 ? 32 : $0 }, as: UTF8.self))
    }

    /// printf's `%.*s`: at most max bytes, stopping at a NUL.
    private static func cString(_ b: [UInt8], max: Int) -> [UInt8] {
        var out: [UInt8] = []
        for c in b.prefix(Swift.max(max, 0)) {
            if c == 0 { break }
            out.append(c)
        }
        return out
    }

    /// Maximum string size (Redis's proto-max-bulk-len default, 512 MB).
    static let maxStringLength: Int64 = 512 * 1024 * 1024
}

/// ASCII case-insensitive comparison with a lowercase literal.
@inline(__always)
func kvIs(_ arg: [UInt8], _ lower: StaticString) -> Bool {
    let n = lower.utf8CodeUnitCount
    guard arg.count == n else { return false }
    let p = lower.utf8Start
    for i in 0..<n {
        var c = arg[i]
        if c >= 65 && c <= 90 { c += 32 }
        if c != p[i] { return false }
    }
    return true
}

/// A value or the error reply to answer instead.
enum KVResult<T> {
    case success(T)
    case failure(RESPValue)
}

/// Byte-order comparison (what `lexicographicallyPrecedes` gives), eight bytes at a time.
@inline(__always)
func kvLess(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { pa in
        b.withUnsafeBytes { pb in
            let n = Swift.min(pa.count, pb.count)
            var i = 0
            while i + 8 <= n {
                let x = UInt64(bigEndian: pa.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let y = UInt64(bigEndian: pb.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if x != y { return x < y }
                i += 8
            }
            while i < n {
                let x = pa[i], y = pb[i]
                if x != y { return x < y }
                i += 1
            }
            return pa.count < pb.count
        }
    }
}

/// Byte equality, eight bytes at a time (Array's == compares element by element).
@inline(__always)
func kvEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { pa in
        b.withUnsafeBytes { pb in
            guard pa.count == pb.count else { return false }
            let n = pa.count
            var i = 0
            while i + 8 <= n {
                if pa.loadUnaligned(fromByteOffset: i, as: UInt64.self) != pb.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                    return false
                }
                i += 8
            }
            while i < n {
                if pa[i] != pb[i] { return false }
                i += 1
            }
            return true
        }
    }
}
