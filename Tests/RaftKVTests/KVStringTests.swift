import Testing
@testable import RaftKV

// Expected replies were checked against redis-server 7.0.15.

@Suite struct KVStringTests {
    @Test func getAndSet() {
        let kv = KV()
        #expect(kv("GET", "k") == .null)
        #expect(kv("SET", "k", "v") == .ok)
        #expect(kv("get", "k") == .bulk("v"))
        #expect(kv("SET", "k", "") == .ok)
        #expect(kv("GET", "k") == .bulk(""))
        // SET overwrites any type.
        kv("RPUSH", "l", "x")
        #expect(kv("SET", "l", "s") == .ok)
        #expect(kv("TYPE", "l") == .simple("string"))
    }

    @Test func setNXXXGet() {
        let kv = KV()
        #expect(kv("SET", "k", "v1", "XX") == .null)
        #expect(kv("GET", "k") == .null)
        #expect(kv("SET", "k", "v1", "NX") == .ok)
        #expect(kv("SET", "k", "v2", "NX") == .null)
        #expect(kv("SET", "k", "v3", "xx") == .ok)
        #expect(kv("GET", "k") == .bulk("v3"))
        #expect(kv("SET", "k", "v4", "GET") == .bulk("v3"))
        #expect(kv("SET", "new", "v", "GET") == .null)
        #expect(kv("SET", "k", "v5", "NX", "GET") == .bulk("v4"))
        #expect(kv("GET", "k") == .bulk("v4"))
        #expect(kv("SET", "none", "v", "XX", "GET") == .null)
        #expect(kv("EXISTS", "none") == .int(0))
        kv("HSET", "h", "f", "v")
        #expect(kv("SET", "h", "v", "GET") == .wrongType)
        #expect(kv("TYPE", "h") == .simple("hash"))
    }

    @Test func setExpiryOptions() {
        let kv = KV()
        #expect(kv("SET", "k", "v", "EX", "100") == .ok)
        #expect(kv("TTL", "k") == .int(100))
        #expect(kv("SET", "k", "v", "PX", "1500") == .ok)
        #expect(kv("PTTL", "k") == .int(1500))
        #expect(kv("TTL", "k") == .int(2))
        #expect(kv("SET", "k", "v", "KEEPTTL") == .ok)
        #expect(kv("PTTL", "k") == .int(1500))
        #expect(kv("SET", "k", "v") == .ok)
        #expect(kv("TTL", "k") == .int(-1))
        let at = (kv.now / 1000) + 50
        #expect(kv("SET", "k", "v", "EXAT", String(at)) == .ok)
        #expect(kv("EXPIRETIME", "k") == .int(Int64(at)))
        #expect(kv("SET", "k", "v", "PXAT", String(kv.now + 777)) == .ok)
        #expect(kv("PTTL", "k") == .int(777))
        #expect(kv("PEXPIRETIME", "k") == .int(Int64(kv.now + 777)))
        // The last of a repeated time option wins, as in Redis.
        #expect(kv("SET", "k", "v", "EX", "10", "EX", "20") == .ok)
        #expect(kv("TTL", "k") == .int(20))
        // A deadline already past: the key is gone at once.
        #expect(kv("SET", "k", "v", "PXAT", "1000") == .ok)
        #expect(kv("EXISTS", "k") == .int(0))
        #expect(kv("SET", "k", "v", "EX", "100", "GET") == .null)
        #expect(kv("TTL", "k") == .int(100))
    }

