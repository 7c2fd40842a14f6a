import Testing
@testable import RaftKV

@Suite struct KVKeyTests {
    @Test func delExistsTypeKeys() {
        let kv = KV()
        kv("SET", "a", "1"); kv("SET", "b", "2"); kv("RPUSH", "l", "x"); kv("HSET", "h", "f", "v")
        #expect(kv("EXISTS", "l", "h", "none", "l") == .int(3))
        #expect(kv("TOUCH", "l", "none") == .int(1))
        #expect(kv("TYPE", "a") == .simple("string"))
        #expect(kv("TYPE", "l") == .simple("list"))
        #expect(kv("TYPE", "h") == .simple("hash"))
        #expect(kv("TYPE", "none") == .simple("none"))
        #expect(kv("KEYS", "*") == .bulks("a", "b", "h", "l"))
        #expect(kv("KEYS", "[ab]") == .bulks("a", "b"))
        #expect(kv("KEYS", "?") == .bulks("a", "b", "h", "l"))
        #expect(kv("KEYS", "x*") == .empty)
        #expect(kv("DEL", "a", "b", "none") == .int(2))
        #expect(kv("UNLINK", "l") == .int(1))
        #expect(kv("DEL", "a") == .int(0))
        #expect(kv("DBSIZE") == .int(1))
        // KEYS "*" matches even the empty key (Redis short-circuits it; the glob itself does not).
        kv("SET", "", "empty")
        #expect(kv("KEYS", "*") == .bulks("", "h"))
        #expect(kv("KEYS", "**") == .bulks("h"))
    }

    @Test func rename() {
        let kv = KV()
        kv("SET", "a", "1", "EX", "100")
        #expect(kv("RENAME", "a", "b") == .ok)
        #expect(kv("GET", "a") == .null)
        #expect(kv("GET", "b") == .bulk("1"))
        #expect(kv("TTL", "b") == .int(100))
        #expect(kv("RENAME", "none", "x") == .error("ERR no such key"))
        #expect(kv("RENAME", "none", "none") == .error("ERR no such key"))
        #expect(kv("RENAME", "b", "b") == .ok)
        #expect(kv("RENAMENX", "b", "b") == .int(0))
        kv("RPUSH", "l", "x")
        #expect(kv("RENAMENX", "b", "l") == .int(0))
        #expect(kv("RENAMENX", "b", "c") == .int(1))
        #expect(kv("RENAME", "l", "c") == .ok)
        #expect(kv("TYPE", "c") == .simple("list"))
        #expect(kv("TTL", "c") == .int(-1))
        #expect(kv("DBSIZE") == .int(1))
        #expect(kv.m.keyCount(inSlot: Int(KVStateMachine.keySlot(b("c")))) == 1)
        #expect(kv.m.keyCount(inSlot: Int(KVStateMachine.keySlot(b("l")))) == 0)
    }

