import Testing
import RaftCore
@testable import RaftKV

/// Random write entries at leader times that mostly advance (and sometimes step back, as after
/// a leader change to a node whose clock is behind), touching strings, hashes, lists and TTLs.
func randomEntries(count: Int, seed: UInt64, start: UInt64 = 1_700_000_000_000) -> [KVCommand] {
    var rng = SplitMix(seed: seed)
    var t = start
    let keys = (0..<40).map { "k\($0)" } + ["{tag}a", "{tag}b"]
    func key() -> String { keys[Int(rng.next() % UInt64(keys.count))] }
    var out: [KVCommand] = []
    for _ in 0..<count {
        let step = rng.next() % 10
        if step == 0, t > 500 { t -= rng.next() % 500 } else { t += rng.next() % 300 }
        let args: [String]
        switch rng.next() % 16 {
        case 0: args = ["SET", key(), "v\(rng.next() % 100)"]
        case 1: args = ["SET", key(), "v", "PX", String(1 + rng.next() % 3000)]
        case 2: args = ["EXPIRE", key(), String(rng.next() % 4)]
        case 3: args = ["PEXPIRE", key(), String(rng.next() % 2000), ["NX", "XX", "GT", "LT"][Int(rng.next() % 4)]]
        case 4: args = ["INCR", key()]
        case 5: args = ["HSET", key(), "f\(rng.next() % 5)", "x"]
        case 6: args = ["RPUSH", key(), "a", "b"]
        case 7: args = ["LPOP", key()]
        case 8: args = ["DEL", key()]
        case 9: args = ["PERSIST", key()]
        case 10: args = ["APPEND", key(), "z"]
        case 11: args = ["RENAME", key(), key()]
        case 12: args = ["GETEX", key(), "PX", String(1 + rng.next() % 1000)]
        case 13: args = ["INCRBYFLOAT", key(), "0.5"]
        case 14:
            out.append(.expire(nowMs: t, limit: rng.next() % 3))
            continue
        default:
            out.append(.transaction(nowMs: t, commands: [["SET", key(), "m", "PX", "700"], ["INCR", key()], ["TTL", key()]].map { $0.map(b) }))
            continue
        }
        out.append(.exec(nowMs: t, args: args.map(b)))
    }
    return out
}

@Suite struct KVDeterminismTests {
    @Test func replicasWithDifferentClocksEndIdentical() throws {
        let entries = randomEntries(count: 3000, seed: 42)
        let a = KVStateMachine(), skewed = KVStateMachine()
        var restored: KVStateMachine? = nil
        for (i, e) in entries.enumerated() {
            let ra = try a.apply(e.encoded, index: LogIndex(i + 1))
            let rb = try skewed.apply(e.encoded, index: LogIndex(i + 1))
            #expect(ra == rb)
            // skewed's node also serves reads at its own (skewed) clock: reads change nothing.
            _ = skewed.read([b("GET"), b("k1")], nowMs: e.nowMs + 3_600_000)
            _ = skewed.read([b("KEYS"), b("*")], nowMs: e.nowMs + 3_600_000)
            _ = skewed.read([b("SCAN"), b("0")], nowMs: e.nowMs / 2)
            _ = skewed.nextExpiryDeadline()
            if i == 1500 {
                let c = KVStateMachine()
                try c.restore(try a.snapshot())
                restored = c
            } else if let c = restored {
                #expect(try c.apply(e.encoded, index: LogIndex(i + 1)) == ra)
            }
        }
        let snap = try a.snapshot()
        #expect(try skewed.snapshot() == snap)
        #expect(try restored!.snapshot() == snap)
        #expect(a.lastAppliedTime == skewed.lastAppliedTime)
        #expect(a.dbSize > 0)
    }