    @Test func setOptionErrors() {
        let kv = KV()
        for opts in [["EX", "10", "PX", "10"], ["EX", "10", "KEEPTTL"], ["KEEPTTL", "EX", "10"], ["NX", "XX"],
                     ["XX", "NX"], ["EX"], ["FOO"], ["PERSIST"], ["PX"]] {
            #expect(kv.callBytes([b("SET"), b("k"), b("v")] + opts.map(b)) == .syntax, "\(opts)")
        }
        #expect(kv("SET", "k", "v", "EX", "abc") == .notInteger)
        #expect(kv("SET", "k", "v", "EX", "0") == .error("ERR invalid expire time in 'set' command"))
        #expect(kv("SET", "k", "v", "EX", "-1") == .error("ERR invalid expire time in 'set' command"))
        #expect(kv("SET", "k", "v", "PXAT", "0") == .error("ERR invalid expire time in 'set' command"))
        #expect(kv("SET", "k", "v", "EX", "9223372036854775807") == .error("ERR invalid expire time in 'set' command"))
        #expect(kv("SET", "k", "v", "PX", "9223372036854775807") == .error("ERR invalid expire time in 'set' command"))
        #expect(kv("SET", "k", "v", "EXAT", "9223372036854776") == .error("ERR invalid expire time in 'set' command"))
        #expect(kv("SET", "k", "v", "PXAT", "9223372036854775807") == .ok)
        #expect(kv("SET", "k") == .error("ERR wrong number of arguments for 'set' command"))
        #expect(kv("DBSIZE") == .int(1))
    }

    @Test func setnxSetexPsetexGetsetGetdel() {
        let kv = KV()
        #expect(kv("SETNX", "k", "a") == .int(1))
        #expect(kv("SETNX", "k", "b") == .int(0))
        #expect(kv("GET", "k") == .bulk("a"))
        #expect(kv("SETEX", "e", "100", "v") == .ok)
        #expect(kv("TTL", "e") == .int(100))
        #expect(kv("SETEX", "e", "0", "v") == .error("ERR invalid expire time in 'setex' command"))
        #expect(kv("SETEX", "e", "x", "v") == .notInteger)
        #expect(kv("PSETEX", "p", "2500", "v") == .ok)
        #expect(kv("PTTL", "p") == .int(2500))
        #expect(kv("PSETEX", "p", "-5", "v") == .error("ERR invalid expire time in 'psetex' command"))
        #expect(kv("GETSET", "g", "1") == .null)
        #expect(kv("GETSET", "g", "2") == .bulk("1"))
        kv("SET", "g", "2", "EX", "100")
        #expect(kv("GETSET", "g", "3") == .bulk("2"))
        #expect(kv("TTL", "g") == .int(-1))
        #expect(kv("GETDEL", "g") == .bulk("3"))
        #expect(kv("GETDEL", "g") == .null)
        kv("LPUSH", "l", "x")
        #expect(kv("GETSET", "l", "x") == .wrongType)
        #expect(kv("GETDEL", "l") == .wrongType)
    }

    @Test func getex() {
        let kv = KV()
        kv("SET", "k", "v")
        #expect(kv("GETEX", "k") == .bulk("v"))
        #expect(kv("TTL", "k") == .int(-1))
        #expect(kv("GETEX", "k", "EX", "100") == .bulk("v"))
        #expect(kv("TTL", "k") == .int(100))
        #expect(kv("GETEX", "k", "PERSIST") == .bulk("v"))
        #expect(kv("TTL", "k") == .int(-1))
        #expect(kv("GETEX", "k", "PX", "50000") == .bulk("v"))
        #expect(kv("PTTL", "k") == .int(50000))
        #expect(kv("GETEX", "k", "PXAT", "100") == .bulk("v"))
        #expect(kv("EXISTS", "k") == .int(0))
        kv("SET", "k", "v")
        #expect(kv("GETEX", "k", "FOO") == .syntax)
        #expect(kv("GETEX", "k", "KEEPTTL") == .syntax)
        #expect(kv("GETEX", "k", "PERSIST", "EX", "10") == .syntax)
        #expect(kv("GETEX", "k", "EX", "0") == .error("ERR invalid expire time in 'getex' command"))
        #expect(kv("GETEX", "nokey", "EX", "0") == .null)
        #expect(kv("GETEX", "nokey", "FOO") == .syntax)
        kv("HSET", "h", "f", "v")
        #expect(kv("GETEX", "h") == .wrongType)
    }

