import Testing
@testable import RaftKV

@Suite struct KVScanTests {
    func scanAll(_ kv: KV, count: Int?, extra: [String] = [], between: ((Int) -> Void)? = nil) -> [String] {
        var cursor = "0"
        var seen: [String] = []
        var calls = 0
        repeat {
            var args = ["SCAN", cursor] + extra
            if let count { args += ["COUNT", String(count)] }
            guard case .array(let parts?) = kv.callBytes(args.map(b)), parts.count == 2,
                  let next = parts[0].text, case .array(let keys?) = parts[1] else {
                Issue.record("bad SCAN reply"); return seen
            }
            seen += keys.compactMap { $0.text }
            cursor = next
            calls += 1
            between?(calls)
        } while cursor != "0" && calls < 100_000
        return seen
    }

    @Test func everyKeyExactlyOnceAcrossCursors() {
        let kv = KV()
        var all: Set<String> = []
        for i in 0..<3000 { kv("SET", "key:\(i)", "v"); all.insert("key:\(i)") }
        for i in 0..<50 { kv("SET", "{same}\(i)", "v"); all.insert("{same}\(i)") }
        for count in [1, 7, 10, 100, 100_000] {
            let seen = scanAll(kv, count: count)
            #expect(seen.count == all.count, "COUNT \(count)")
            #expect(Set(seen) == all, "COUNT \(count)")
        }
        #expect(scanAll(kv, count: nil).count == all.count)
    }

    @Test func keysPresentThroughoutAreSeenOnceDespiteChanges() {
        let kv = KV()
        var stable: Set<String> = []
        for i in 0..<2000 { kv("SET", "s\(i)", "v"); stable.insert("s\(i)") }
        for i in 0..<500 { kv("SET", "t\(i)", "v") }
        var added = 0
        let seen = scanAll(kv, count: 20) { call in
            // Between calls: remove and add other keys, and grow the table.
            kv("DEL", "t\(call)")
            for _ in 0..<5 { kv("SET", "new\(added)", "v"); added += 1 }
        }
        let seenStable = seen.filter { $0.hasPrefix("s") }
        #expect(seenStable.count == stable.count)
        #expect(Set(seenStable) == stable)
        #expect(Set(seen).count == seen.count)
    }

    @Test func matchTypeAndExpiry() {
        let kv = KV(now: 1_000)
        kv("MSET", "k1", "1", "k2", "2", "k10", "10", "user:1", "a")
        kv("RPUSH", "list1", "a")
        kv("HSET", "hash1", "f", "v")
        kv("SET", "gone", "v", "PX", "5")
        kv.now = 2_000
        #expect(Set(scanAll(kv, count: 1000)) == ["k1", "k2", "k10", "user:1", "list1", "hash1"])
        #expect(Set(scanAll(kv, count: 1000, extra: ["MATCH", "k*"])) == ["k1", "k2", "k10"])
        #expect(scanAll(kv, count: 1000, extra: ["TYPE", "list"]) == ["list1"])
        #expect(scanAll(kv, count: 1000, extra: ["type", "HASH"]) == ["hash1"])
        #expect(Set(scanAll(kv, count: 1000, extra: ["TYPE", "string", "MATCH", "*1*"])) == ["k1", "k10", "user:1"])
        #expect(scanAll(kv, count: 1000, extra: ["TYPE", "foo"]) == [])
        #expect(kv("SCAN", "0", "COUNT", "0") == .syntax)
        #expect(kv("SCAN", "0", "COUNT", "x") == .notInteger)
        #expect(kv("SCAN", "0", "MATCH") == .syntax)
        #expect(kv("SCAN", "0", "FOO", "bar") == .syntax)
        #expect(kv("SCAN", "x") == .error("ERR invalid cursor"))
        #expect(kv("SCAN", "99999999999999999999") == .error("ERR invalid cursor"))
        #expect(kv("SCAN", "18446744073709551615") == .array([.bulk("0"), .empty]))
    }

