import Testing
@testable import RaftKV

@Suite struct KVTransactionTests {
    @Test func commandsRunInOrderAndFailuresDoNotRollBack() {
        let kv = KV()
        let reply = kv.multi([["SET", "a", "1"], ["INCR", "a"], ["GET", "a"], ["LPUSH", "a", "x"],
                              ["INCRBY", "a", "10"], ["INCRBY", "a", "x"], ["GET", "a"], ["RPUSH", "l", "p", "q"],
                              ["LRANGE", "l", "0", "-1"], ["PING"], ["ECHO", "e"]])
        #expect(reply == .array([.ok, .int(2), .bulk("2"), .wrongType, .int(12), .notInteger, .bulk("12"),
                                 .int(2), .bulks("p", "q"), .simple("PONG"), .bulk("e")]))
        #expect(kv("GET", "a") == .bulk("12"))
    }

    @Test func emptyTransaction() {
        let kv = KV()
        #expect(kv.multi([]) == .empty)
        #expect(kv.m.lastAppliedTime == kv.now)
    }

    @Test func allCommandsRunAtTheEntrysTime() {
        let kv = KV(now: 1_000)
        #expect(kv.multi([["SET", "k", "v", "PX", "10"], ["PTTL", "k"], ["SET", "j", "v", "PXAT", "1000"],
                          ["EXISTS", "j"]]) == .array([.ok, .int(10), .ok, .int(0)]))
    }

    @Test func errorsThatClassifyWouldCatchAreAnsweredInPlace() {
        // The server answers these before EXEC (EXECABORT); an entry holding one anyway gets the
        // error in its slot and the rest still applies.
        let kv = KV()
        #expect(kv.multi([["NOPE"], ["SET", "x"], ["SET", "x", "1"]])
                == .array([.error("ERR unknown command 'NOPE', with args beginning with: "),
                           .error("ERR wrong number of arguments for 'set' command"), .ok]))
        #expect(kv("GET", "x") == .bulk("1"))
    }

    @Test func transactionRepliesAreOneRESPArray() throws {
        let m = KVStateMachine()
        let bytes = try m.apply(KVCommand.transaction(nowMs: 1, commands: [[b("SET"), b("a"), b("1")], [b("GET"), b("a")], [b("GET"), b("zz")]]).encoded, index: 1)
        #expect(bytes == Array("*3\r\n+OK\r\n$1\r\n1\r\n$-1\r\n".utf8))
    }

    @Test func aTransactionIsOneEntryOnEveryReplica() throws {
        let a = KVStateMachine(), c = KVStateMachine()
        let t = KVCommand.transaction(nowMs: 10, commands: [[b("MSET"), b("x"), b("1"), b("y"), b("2")], [b("RENAME"), b("x"), b("z")],
                                                            [b("EXPIRE"), b("z"), b("5")], [b("DEL"), b("y")]])
        #expect(try a.apply(t.encoded, index: 1) == c.apply(t.encoded, index: 1))
        #expect(try a.snapshot() == c.snapshot())
        #expect(a.read([b("TTL"), b("z")], nowMs: 10) == .int(5))
    }
}