    @Test func appendStrlenRanges() {
        let kv = KV()
        #expect(kv("APPEND", "a", "hello") == .int(5))
        #expect(kv("APPEND", "a", " world") == .int(11))
        #expect(kv("GET", "a") == .bulk("hello world"))
        #expect(kv("STRLEN", "a") == .int(11))
        #expect(kv("STRLEN", "none") == .int(0))
        kv("SET", "s", "Hello World")
        #expect(kv("GETRANGE", "s", "0", "4") == .bulk("Hello"))
        #expect(kv("GETRANGE", "s", "-5", "-1") == .bulk("World"))
        #expect(kv("GETRANGE", "s", "0", "-1") == .bulk("Hello World"))
        #expect(kv("GETRANGE", "s", "5", "2") == .bulk(""))
        #expect(kv("GETRANGE", "s", "-1", "-5") == .bulk(""))
        #expect(kv("GETRANGE", "s", "-100", "100") == .bulk("Hello World"))
        #expect(kv("GETRANGE", "s", "100", "200") == .bulk(""))
        #expect(kv("GETRANGE", "none", "0", "10") == .bulk(""))
        #expect(kv("GETRANGE", "s", "a", "b") == .notInteger)
        #expect(kv("SUBSTR", "s", "0", "3") == .bulk("Hell"))
        #expect(kv("SETRANGE", "r", "5", "hi") == .int(7))
        #expect(kv("GET", "r") == .bulk([0, 0, 0, 0, 0] + b("hi")))
        #expect(kv("SETRANGE", "r", "0", "HELLO") == .int(7))
        #expect(kv("GET", "r") == .bulk("HELLOhi"))
        #expect(kv("SETRANGE", "r", "100", "") == .int(7))
        #expect(kv("SETRANGE", "none", "5", "") == .int(0))
        #expect(kv("EXISTS", "none") == .int(0))
        #expect(kv("SETRANGE", "r", "-1", "x") == .error("ERR offset is out of range"))
        #expect(kv("SETRANGE", "r", "536870912", "x") == .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
        kv("RPUSH", "l", "x")
        #expect(kv("APPEND", "l", "x") == .wrongType)
        #expect(kv("STRLEN", "l") == .wrongType)
        #expect(kv("GETRANGE", "l", "0", "1") == .wrongType)
        #expect(kv("SETRANGE", "l", "0", "x") == .wrongType)
    }

    @Test func appendKeepsTTL() {
        let kv = KV()
        kv("SET", "k", "a", "EX", "100")
        kv("APPEND", "k", "b")
        kv("SETRANGE", "k", "0", "c")
        kv("INCRBY", "n", "1")
        #expect(kv("TTL", "k") == .int(100))
        #expect(kv("GET", "k") == .bulk("cb"))
    }

    @Test func mgetMsetMsetnx() {
        let kv = KV()
        #expect(kv("MSET", "a", "1", "b", "2", "c", "3") == .ok)
        kv("RPUSH", "l", "x")
        #expect(kv("MGET", "a", "b", "c", "none", "l") == .array([.bulk("1"), .bulk("2"), .bulk("3"), .null, .null]))
        #expect(kv("MSET", "a") == .error("ERR wrong number of arguments for 'mset' command"))
        #expect(kv("MSET", "a", "1", "b") == .error("ERR wrong number of arguments for 'mset' command"))
        #expect(kv("MSETNX", "a", "9", "z", "9") == .int(0))
        #expect(kv("GET", "z") == .null)
        #expect(kv("MSETNX", "y", "1", "z", "2") == .int(1))
        #expect(kv("MGET", "y", "z") == .bulks("1", "2"))
        #expect(kv("MSETNX", "x", "1", "x", "2") == .int(1))
        #expect(kv("GET", "x") == .bulk("2"))
        kv("SET", "t", "v", "EX", "10")
        kv("MSET", "t", "w")
        #expect(kv("TTL", "t") == .int(-1))
    }