    @Test func expireFamily() {
        let kv = KV()
        kv("SET", "x", "v")
        #expect(kv("EXPIRE", "x", "100") == .int(1))
        #expect(kv("TTL", "x") == .int(100))
        #expect(kv("PTTL", "x") == .int(100_000))
        #expect(kv("EXPIRE", "x", "100", "NX") == .int(0))
        #expect(kv("EXPIRE", "x", "200", "XX") == .int(1))
        #expect(kv("EXPIRE", "x", "50", "GT") == .int(0))
        #expect(kv("EXPIRE", "x", "500", "gt") == .int(1))
        #expect(kv("EXPIRE", "x", "600", "LT") == .int(0))
        #expect(kv("EXPIRE", "x", "60", "lt") == .int(1))
        #expect(kv("TTL", "x") == .int(60))
        #expect(kv("PERSIST", "x") == .int(1))
        #expect(kv("PERSIST", "x") == .int(0))
        #expect(kv("PERSIST", "none") == .int(0))
        #expect(kv("TTL", "x") == .int(-1))
        #expect(kv("EXPIRE", "x", "100", "XX") == .int(0))
        #expect(kv("EXPIRE", "x", "100", "GT") == .int(0))
        #expect(kv("EXPIRE", "x", "100", "LT") == .int(1))
        #expect(kv("EXPIRE", "x", "100", "NX", "XX") == .error("ERR NX and XX, GT or LT options at the same time are not compatible"))
        #expect(kv("EXPIRE", "x", "100", "GT", "LT") == .error("ERR GT and LT options at the same time are not compatible"))
        #expect(kv("EXPIRE", "x", "100", "FOO") == .error("ERR Unsupported option FOO"))
        #expect(kv("EXPIRE", "x", "abc") == .notInteger)
        #expect(kv("EXPIRE", "none", "100") == .int(0))
        #expect(kv("PEXPIRE", "x", "1234") == .int(1))
        #expect(kv("PTTL", "x") == .int(1234))
        #expect(kv("TTL", "x") == .int(1))
        let at = kv.now / 1000 + 3600
        #expect(kv("EXPIREAT", "x", String(at)) == .int(1))
        #expect(kv("EXPIRETIME", "x") == .int(Int64(at)))
        #expect(kv("PEXPIREAT", "x", String(kv.now + 5555)) == .int(1))
        #expect(kv("PEXPIRETIME", "x") == .int(Int64(kv.now + 5555)))
        #expect(kv("EXPIRE", "x", "9223372036854775807") == .error("ERR invalid expire time in 'expire' command"))
        #expect(kv("PEXPIRE", "x", "9223372036854775807") == .error("ERR invalid expire time in 'pexpire' command"))
        #expect(kv("PEXPIREAT", "x", "9223372036854775807") == .int(1))
        #expect(kv("EXPIRETIME", "x") == .int(9_223_372_036_854_776))
        // Zero, negative or past times delete the key and answer 1.
        #expect(kv("EXPIRE", "x", "0") == .int(1))
        #expect(kv("EXISTS", "x") == .int(0))
        kv("SET", "x", "v")
        #expect(kv("EXPIRE", "x", "-1") == .int(1))
        #expect(kv("EXISTS", "x") == .int(0))
        kv("SET", "x", "v")
        #expect(kv("PEXPIREAT", "x", "1") == .int(1))
        #expect(kv("EXISTS", "x") == .int(0))
        #expect(kv("TTL", "none") == .int(-2))
        #expect(kv("PTTL", "none") == .int(-2))
        #expect(kv("EXPIRETIME", "none") == .int(-2))
        kv("SET", "p", "v")
        #expect(kv("PEXPIRETIME", "p") == .int(-1))
    }

    @Test func flushAndDBSize() {
        let kv = KV()
        kv("MSET", "a", "1", "b", "2")
        #expect(kv("DBSIZE") == .int(2))
        #expect(kv("FLUSHDB", "foo") == .syntax)
        #expect(kv("FLUSHALL", "SYNC", "ASYNC") == .syntax)
        #expect(kv("FLUSHDB", "async") == .ok)
        #expect(kv("DBSIZE") == .int(0))
        kv("SET", "a", "1", "EX", "10")
        #expect(kv("FLUSHALL", "SYNC") == .ok)
        #expect(kv("FLUSHALL") == .ok)
        #expect(kv.m.dbSize == 0)
        #expect(kv.m.nextExpiryDeadline() == nil)
    }

    @Test func pingEcho() {
        let kv = KV()
        #expect(kv("PING") == .simple("PONG"))
        #expect(kv("PING", "hi") == .bulk("hi"))
        #expect(kv("PING", "a", "b") == .error("ERR wrong number of arguments for 'ping' command"))
        #expect(kv("ECHO", "x") == .bulk("x"))
        #expect(kv("ECHO") == .error("ERR wrong number of arguments for 'echo' command"))
    }

    @Test func wrongTypeEverywhere() {
        let kv = KV()
        kv("RPUSH", "l", "a")
        kv("HSET", "h", "f", "v")
        kv("SET", "s", "v")
        let onString: [[String]] = [["GET", "l"], ["GETSET", "l", "x"], ["GETDEL", "l"], ["GETEX", "l"], ["APPEND", "h", "x"],
                                    ["STRLEN", "h"], ["GETRANGE", "l", "0", "1"], ["SETRANGE", "l", "0", "x"], ["INCR", "l"],
                                    ["INCRBY", "h", "1"], ["DECRBY", "l", "1"], ["INCRBYFLOAT", "l", "1"], ["SET", "l", "x", "GET"]]
        let onHash: [[String]] = [["HGET", "s", "f"], ["HSET", "s", "f", "v"], ["HSETNX", "s", "f", "v"], ["HMGET", "s", "f"],
                                  ["HDEL", "s", "f"], ["HGETALL", "l"], ["HKEYS", "s"], ["HVALS", "s"], ["HLEN", "s"],
                                  ["HEXISTS", "s", "f"], ["HSTRLEN", "s", "f"], ["HINCRBY", "s", "f", "1"],
                                  ["HINCRBYFLOAT", "s", "f", "1"], ["HMSET", "l", "a", "b"]]
        let onList: [[String]] = [["LPUSH", "s", "a"], ["RPUSH", "h", "a"], ["LPUSHX", "s", "a"], ["RPUSHX", "s", "a"],
                                  ["LPOP", "s"], ["RPOP", "s"], ["LPOP", "s", "2"], ["LRANGE", "s", "0", "1"], ["LLEN", "h"],
                                  ["LINDEX", "s", "0"], ["LSET", "s", "0", "x"], ["LTRIM", "s", "0", "1"]]
        for c in onString + onHash + onList {
            #expect(kv.callBytes(c.map(b)) == .wrongType, "\(c)")
        }
        // Nothing changed.
        #expect(kv("LRANGE", "l", "0", "-1") == .bulks("a"))
        #expect(kv("HGETALL", "h") == .bulks("f", "v"))
        #expect(kv("GET", "s") == .bulk("v"))
        #expect(kv("MGET", "l", "h", "s") == .array([.null, .null, .bulk("v")]))
    }
}