    @Test func keySlots() {
        #expect(KVStateMachine.keySlot(b("foo")) == 12182)
        #expect(KVStateMachine.keySlot(b("bar")) == 5061)
        #expect(KVStateMachine.keySlot(b("somekey")) == 11058)
        #expect(KVStateMachine.keySlot(b("foo{hash_tag}")) == 2515)
        #expect(KVStateMachine.keySlot(b("{user1000}.following")) == KVStateMachine.keySlot(b("{user1000}.followers")))
        #expect(KVStateMachine.keySlot(b("{user1000}.following")) == KVStateMachine.keySlot(b("user1000")))
        // An empty tag hashes the whole key; only the first {...} counts.
        #expect(KVStateMachine.keySlot(b("foo{}{bar}")) == bitwiseCRC16(b("foo{}{bar}")) % 16384)
        #expect(KVStateMachine.keySlot(b("foo{{bar}}zap")) == KVStateMachine.keySlot(b("{bar")))
        #expect(KVStateMachine.keySlot(b("foo{bar}{zap}")) == KVStateMachine.keySlot(b("bar")))
        #expect(KVStateMachine.keySlot([]) == 0)
        for k in ["a", "hello", "user:1000", "\u{1}\u{ff}"] {
            #expect(KVStateMachine.keySlot(b(k)) == bitwiseCRC16(b(k)) % 16384)
        }
        let m = KVStateMachine()
        #expect(m.keySlot(b("foo")) == 12182)
    }

    @Test func keysPerSlot() {
        let kv = KV()
        for i in 0..<20 { kv("SET", "{u}\(i)", "v") }
        kv("SET", "foo", "v")
        let slot = Int(KVStateMachine.keySlot(b("u")))
        #expect(kv.m.keyCount(inSlot: slot) == 20)
        #expect(kv.m.keyCount(inSlot: 12182) == 1)
        #expect(kv.m.keyCount(inSlot: 16384) == 0)
        #expect(kv.m.keys(inSlot: slot, count: 3) == [b("{u}0"), b("{u}1"), b("{u}10")])
        kv("DEL", "{u}0", "{u}1")
        #expect(kv.m.keyCount(inSlot: slot) == 18)
        kv("FLUSHALL")
        #expect(kv.m.keyCount(inSlot: slot) == 0)
    }
}

/// CRC16-XMODEM one bit at a time: a reference for the table-driven one.
func bitwiseCRC16(_ bytes: [UInt8]) -> UInt16 {
    var crc: UInt16 = 0
    for byte in bytes {
        crc ^= UInt16(byte) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
    }
    return crc
}

@Suite struct KVGlobTests {
    // Each case checked with KEYS against redis-server 7.0.15 (one key stored, the pattern).
    static let cases: [(String, String, Bool)] = [
        ("*", "abc", true), ("a*", "a", true), ("a*", "abc", true), ("*c", "abc", true), ("a*c", "ac", true),
        ("a*c", "abxc", true), ("a*c", "abcd", false), ("?", "a", true), ("?", "", false), ("??", "a", false),
        ("a?c", "abc", true), ("a?c", "ac", false), ("[abc]", "b", true), ("[abc]", "d", false), ("[^abc]", "d", true),
        ("[^abc]", "a", false), ("[a-c]x", "bx", true), ("[c-a]x", "bx", true), ("[a-c]", "d", false), ("\\*", "*", true),
        ("\\*", "a", false), ("a\\", "a\\", true), ("a\\", "a", false), ("[\\]]", "]", true), ("[\\-]", "-", true),
        ("[a-]", "-", false), ("[a-]", "]", true), ("[abc", "a", true), ("[abc", "b", true), ("[", "[", false),
        ("[", "a", false), ("[]", "]", false), ("h*llo", "heeello", true), ("h*llo", "hllo", true),
        ("user:*:name", "user:1000:name", true), ("user:*:name", "user:1000:email", false), ("**", "", false),
        ("**a", "ba", true), ("*?*", "x", true), ("*a*b*c*", "xaybzc", true), ("*a*b*c*", "xaybz", false),
        ("a*b*", "ab", true), ("[!a]", "!", true), ("[!a]", "b", false), ("[a-z0-9]", "5", true), ("\\a", "a", true),
        ("[\\", "\\", true),
    ]

    @Test func redisGlobSemantics() {
        for (p, s, want) in Self.cases {
            #expect(KVGlob.matches(b(p), b(s)) == want, "\(p) ~ \(s)")
        }
        // The glob itself does not let * match an empty string (KEYS/SCAN special-case "*").
        #expect(!KVGlob.matches(b("*"), []))
    }

    @Test func manyStarsStayFast() {
        let pattern = b(String(repeating: "a*", count: 30) + "b")
        let subject = b(String(repeating: "a", count: 200))
        #expect(!KVGlob.matches(pattern, subject))
    }
}