    @Test func readsJudgeAtTheTimeGiven() {
        let kv = KV(now: 10_000)
        kv("SET", "k", "v", "PX", "1000")
        #expect(kv.m.read([b("GET"), b("k")], nowMs: 10_999) == .bulk("v"))
        #expect(kv.m.read([b("PTTL"), b("k")], nowMs: 10_500) == .int(500))
        #expect(kv.m.read([b("GET"), b("k")], nowMs: 11_000) == .null)
        #expect(kv.m.read([b("TTL"), b("k")], nowMs: 11_000) == .int(-2))
        #expect(kv.m.read([b("EXISTS"), b("k")], nowMs: 20_000) == .int(0))
        #expect(kv.m.read([b("KEYS"), b("*")], nowMs: 20_000) == .empty)
        // Reads remove nothing; a time before lastAppliedTime is judged at lastAppliedTime.
        #expect(kv.m.dbSize == 1)
        #expect(kv.m.read([b("GET"), b("k")], nowMs: 0) == .bulk("v"))
        #expect(kv.m.read([b("DBSIZE")], nowMs: 50_000) == .int(1))
    }

    @Test func writesRemoveExpiredKeysLazily() {
        let kv = KV(now: 10_000)
        kv("SET", "k", "v", "PX", "100")
        kv("HSET", "h", "f", "v")
        kv("PEXPIRE", "h", "100")
        kv.now = 10_100
        kv("SET", "other", "x")
        #expect(kv.m.dbSize == 3)
        // A write meeting an expired key sees it absent (and removes it).
        #expect(kv("APPEND", "k", "new") == .int(3))
        #expect(kv("TTL", "k") == .int(-1))
        #expect(kv("HSET", "h", "g", "w") == .int(1))
        #expect(kv("HGETALL", "h") == .bulks("g", "w"))
        kv("SET", "d", "v", "PX", "1")
        kv.now = 10_101
        #expect(kv("DEL", "d") == .int(0))
        #expect(kv.m.dbSize == 3)
        #expect(kv("SET", "x", "v", "NX") == .ok)
    }

    @Test func sweepRemovesExpiredKeys() {
        let kv = KV(now: 1_000)
        for i in 0..<100 { kv("SET", "k\(i)", "v", "PX", String(100 + i * 10)) }
        kv("SET", "forever", "v")
        #expect(kv.m.nextExpiryDeadline() == 1_100)
        // Re-setting deadlines leaves stale heap elements behind; they must not count.
        for i in 0..<50 { kv("PEXPIRE", "k\(i)", String(100 + i * 10)) }
        #expect(kv.apply(.expire(nowMs: 1_099)) == .int(0))
        #expect(kv.apply(.expire(nowMs: 1_100)) == .int(1))
        #expect(kv.apply(.expire(nowMs: 1_595)) == .int(49))
        #expect(kv.m.dbSize == 51)
        #expect(kv.m.nextExpiryDeadline() == 1_600)
        #expect(kv.apply(.expire(nowMs: 5_000, limit: 10)) == .int(10))
        #expect(kv.m.nextExpiryDeadline() == 1_700)
        #expect(kv("EXISTS", "k59") == .int(0))
        #expect(kv.apply(.expire(nowMs: 5_000)) == .int(40))
        #expect(kv.m.dbSize == 1)
        #expect(kv.m.nextExpiryDeadline() == nil)
        #expect(kv("GET", "forever") == .bulk("v"))
    }

    @Test func limitedSweepsAgreeWhateverTheHeapHistory() throws {
        let a = KV(now: 1_000)
        for i in 0..<60 { a("SET", "k\(i)", "v", "PX", "9000") }
        // Deadlines moved earlier and later, many sharing a value: the heap fills with stale
        // elements, some earlier than the keys' real deadlines.
        for round in 0..<25 {
            for i in 0..<60 { a("PEXPIRE", "k\(i)", String(2000 + (round * 37 + i * 11) % 500)) }
        }
        let restored = KVStateMachine()
        try restored.restore(a.snapshot())
        let bk = KV(now: 1_000, machine: restored)
        var t: UInt64 = 3_000
        while a.m.dbSize > 0 {
            t += 100
            let ra = a.apply(.expire(nowMs: t, limit: 4))
            let rb = bk.apply(.expire(nowMs: t, limit: 4))
            #expect(ra == rb)
            #expect(a.snapshot() == bk.snapshot())
        }
    }