    @Test func integers() {
        let kv = KV()
        kv("SET", "n", "10")
        #expect(kv("INCR", "n") == .int(11))
        #expect(kv("DECR", "n") == .int(10))
        #expect(kv("INCRBY", "n", "5") == .int(15))
        #expect(kv("DECRBY", "n", "3") == .int(12))
        #expect(kv("INCRBY", "n", "-20") == .int(-8))
        #expect(kv("GET", "n") == .bulk("-8"))
        #expect(kv("INCR", "new") == .int(1))
        #expect(kv("DECR", "new2") == .int(-1))
        #expect(kv("INCRBY", "n", "x") == .notInteger)
        #expect(kv("INCRBY", "n", "1.5") == .notInteger)
        kv("SET", "n", "9223372036854775807")
        #expect(kv("INCR", "n") == .error("ERR increment or decrement would overflow"))
        kv("SET", "n", "-9223372036854775808")
        #expect(kv("DECR", "n") == .error("ERR increment or decrement would overflow"))
        #expect(kv("DECRBY", "n", "-9223372036854775808") == .error("ERR decrement would overflow"))
        // Redis's string2ll: no spaces, no '+', no leading zeros, no "-0", within 64 bits.
        for bad in ["abc", " 1", "1 ", "+1", "007", "-0", "1.0", "12345678901234567890", ""] {
            kv("SET", "n", bad)
            #expect(kv("INCR", "n") == .notInteger, "\(bad)")
        }
        kv("LPUSH", "l", "x")
        #expect(kv("INCR", "l") == .wrongType)
    }

    @Test func incrByFloat() {
        let kv = KV()
        kv("SET", "f", "10.5")
        #expect(kv("INCRBYFLOAT", "f", "0.1") == .bulk("10.6"))
        #expect(kv("INCRBYFLOAT", "f", "-5") == .bulk("5.6"))
        #expect(kv("GET", "f") == .bulk("5.6"))
        #expect(kv("INCRBYFLOAT", "n", "3.0") == .bulk("3"))
        #expect(kv("INCRBYFLOAT", "n", "1e-5") == .bulk("3.00001"))
        #expect(kv("INCRBYFLOAT", "z", "-0.0") == .bulk("0"))
        #expect(kv("INCRBYFLOAT", "big", "1e20") == .bulk("100000000000000000000"))
        #expect(kv("INCRBYFLOAT", "s", "0.1") == .bulk("0.1"))
        #expect(kv("INCRBYFLOAT", "s", "0.2") == .bulk("0.3"))
        #expect(kv("INCRBYFLOAT", "tiny", "1e-18") == .bulk("0"))
        #expect(kv("INCRBYFLOAT", "neg", "-12.75") == .bulk("-12.75"))
        #expect(kv("INCRBYFLOAT", "neg", "12") == .bulk("-0.75"))
        kv("SET", "e", "5.0e3")
        #expect(kv("INCRBYFLOAT", "e", "0") == .bulk("5000"))
        for bad in ["abc", "nan", "", "1 ", " 1", "1e", "."] {
            #expect(kv("INCRBYFLOAT", "f", bad) == .notFloat, "\(bad)")
        }
        #expect(kv("INCRBYFLOAT", "f", "inf") == .error("ERR increment would produce NaN or Infinity"))
        #expect(kv("INCRBYFLOAT", "f", "-inf") == .error("ERR increment would produce NaN or Infinity"))
        #expect(kv("INCRBYFLOAT", "f", ".5") == .bulk("6.1"))
        #expect(kv("INCRBYFLOAT", "f", "5.") == .bulk("11.1"))
        kv("SET", "bad", "abc")
        #expect(kv("INCRBYFLOAT", "bad", "1") == .notFloat)
        kv("SET", "t", "1", "EX", "100")
        kv("INCRBYFLOAT", "t", "1")
        #expect(kv("TTL", "t") == .int(100))
        kv("LPUSH", "l", "x")
        #expect(kv("INCRBYFLOAT", "l", "1") == .wrongType)
    }
}
