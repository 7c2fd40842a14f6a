import RaftCore

/// KVStateMachine's snapshots: the whole keyspace in key byte order, so replicas in the same
/// state produce identical bytes.
///
/// Format 2:
///
///     u8 2, u64 lastAppliedTime, varint key count, then per key in byte order:
///     blob key, u8 kind (0 string, 1 hash, 2 list; +0x80 when a u64 deadline follows),
///     string: blob; hash: varint n, n × (blob field, blob value) in field byte order;
///     list: varint n, n × blob, head first.
///
/// (u64 little-endian, varint LEB128, blob = varint length then the bytes: RaftCore's
/// ByteWriter rules.) Keys past their deadline that nothing has removed yet are included (they
/// are part of the state every replica shares), with their deadlines.
///
/// A snapshot runs on the loop thread, so it is written in two passes over the store's key
/// order (kept incrementally, `KVKeyOrder`): the exact size, then the bytes straight into one
/// allocation of that size.
extension KVStateMachine {
    static let snapshotVersion: UInt8 = 2
    fileprivate enum Kind: UInt8 { case string = 0, hash = 1, list = 2 }
    fileprivate static let hasDeadline: UInt8 = 0x80

    public func snapshot() throws -> [UInt8] {
        let time = store.time
        return store.withKeyOrder { order, keys, entries in
            var size = 1 + 8 + ByteWriter.varintSize(UInt64(order.count))
            for r in order { size += Self.encodedSize(keys[Int(r.index)], entries[Int(r.index)]) }
            return [UInt8](unsafeUninitializedCapacity: size) { buf, initialized in
                var w = KVSnapshotOut(buf.baseAddress!)
                w.u8(Self.snapshotVersion)
                w.u64(time)
                w.varint(UInt64(order.count))
                for r in order { Self.encode(keys[Int(r.index)], entries[Int(r.index)], into: &w) }
                precondition(w.at == size, "snapshot size")
                initialized = w.at
            }
        }
    }

    @inline(__always)
    private static func blobSize(_ b: [UInt8]) -> Int { ByteWriter.varintSize(UInt64(b.count)) + b.count }

    @inline(__always)
    private static func encodedSize(_ k: [UInt8], _ e: KVEntry) -> Int {
        var n = blobSize(k) + 1 + (e.deadline == noDeadline ? 0 : 8)
        switch e.value {
        case .string(let s):
            n += blobSize(s)
        case .hash(let h):
            n += ByteWriter.varintSize(UInt64(h.count))
            h.forEachPair { f, v in n += blobSize(f) + blobSize(v) }
        case .list(let l):
            n += ByteWriter.varintSize(UInt64(l.count))
            for i in 0..<l.count { n += blobSize(l[i]) }
        }
        return n
    }

    @inline(__always)
    private static func encode(_ k: [UInt8], _ e: KVEntry, into w: inout KVSnapshotOut) {
        w.blob(k)
        let flag = e.deadline == noDeadline ? 0 : hasDeadline
        func tag(_ kind: Kind) {
            w.u8(kind.rawValue | flag)
            if flag != 0 { w.u64(e.deadline) }
        }
        switch e.value {
        case .string(let s):
            tag(.string)
            w.blob(s)
        case .hash(let h):
            tag(.hash)
            w.varint(UInt64(h.count))
            for (f, v) in h.sortedPairs {
                w.blob(f)
                w.blob(v)
            }
        case .list(let l):
            tag(.list)
            w.varint(UInt64(l.count))
            for i in 0..<l.count { w.blob(l[i]) }
        }
    }

    /// Replaces the whole state with a snapshot's (format 2, or format 1: strings without
    /// deadlines). Checks everything — key and field order, kinds, counts, no empty hash or
    /// list, deadlines within Int64 — and leaves the state untouched when anything is wrong.
    public func restore(_ data: [UInt8]) throws {
        var r = ByteReader(data)
        let version = try r.u8()
        var entries: [([UInt8], KVValue, UInt64)] = []
        var time: UInt64 = 0
        switch version {
        case 1:
            let n = try r.count(minItemSize: 2)
            entries.reserveCapacity(n)
            var seen = Set<[UInt8]>()
            for _ in 0..<n {
                let k = try r.blob()
                guard seen.insert(k).inserted else { throw WireError.invalidValue("duplicate key") }
                entries.append((k, .string(try r.blob()), noDeadline))
            }
        case Self.snapshotVersion:
            time = try r.u64()
            let n = try r.count(minItemSize: 3)
            entries.reserveCapacity(n)
            var previous: [UInt8]? = nil
            for _ in 0..<n {
                let k = try r.blob()
                if let p = previous, !kvLess(p, k) {
                    throw WireError.invalidValue("snapshot keys out of order")
                }
                previous = k
                let tag = try r.u8()
                var deadline = noDeadline
                if tag & Self.hasDeadline != 0 {
                    deadline = try r.u64()
                    guard deadline <= UInt64(Int64.max) else { throw WireError.invalidValue("deadline") }
                }
                let value: KVValue
                switch Kind(rawValue: tag & ~Self.hasDeadline) {
                case .string:
                    value = .string(try r.blob())
                case .hash:
                    let m = try r.count(minItemSize: 2)
                    guard m > 0 else { throw WireError.invalidValue("empty hash") }
                    let fields = KVHash()
                    fields.reserveCapacity(m)
                    var prevField: [UInt8]? = nil
                    for _ in 0..<m {
                        let f = try r.blob()
                        if let p = prevField, !kvLess(p, f) {
                            throw WireError.invalidValue("hash fields out of order")
                        }
                        prevField = f
                        fields[f] = try r.blob()
                    }
                    value = .hash(fields)
                case .list:
                    let m = try r.count(minItemSize: 1)
                    guard m > 0 else { throw WireError.invalidValue("empty list") }
                    var items: [[UInt8]] = []
                    items.reserveCapacity(m)
                    for _ in 0..<m { items.append(try r.blob()) }
                    value = .list(KVList(items))
                case nil:
                    throw WireError.unknownEnumValue("kv value kind", tag)
                }
                entries.append((k, value, deadline))
            }
        default:
            throw WireError.unknownVersion(version)
        }
        try r.expectEnd()
        // Format 2 was checked to be in key order; format 1 was not.
        store.load(entries, time: time, inKeyOrder: version == Self.snapshotVersion)
    }
}

/// Writes into memory already sized for everything written (the snapshot's exact size).
struct KVSnapshotOut {
    private let base: UnsafeMutablePointer<UInt8>
    private(set) var at = 0

    init(_ base: UnsafeMutablePointer<UInt8>) { self.base = base }

    @inline(__always)
    mutating func u8(_ v: UInt8) {
        base[at] = v
        at += 1
    }

    @inline(__always)
    mutating func u64(_ v: UInt64) {
        UnsafeMutableRawPointer(base + at).storeBytes(of: v.littleEndian, as: UInt64.self)
        at += 8
    }

    @inline(__always)
    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            u8(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        u8(UInt8(v))
    }

    @inline(__always)
    mutating func blob(_ b: [UInt8]) {
        varint(UInt64(b.count))
        b.withUnsafeBufferPointer { p in
            if let src = p.baseAddress { (base + at).initialize(from: src, count: p.count) }
        }
        at += b.count
    }
}