    @Test func timeNeverRunsBackwards() {
        let kv = KV(now: 10_000)
        kv("SET", "k", "v", "PX", "1000")
        #expect(kv.m.lastAppliedTime == 10_000)
        // An entry from a leader whose clock is behind runs at lastAppliedTime.
        #expect(kv.apply(.transaction(nowMs: 5_000, commands: [[b("PTTL"), b("k")]])) == .array([.int(1000)]))
        #expect(kv.m.lastAppliedTime == 10_000)
        #expect(kv.apply(.exec(nowMs: 10_400, args: [b("PTTL"), b("k")])) == .int(600))
        #expect(kv.m.lastAppliedTime == 10_400)
    }

    @Test func ttlsSurviveSnapshotAndRestore() throws {
        let kv = KV(now: 50_000)
        kv("SET", "s", "v", "PX", "1234")
        kv("HSET", "h", "f", "v"); kv("EXPIRE", "h", "100")
        kv("RPUSH", "l", "a", "b"); kv("PEXPIREAT", "l", "99999")
        kv("SET", "p", "forever")
        let snap = kv.snapshot()
        let m = KVStateMachine()
        try m.restore(snap)
        #expect(m.lastAppliedTime == 50_000)
        #expect(try m.snapshot() == snap)
        for key in ["s", "h", "l", "p", "none"] {
            for t: UInt64 in [50_000, 51_233, 51_234, 99_999, 200_000] {
                #expect(m.read([b("PTTL"), b(key)], nowMs: t) == kv.m.read([b("PTTL"), b(key)], nowMs: t))
            }
        }
        #expect(m.read([b("PTTL"), b("s")], nowMs: 50_000) == .int(1234))
        #expect(m.nextExpiryDeadline() == 51_234)
        let r = KV(now: 60_000, machine: m)
        #expect(r.apply(.expire(nowMs: 100_000)) == .int(2))
        #expect(r("TTL", "h") == .int(50))
        #expect(m.keyCount(inSlot: Int(KVStateMachine.keySlot(b("h")))) == 1)
    }

    @Test func snapshotsOfTheSameStateAreByteIdentical() throws {
        let x = KV(), y = KV()
        for i in 0..<200 { x("SET", "k\(i)", "v\(i)") }
        for i in (0..<200).reversed() { y("SET", "k\(i)", "v\(i)") }
        for i in 0..<200 where i % 3 == 0 { y("SET", "k\(i)", "old"); y("SET", "k\(i)", "v\(i)") }
        x("HSET", "h", "a", "1", "b", "2", "c", "3"); x("HDEL", "h", "b")
        y("HSET", "h", "c", "3"); y("HSET", "h", "a", "1")
        x("RPUSH", "l", "1", "2", "3"); y("LPUSH", "l", "3", "2", "1")
        x("SET", "t", "v", "PX", "5000"); y("SET", "t", "v", "EX", "5")
        x("SET", "gone", "v"); x("DEL", "gone")
        #expect(x.snapshot() == y.snapshot())
        let z = KVStateMachine()
        try z.restore(x.snapshot())
        #expect(try z.snapshot() == x.snapshot())
    }

    @Test func restoreRefusesDamagedSnapshots() throws {
        let kv = KV()
        kv("SET", "a", "1", "EX", "10"); kv("HSET", "h", "f", "v"); kv("RPUSH", "l", "x")
        let snap = kv.snapshot()
        let m = KVStateMachine()
        try m.restore(snap)
        for n in 0..<snap.count {
            #expect(throws: (any Error).self) { try m.restore(Array(snap.prefix(n))) }
        }
        #expect(throws: (any Error).self) { try m.restore(snap + [0]) }
        var badVersion = snap; badVersion[0] = 9
        #expect(throws: (any Error).self) { try m.restore(badVersion) }
        // Nothing was replaced by the failed restores.
        #expect(try m.snapshot() == snap)
        // Keys out of order.
        var w = ByteWriter()
        w.u8(2); w.u64(0); w.varint(2)
        w.blob(b("b")); w.u8(0); w.blob(b("1"))
        w.blob(b("a")); w.u8(0); w.blob(b("2"))
        #expect(throws: (any Error).self) { try m.restore(w.bytes) }
        // Format 1 (before TTLs): strings only.
        var v1 = ByteWriter()
        v1.u8(1); v1.varint(2)
        v1.blob(b("x")); v1.blob(b("1"))
        v1.blob(b("y")); v1.blob(b("2"))
        try m.restore(v1.bytes)
        #expect(m.get(b("x")) == b("1"))
        #expect(m.dbSize == 2)
        #expect(m.lastAppliedTime == 0)
    }

