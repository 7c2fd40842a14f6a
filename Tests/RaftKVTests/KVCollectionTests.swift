import Testing
@testable import RaftKV

@Suite struct KVHashTests {
    @Test func setGetDel() {
        let kv = KV()
        #expect(kv("HSET", "h", "f1", "v1") == .int(1))
        #expect(kv("HSET", "h", "f1", "v1b", "f2", "v2", "f3", "v3") == .int(2))
        #expect(kv("HGET", "h", "f1") == .bulk("v1b"))
        #expect(kv("HGET", "h", "nof") == .null)
        #expect(kv("HGET", "none", "f") == .null)
        #expect(kv("HMGET", "h", "f1", "nof", "f2") == .array([.bulk("v1b"), .null, .bulk("v2")]))
        #expect(kv("HMGET", "none", "a", "b") == .array([.null, .null]))
        #expect(kv("HGETALL", "h") == .bulks("f1", "v1b", "f2", "v2", "f3", "v3"))
        #expect(kv("HGETALL", "none") == .empty)
        #expect(kv("HKEYS", "h") == .bulks("f1", "f2", "f3"))
        #expect(kv("HVALS", "h") == .bulks("v1b", "v2", "v3"))
        #expect(kv("HKEYS", "none") == .empty)
        #expect(kv("HLEN", "h") == .int(3))
        #expect(kv("HLEN", "none") == .int(0))
        #expect(kv("HEXISTS", "h", "f1") == .int(1))
        #expect(kv("HEXISTS", "h", "nof") == .int(0))
        #expect(kv("HSTRLEN", "h", "f1") == .int(3))
        #expect(kv("HSTRLEN", "h", "nof") == .int(0))
        #expect(kv("HSETNX", "h", "f1", "x") == .int(0))
        #expect(kv("HSETNX", "h", "f4", "v4") == .int(1))
        #expect(kv("HGET", "h", "f4") == .bulk("v4"))
        #expect(kv("HDEL", "h", "f1", "f2", "nof") == .int(2))
        #expect(kv("HDEL", "none", "f") == .int(0))
        #expect(kv("HDEL", "h", "f3", "f4") == .int(2))
        // An emptied hash is deleted.
        #expect(kv("EXISTS", "h") == .int(0))
        #expect(kv("HMSET", "m", "a", "1", "b", "2") == .ok)
        #expect(kv("HMSET", "m", "a") == .error("ERR wrong number of arguments for 'hmset' command"))
        #expect(kv("HSET", "m", "a") == .error("ERR wrong number of arguments for 'hset' command"))
        #expect(kv("HGETALL", "m") == .bulks("a", "1", "b", "2"))
    }

    @Test func fieldsAreListedInByteOrder() {
        let kv = KV()
        kv("HSET", "h", "zeta", "1", "alpha", "2", "mid", "3")
        #expect(kv("HKEYS", "h") == .bulks("alpha", "mid", "zeta"))
        #expect(kv("HVALS", "h") == .bulks("2", "3", "1"))
    }

    @Test func increments() {
        let kv = KV()
        #expect(kv("HINCRBY", "h", "c", "5") == .int(5))
        #expect(kv("HINCRBY", "h", "c", "-10") == .int(-5))
        #expect(kv("HINCRBY", "h", "c", "x") == .notInteger)
        #expect(kv("HINCRBY", "none", "c", "x") == .notInteger)
        kv("HSET", "h", "s", "abc", "big", "9223372036854775807")
        #expect(kv("HINCRBY", "h", "s", "1") == .error("ERR hash value is not an integer"))
        #expect(kv("HINCRBY", "h", "big", "1") == .error("ERR increment or decrement would overflow"))
        #expect(kv("HINCRBYFLOAT", "h", "fl", "1.5") == .bulk("1.5"))
        #expect(kv("HINCRBYFLOAT", "h", "fl", "0.1") == .bulk("1.6"))
        #expect(kv("HINCRBYFLOAT", "h", "c", "2.5") == .bulk("-2.5"))
        #expect(kv("HINCRBYFLOAT", "h", "s", "1") == .error("ERR hash value is not a float"))
        #expect(kv("HINCRBYFLOAT", "h", "fl", "abc") == .notFloat)
        #expect(kv("HINCRBYFLOAT", "h", "fl", "inf") == .error("ERR value is NaN or Infinity"))
        #expect(kv("HINCRBYFLOAT", "new", "f", "2") == .bulk("2"))
        #expect(kv("HGET", "h", "fl") == .bulk("1.6"))
    }
}

