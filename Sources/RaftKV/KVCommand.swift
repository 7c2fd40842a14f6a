import RaftCore

/// What a write replicates through the Raft log: the client's argument vector(s), exactly as
/// received, plus the time the LEADER chose when it proposed the entry. Every replica executes
/// the entry at that time (see `KVStateMachine.lastAppliedTime`), so relative TTLs, expiry and
/// anything else that depends on time come out the same everywhere. Reads never enter the log:
/// the leader serves them after a ReadIndex (`KVStateMachine.read`).
///
/// Encoding (all through RaftCore's ByteWriter/ByteReader, bounds-checked):
///
///     u8 format            0x81 (format 1; 0x01-0x03 are the pre-issue-16 encodings below)
///     u8 kind              1 exec, 2 transaction, 3 expire
///     varint nowMs
///     exec:        varint argc, argc × blob
///     transaction: varint n, n × (varint argc, argc × blob)
///     expire:      varint limit (0: no limit)
///
/// The three encodings before this one (`u8 op` 1 SET key value, 2 DEL keys, 3 INCRBY key
/// delta, with no time) still decode, as `.exec` at time 0, so a log written by an older
/// version replays.
public enum KVCommand: Equatable, Sendable {
    /// One command: argv with the name first (`["SET", "k", "v"]`).
    case exec(nowMs: UInt64, args: [[UInt8]])
    /// MULTI ... EXEC: the queued commands, executed in order against the same state at one
    /// time, in one entry; the reply is the array of their replies. A command failing at run
    /// time leaves its error in the array and the others still apply (no rollback).
    case transaction(nowMs: UInt64, commands: [[[UInt8]]])
    /// The leader's periodic expiry sweep: removes every key whose deadline is at or before
    /// nowMs (at most `limit` of them, earliest first, when limit > 0). Replies with the number
    /// removed.
    case expire(nowMs: UInt64, limit: UInt64 = 0)

    static let format: UInt8 = 0x81
    enum Kind: UInt8 { case exec = 1, transaction = 2, expire = 3 }
    private enum LegacyOp: UInt8 { case set = 1, delete = 2, incrementBy = 3 }

    /// The leader time the entry carries.
    public var nowMs: UInt64 {
        switch self {
        case .exec(let t, _), .transaction(let t, _), .expire(let t, _): return t
        }
    }

    public var encoded: [UInt8] {
        var size = 16
        switch self {
        case .exec(_, let args): for a in args { size += a.count + 3 }
        case .transaction(_, let cmds): for c in cmds { size += 3; for a in c { size += a.count + 3 } }
        case .expire: break
        }
        var w = ByteWriter(capacity: size)
        w.u8(Self.format)
        switch self {
        case .exec(let t, let args):
            w.u8(Kind.exec.rawValue); w.varint(t)
            Self.write(args, &w)
        case .transaction(let t, let cmds):
            w.u8(Kind.transaction.rawValue); w.varint(t)
            w.varint(UInt64(cmds.count))
            for c in cmds { Self.write(c, &w) }
        case .expire(let t, let limit):
            w.u8(Kind.expire.rawValue); w.varint(t)
            w.varint(limit)
        }
        return w.takeBytes()
    }

    private static func write(_ args: [[UInt8]], _ w: inout ByteWriter) {
        w.varint(UInt64(args.count))
        for a in args { w.blob(a) }
    }

    private static func readArgs(_ r: inout ByteReader) throws(WireError) -> [[UInt8]] {
        let n = try r.count(minItemSize: 1)
        var args: [[UInt8]] = []
        args.reserveCapacity(n)
        for _ in 0..<n { args.append(try r.blob()) }
        return args
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var r = ByteReader(bytes)
        let tag = try r.u8()
        if tag == Self.format {
            let raw = try r.u8()
            guard let kind = Kind(rawValue: raw) else { throw .unknownEnumValue("kv command kind", raw) }
            let t = try r.varint()
            switch kind {
            case .exec:
                self = .exec(nowMs: t, args: try Self.readArgs(&r))
            case .transaction:
                let n = try r.count(minItemSize: 1)
                var cmds: [[[UInt8]]] = []
                cmds.reserveCapacity(n)
                for _ in 0..<n { cmds.append(try Self.readArgs(&r)) }
                self = .transaction(nowMs: t, commands: cmds)
            case .expire:
                self = .expire(nowMs: t, limit: try r.varint())
            }
        } else {
            switch LegacyOp(rawValue: tag) {
            case .set:
                let k = try r.blob()
                self = .exec(nowMs: 0, args: [Array("SET".utf8), k, try r.blob()])
            case .delete:
                let n = try r.count(minItemSize: 1)
                var keys: [[UInt8]] = [Array("DEL".utf8)]
                for _ in 0..<n { keys.append(try r.blob()) }
                self = .exec(nowMs: 0, args: keys)
            case .incrementBy:
                let k = try r.blob()
                let d = Int64(bitPattern: try r.u64())
                self = .exec(nowMs: 0, args: [Array("INCRBY".utf8), k, KVNumber.bytes(d)])
            case nil:
                throw .unknownVersion(tag)
            }
        }
        try r.expectEnd()
    }
}

extension KVCommand {
    /// Conveniences for the server until it proposes argument vectors itself: the same entries
    /// as `.exec` of SET/DEL/INCRBY at time 0, which the state machine runs at its
    /// `lastAppliedTime` (time never goes backwards).
    public static func set(key: [UInt8], value: [UInt8]) -> KVCommand {
        .exec(nowMs: 0, args: [Array("SET".utf8), key, value])
    }

    public static func delete(keys: [[UInt8]]) -> KVCommand {
        .exec(nowMs: 0, args: [Array("DEL".utf8)] + keys)
    }

    public static func incrementBy(key: [UInt8], delta: Int64) -> KVCommand {
        .exec(nowMs: 0, args: [Array("INCRBY".utf8), key, KVNumber.bytes(delta)])
    }
}