    @Test func commandCodecRoundTripsAndRefusesGarbage() throws {
        let cmds: [KVCommand] = [
            .exec(nowMs: 1_700_000_000_123, args: [b("SET"), b("k"), [0, 13, 10, 255]]),
            .exec(nowMs: 0, args: []),
            .transaction(nowMs: 5, commands: [[b("INCR"), b("a")], [b("GET"), b("a")]]),
            .transaction(nowMs: 5, commands: []),
            .expire(nowMs: UInt64.max),
            .expire(nowMs: 7, limit: 100),
        ]
        for c in cmds {
            #expect(try KVCommand(decoding: c.encoded) == c)
            let e = c.encoded
            for n in 0..<e.count {
                #expect(throws: (any Error).self) { _ = try KVCommand(decoding: Array(e.prefix(n))) }
            }
            #expect(throws: (any Error).self) { _ = try KVCommand(decoding: e + [1]) }
        }
        var rng = SplitMix(seed: 3)
        for _ in 0..<2000 {
            let junk = (0..<(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? KVCommand(decoding: [0x81] + junk)
        }
    }

    @Test func legacyEncodingsStillDecode() throws {
        var w = ByteWriter()
        w.u8(1); w.blob(b("k")); w.blob(b("v"))
        #expect(try KVCommand(decoding: w.bytes) == .exec(nowMs: 0, args: [b("SET"), b("k"), b("v")]))
        var d = ByteWriter()
        d.u8(2); d.varint(2); d.blob(b("a")); d.blob(b("b"))
        #expect(try KVCommand(decoding: d.bytes) == .exec(nowMs: 0, args: [b("DEL"), b("a"), b("b")]))
        var i = ByteWriter()
        i.u8(3); i.blob(b("n")); i.u64(UInt64(bitPattern: -5))
        #expect(try KVCommand(decoding: i.bytes) == .exec(nowMs: 0, args: [b("INCRBY"), b("n"), b("-5")]))
        #expect(KVCommand.set(key: b("k"), value: b("v")) == .exec(nowMs: 0, args: [b("SET"), b("k"), b("v")]))
        let kv = KV(now: 100)
        kv("SET", "t", "x", "PX", "50")
        #expect(kv.apply(.incrementBy(key: b("n"), delta: 41)) == .int(41))
        #expect(kv.m.lastAppliedTime == 100)
    }

    @Test func undecodableEntriesAreAnsweredNotApplied() throws {
        let kv = KV(now: 100)
        kv("SET", "k", "v")
        let before = kv.snapshot()
        let reply = try kv.m.apply([0x81, 9, 0], index: 99)
        guard case .error(let e)? = parseReply(reply) else { Issue.record("no error reply"); return }
        #expect(e.hasPrefix("ERR undecodable command"))
        #expect(try kv.m.apply([], index: 100).first == UInt8(ascii: "-"))
        #expect(kv.snapshot() == before)
        // Unknown commands and bad arity in an entry are answered too, and change nothing.
        #expect(kv.apply(.exec(nowMs: 200, args: [b("NOPE")])) == .error("ERR unknown command 'NOPE', with args beginning with: "))
        #expect(kv.apply(.exec(nowMs: 200, args: [b("SET"), b("x")])) == .error("ERR wrong number of arguments for 'set' command"))
        #expect(kv.apply(.exec(nowMs: 200, args: [])) == .error("ERR empty command"))
        #expect(kv("DBSIZE") == .int(1))
    }
}