@Suite struct KVListTests {
    @Test func pushRangeIndex() {
        let kv = KV()
        #expect(kv("RPUSH", "l", "a", "b", "c") == .int(3))
        #expect(kv("LPUSH", "l", "z", "y") == .int(5))
        #expect(kv("LRANGE", "l", "0", "-1") == .bulks("y", "z", "a", "b", "c"))
        #expect(kv("LLEN", "l") == .int(5))
        #expect(kv("LLEN", "none") == .int(0))
        #expect(kv("LINDEX", "l", "0") == .bulk("y"))
        #expect(kv("LINDEX", "l", "-1") == .bulk("c"))
        #expect(kv("LINDEX", "l", "100") == .null)
        #expect(kv("LINDEX", "l", "-100") == .null)
        #expect(kv("LINDEX", "l", "x") == .notInteger)
        #expect(kv("LINDEX", "none", "x") == .null)
        #expect(kv("LRANGE", "l", "1", "2") == .bulks("z", "a"))
        #expect(kv("LRANGE", "l", "-2", "-1") == .bulks("b", "c"))
        #expect(kv("LRANGE", "l", "5", "10") == .empty)
        #expect(kv("LRANGE", "l", "-100", "100") == .bulks("y", "z", "a", "b", "c"))
        #expect(kv("LRANGE", "l", "3", "1") == .empty)
        #expect(kv("LRANGE", "l", "x", "1") == .notInteger)
        #expect(kv("LRANGE", "none", "0", "-1") == .empty)
        #expect(kv("LPUSHX", "none", "a") == .int(0))
        #expect(kv("RPUSHX", "none", "a") == .int(0))
        #expect(kv("EXISTS", "none") == .int(0))
        #expect(kv("LPUSHX", "l", "x") == .int(6))
        #expect(kv("RPUSHX", "l", "d", "e") == .int(8))
    }

    @Test func pops() {
        let kv = KV()
        kv("RPUSH", "l", "a", "b", "c", "d", "e")
        #expect(kv("LPOP", "l") == .bulk("a"))
        #expect(kv("RPOP", "l") == .bulk("e"))
        #expect(kv("LPOP", "l", "2") == .bulks("b", "c"))
        #expect(kv("LPOP", "l", "0") == .empty)
        #expect(kv("LPOP", "l", "-1") == .error("ERR value is out of range, must be positive"))
        #expect(kv("LPOP", "l", "x") == .error("ERR value is out of range, must be positive"))
        #expect(kv("RPOP", "l", "10") == .bulks("d"))
        #expect(kv("EXISTS", "l") == .int(0))
        #expect(kv("LPOP", "l") == .null)
        #expect(kv("LPOP", "l", "1") == .array(nil))
        #expect(kv("RPOP", "none", "0") == .array(nil))
    }

    @Test func setAndTrim() {
        let kv = KV()
        kv("RPUSH", "l", "a", "b", "c", "d")
        #expect(kv("LSET", "l", "0", "X") == .ok)
        #expect(kv("LSET", "l", "-1", "Y") == .ok)
        #expect(kv("LSET", "l", "10", "x") == .error("ERR index out of range"))
        #expect(kv("LSET", "l", "x", "x") == .notInteger)
        #expect(kv("LSET", "none", "0", "x") == .error("ERR no such key"))
        #expect(kv("LRANGE", "l", "0", "-1") == .bulks("X", "b", "c", "Y"))
        #expect(kv("LTRIM", "l", "1", "-2") == .ok)
        #expect(kv("LRANGE", "l", "0", "-1") == .bulks("b", "c"))
        #expect(kv("LTRIM", "l", "5", "10") == .ok)
        #expect(kv("EXISTS", "l") == .int(0))
        #expect(kv("LTRIM", "none", "0", "x") == .notInteger)
        #expect(kv("LTRIM", "none", "0", "1") == .ok)
    }

    @Test func ringBufferAgainstArray() {
        // Pushes and pops at both ends, through growth and shrinking, against a plain array.
        let kv = KV()
        var model: [String] = []
        var rng = SplitMix(seed: 7)
        for step in 0..<4000 {
            let v = String(step)
            switch rng.next() % 5 {
            case 0: kv("LPUSH", "l", v); model.insert(v, at: 0)
            case 1, 2: kv("RPUSH", "l", v); model.append(v)
            case 3: #expect(kv("LPOP", "l") == (model.isEmpty ? .null : .bulk(model.removeFirst())))
            default:
                let n = Int(rng.next() % 4)
                let got = kv("RPOP", "l", String(n))
                if model.isEmpty { #expect(got == .array(nil)); continue }
                var want: [RESPValue] = []
                for _ in 0..<min(n, model.count) { want.append(.bulk(model.removeLast())) }
                #expect(got == .array(want))
            }
            if step % 500 == 0 {
                #expect(kv("LRANGE", "l", "0", "-1") == .array(model.map { .bulk($0) }))
            }
        }
        #expect(kv("LLEN", "l") == .int(Int64(model.count)))
        #expect(kv("LRANGE", "l", "0", "-1") == .array(model.map { .bulk($0) }))
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
