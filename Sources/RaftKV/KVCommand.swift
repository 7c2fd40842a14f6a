import RaftCore

/// A write replicated through the Raft log. Reads never enter the log: they are served by the
/// leader after a leadership check (ReadIndex).
public enum KVCommand: Equatable, Sendable {
    case set(key: [UInt8], value: [UInt8])
    case delete(keys: [[UInt8]])
    case incrementBy(key: [UInt8], delta: Int64)

    private enum Op: UInt8 { case set = 1, delete = 2, incrementBy = 3 }

    public var encoded: [UInt8] {
        var w = ByteWriter()
        switch self {
        case .set(let k, let v):
            w.u8(Op.set.rawValue); w.blob(k); w.blob(v)
        case .delete(let keys):
            w.u8(Op.delete.rawValue); w.varint(UInt64(keys.count)); for k in keys { w.blob(k) }
        case .incrementBy(let k, let d):
            w.u8(Op.incrementBy.rawValue); w.blob(k); w.u64(UInt64(bitPattern: d))
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var r = ByteReader(bytes)
        let raw = try r.u8()
        switch Op(rawValue: raw) {
        case .set:
            let k = try r.blob()
            self = .set(key: k, value: try r.blob())
        case .delete:
            let n = try r.count(minItemSize: 1)
            var keys: [[UInt8]] = []
            for _ in 0..<n { keys.append(try r.blob()) }
            self = .delete(keys: keys)
        case .incrementBy:
            let k = try r.blob()
            self = .incrementBy(key: k, delta: Int64(bitPattern: try r.u64()))
        case nil:
            throw .unknownEnumValue("kv command", raw)
        }
        try r.expectEnd()
    }
}