@Suite struct KVClassifyTests {
    func c(_ args: String...) -> KVCommandClass { KVStateMachine.classify(args.map(b)) }

    @Test func routing() {
        #expect(c("GET", "k") == .read)
        #expect(c("get", "k") == .read)
        #expect(c("GeT", "k") == .read)
        #expect(c("SET", "k", "v") == .write)
        #expect(c("GETEX", "k") == .write)
        for r in [["MGET", "a"], ["EXISTS", "a"], ["KEYS", "*"], ["SCAN", "0"], ["TYPE", "a"], ["TTL", "a"], ["PTTL", "a"],
                  ["DBSIZE"], ["HGET", "h", "f"], ["HGETALL", "h"], ["LRANGE", "l", "0", "1"], ["LLEN", "l"], ["LINDEX", "l", "0"],
                  ["STRLEN", "a"], ["GETRANGE", "a", "0", "1"], ["PING"], ["ECHO", "x"]] {
            #expect(KVStateMachine.classify(r.map(b)) == .read, "\(r)")
        }
        for w in [["DEL", "a"], ["INCR", "a"], ["EXPIRE", "a", "1"], ["PERSIST", "a"], ["FLUSHALL"], ["HSET", "h", "f", "v"],
                  ["LPUSH", "l", "a"], ["LPOP", "l"], ["RENAME", "a", "b"], ["MSET", "a", "1"], ["APPEND", "a", "b"]] {
            #expect(KVStateMachine.classify(w.map(b)) == .write, "\(w)")
        }
        #expect(c("GET", "k").isQueueable)
        #expect(!c("GET").isQueueable)
    }

    @Test func arityErrorsUseRedisText() {
        #expect(c("SET", "k") == .arity(.error("ERR wrong number of arguments for 'set' command")))
        #expect(c("Get") == .arity(.error("ERR wrong number of arguments for 'get' command")))
        #expect(c("GET", "a", "b") == .arity(.error("ERR wrong number of arguments for 'get' command")))
        #expect(c("MSET", "a", "1", "b") == .arity(.error("ERR wrong number of arguments for 'mset' command")))
        #expect(c("HSET", "h", "f") == .arity(.error("ERR wrong number of arguments for 'hset' command")))
        #expect(c("HSET", "h", "f", "v", "g") == .arity(.error("ERR wrong number of arguments for 'hset' command")))
        #expect(c("LPOP", "l", "1", "2") == .arity(.error("ERR wrong number of arguments for 'lpop' command")))
        #expect(c("DBSIZE", "x") == .arity(.error("ERR wrong number of arguments for 'dbsize' command")))
        #expect(c("HSET", "h", "f", "v", "g", "w") == .write)
    }

    @Test func unknownCommandsUseRedisText() {
        #expect(c("foo", "a", "b") == .unknown(.error("ERR unknown command 'foo', with args beginning with: 'a' 'b' ")))
        #expect(c("FOO") == .unknown(.error("ERR unknown command 'FOO', with args beginning with: ")))
        #expect(c("MULTI") == .unknown(.error("ERR unknown command 'MULTI', with args beginning with: ")))
        #expect(c("a\r\nb") == .unknown(.error("ERR unknown command 'a  b', with args beginning with: ")))
        let long = String(repeating: "a", count: 120)
        #expect(c("foo", long, String(repeating: "b", count: 200), "c")
                == .unknown(.error("ERR unknown command 'foo', with args beginning with: '\(long)' 'bbbbb' ")))
        #expect(KVStateMachine.classify([]).error != nil)
        #expect(c(String(repeating: "x", count: 40)).error != nil)
    }

    @Test func readRefusesWrites() {
        let m = KVStateMachine()
        guard case .error(let e) = m.read([b("SET"), b("k"), b("v")], nowMs: 1) else { Issue.record("not refused"); return }
        #expect(e.hasPrefix("ERR"))
        #expect(m.dbSize == 0)
    }
}
