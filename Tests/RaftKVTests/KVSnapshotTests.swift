import Testing
import RaftCore
@testable import RaftKV

/// Format 2 written the plain way (every key sorted afresh, ByteWriter): what snapshots were
/// before the key order was kept incrementally. Byte-equal output means old and new snapshots
/// are one format.
func referenceSnapshot(_ m: KVStateMachine) -> [UInt8] {
    var all: [([UInt8], KVEntry)] = []
    m.store.forEach { all.append(($0, $1)) }
    all.sort { kvLess($0.0, $1.0) }
    var w = ByteWriter()
    w.u8(2)
    w.u64(m.lastAppliedTime)
    w.varint(UInt64(all.count))
    for (k, e) in all {
        w.blob(k)
        let flag: UInt8 = e.deadline == noDeadline ? 0 : 0x80
        func tag(_ kind: UInt8) {
            w.u8(kind | flag)
            if flag != 0 { w.u64(e.deadline) }
        }
        switch e.value {
        case .string(let s):
            tag(0)
            w.blob(s)
        case .hash(let h):
            tag(1)
            w.varint(UInt64(h.count))
            for (f, v) in h.sortedPairs { w.blob(f); w.blob(v) }
        case .list(let l):
            tag(2)
            w.varint(UInt64(l.count))
            for i in 0..<l.count { w.blob(l[i]) }
        }
    }
    return w.bytes
}

@Suite struct KVSnapshotTests {
    /// Two replicas with one history, one snapshotting often (its key order is folded at
    /// different points) and one never until the end, and a third restored from a snapshot
    /// half-way: identical bytes, each equal to the plain encoder's, at every comparison.
    @Test func snapshotsAreTheReferenceBytesWhateverTheirHistory() throws {
        let entries = randomEntries(count: 4000, seed: 7)
        let often = KVStateMachine(), never = KVStateMachine()
        var restored: KVStateMachine? = nil
        var compared = 0
        for (i, e) in entries.enumerated() {
            let r = try often.apply(e.encoded, index: LogIndex(i + 1))
            #expect(try never.apply(e.encoded, index: LogIndex(i + 1)) == r)
            if let c = restored { #expect(try c.apply(e.encoded, index: LogIndex(i + 1)) == r) }
            if i % 97 == 0 {
                let s = try often.snapshot()
                #expect(s == referenceSnapshot(often))
                compared += 1
            }
            if i == 2000 {
                let c = KVStateMachine()
                try c.restore(try often.snapshot())
                restored = c
            }
        }
        let final = try never.snapshot()
        #expect(final == referenceSnapshot(never))
        #expect(try often.snapshot() == final)
        #expect(try restored!.snapshot() == final)
        #expect(compared > 40)
        #expect(never.dbSize > 0)
    }

    /// Strings, hashes and lists with and without deadlines survive restore, and a restored
    /// store's order keeps up with later changes.
    @Test func restoreRoundTripsEveryKindAndKeepsOrdering() throws {
        let kv = KV(now: 10_000)
        for i in 0..<300 { kv("SET", "s\(i)", "v\(i)") }
        for i in 0..<300 where i % 7 == 0 { kv("PEXPIRE", "s\(i)", "\(1000 + i)") }
        kv("HSET", "h", "b", "2", "a", "1", "c", "3"); kv("EXPIRE", "h", "50")
        kv("HSET", "h2", "x", "y")
        kv("RPUSH", "l", "1", "2", "3"); kv("LPUSH", "l", "0"); kv("PEXPIREAT", "l", "99999")
        kv("RPUSH", "l2", "only")
        let snap = kv.snapshot()
        let m = KVStateMachine()
        try m.restore(snap)
        #expect(try m.snapshot() == snap)
        #expect(m.store.pendingOrderChanges == 0)
        #expect(m.dbSize == kv.m.dbSize)
        #expect(m.expiringCount == kv.m.expiringCount)
        for (cmd, key) in [("PTTL", "s7"), ("PTTL", "s8"), ("PTTL", "h"), ("PTTL", "l"), ("HGETALL", "h"),
                           ("LRANGE", "l"), ("GET", "s299"), ("HGETALL", "h2"), ("LRANGE", "l2")] {
            var args = [b(cmd), b(key)]
            if cmd == "LRANGE" { args += [b("0"), b("-1")] }
            #expect(m.read(args, nowMs: 10_000) == kv.m.read(args, nowMs: 10_000))
        }
        #expect(m.read([b("LRANGE"), b("l"), b("0"), b("-1")], nowMs: 10_000)
                == .array(["0", "1", "2", "3"].map { .bulk(b($0)) }))
        // Changes after the restore: new keys, removals, a key removed and added again.
        let r = KV(now: 10_001, machine: m)
        r("SET", "a-new", "1"); r("DEL", "s5"); r("DEL", "h2"); r("SET", "h2", "again"); r("SET", "zz", "z")
        let after = try m.snapshot()
        #expect(after == referenceSnapshot(m))
        #expect(m.store.sortedEntries().map(\.key).first == b("a-new"))
    }

    /// A format-1 snapshot is not checked for key order: restoring one sorts on the next snapshot.
    @Test func formatOneRestoreIsSortedOnTheNextSnapshot() throws {
        var v1 = ByteWriter()
        v1.u8(1); v1.varint(3)
        for k in ["y", "a", "m"] { v1.blob(b(k)); v1.blob(b(k + "!")) }
        let m = KVStateMachine()
        try m.restore(v1.bytes)
        let s = try m.snapshot()
        #expect(s == referenceSnapshot(m))
        #expect(m.store.sortedEntries().map(\.key) == [b("a"), b("m"), b("y")])
    }
}

@Suite struct KVKeyOrderTests {
    /// Random adds and removes (keys that tie on 16 bytes, prefixes, zero and 0xff bytes, the
    /// empty key; nodes reused after removals), the order read at random points: always the
    /// live keys in byte order, each once.
    @Test func orderFollowsAddsRemovesAndNodeReuse() {
        var rng = SplitMix(seed: 11)
        let stems: [[UInt8]] = [[], [0], [255], Array("key:000000012345".utf8), Array("key:00000001234".utf8),
                                Array("key:000000012345xyz".utf8), Array(repeating: 255, count: 16)]
        var pool: [[UInt8]] = []
        for s in stems {
            pool.append(s)
            for _ in 0..<60 {
                var k = s
                for _ in 0..<Int(1 + rng.next() % 4) { k.append([0, 1, 127, 128, 255][Int(rng.next() % 5)]) }
                pool.append(k)
            }
        }
        let store = KVStore()
        var live = Set<[UInt8]>()
        var checks = 0
        for step in 0..<20_000 {
            let k = pool[Int(rng.next() % UInt64(pool.count))]
            if let i = store.index(of: k) {
                store.remove(at: i)
                live.remove(k)
            } else {
                store.add(k, .string([UInt8(step & 0xff)]))
                live.insert(k)
            }
            if rng.next() % 150 == 0 {
                #expect(store.sortedEntries().map(\.key) == live.sorted { kvLess($0, $1) })
                #expect(store.pendingOrderChanges == 0)
                checks += 1
            }
        }
        #expect(store.sortedEntries().map(\.key) == live.sorted { kvLess($0, $1) })
        #expect(checks > 50)
    }

    /// With no snapshot ever taken, the changes not yet folded in stay bounded (the store folds
    /// added keys a chunk at a time, and removals once they pile up), and the order stays right
    /// through the folds.
    @Test func unfoldedChangesStayBoundedAndFoldsKeepOrder() {
        let store = KVStore()
        var most = 0
        var live = Set<[UInt8]>()
        for i in 0..<100_000 {
            // 9,000 distinct keys, several chunks, each added and removed many times over.
            let k = b("k\((i &* 7919) % 9000)")
            if let n = store.index(of: k) {
                store.remove(at: n)
                live.remove(k)
            } else {
                store.add(k, .string([1]))
                live.insert(k)
            }
            most = max(most, store.pendingOrderChanges)
            // 5,001 adds so far: one chunk was folded in as it filled.
            if i == 5000 { #expect(store.pendingOrderChanges == 5001 - KVKeyOrder.foldChunk) }
        }
        #expect(most <= (1 << 16) + KVKeyOrder.foldChunk + 1)
        #expect(most >= KVKeyOrder.foldChunk - 1)
        #expect(store.sortedEntries().map(\.key) == live.sorted { kvLess($0, $1) })
    }
}
