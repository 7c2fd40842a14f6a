import Testing
import RaftKV

@Suite struct RESPTests {
    func parseAll(_ text: String, splitEvery: Int = 0) throws -> [[String]] {
        var p = RESPParser()
        var out: [[String]] = []
        let bytes = Array(text.utf8)
        let chunks = splitEvery > 0 ? stride(from: 0, to: bytes.count, by: splitEvery).map { Array(bytes[$0..<min($0 + splitEvery, bytes.count)]) } : [bytes]
        for c in chunks {
            p.feed(c)
            while let req = try p.next() { out.append(req.map { String(decoding: $0, as: UTF8.self) }) }
        }
        return out
    }

    @Test func multibulkAndInlineRequests() throws {
        #expect(try parseAll("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") == [["GET", "k"]])
        #expect(try parseAll("PING\r\n") == [["PING"]])
        #expect(try parseAll("SET  a   b\r\n") == [["SET", "a", "b"]])
    }

    @Test func pipelinedRequestsSplitAtEveryByte() throws {
        let text = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n"
        for split in 1...7 {
            #expect(try parseAll(text, splitEvery: split) == [["SET", "a", "hello"], ["GET", "a"], ["PING"]])
        }
    }

    @Test func binarySafeValues() throws {
        var p = RESPParser()
        p.feed([UInt8]("*2\r\n$3\r\nSET\r\n$4\r\n".utf8) + [0, 13, 10, 255] + [13, 10])
        #expect(try p.next() == [Array("SET".utf8), [0, 13, 10, 255]])
    }

    @Test func malformedInputIsAnError() {
        var p = RESPParser()
        p.feed(Array("*x\r\n".utf8))
        #expect(throws: RESPParser.ParseError.self) { _ = try p.next() }
        var q = RESPParser()
        q.feed(Array("*1\r\n+OK\r\n".utf8))
        #expect(throws: RESPParser.ParseError.self) { _ = try q.next() }
        var r = RESPParser()
        r.feed(Array("*1\r\n$2\r\nabcd\r\n".utf8))
        #expect(throws: RESPParser.ParseError.self) { _ = try r.next() }
    }

    @Test func oversizedBulkIsRefused() {
        var p = RESPParser(maxBulkLength: 10)
        p.feed(Array("*1\r\n$11\r\n".utf8))
        #expect(throws: RESPParser.ParseError.tooLarge(11)) { _ = try p.next() }
    }

    @Test func encodeReplies() {
        #expect(RESPValue.ok.encoded == Array("+OK\r\n".utf8))
        #expect(RESPValue.integer(-3).encoded == Array(":-3\r\n".utf8))
        #expect(RESPValue.null.encoded == Array("$-1\r\n".utf8))
        #expect(RESPValue.array([.bulk("a"), .null]).encoded == Array("*2\r\n$1\r\na\r\n$-1\r\n".utf8))
        #expect(RESPValue.error("ERR x").encoded == Array("-ERR x\r\n".utf8))
    }
}

@Suite struct KVStateMachineTests {
    func k(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func setGetDeleteIncrement() throws {
        let m = KVStateMachine()
        #expect(try m.apply(KVCommand.set(key: k("a"), value: k("1")).encoded, index: 1) == RESPValue.ok.encoded)
        #expect(m.get(k("a")) == k("1"))
        #expect(try m.apply(KVCommand.incrementBy(key: k("a"), delta: 41).encoded, index: 2) == RESPValue.integer(42).encoded)
        #expect(try m.apply(KVCommand.incrementBy(key: k("new"), delta: 1).encoded, index: 3) == RESPValue.integer(1).encoded)
        #expect(try m.apply(KVCommand.delete(keys: [k("a"), k("zz")]).encoded, index: 4) == RESPValue.integer(1).encoded)
        #expect(m.count == 1)
    }

    @Test func incrementOfNonIntegerIsAnErrorReply() throws {
        let m = KVStateMachine()
        _ = try m.apply(KVCommand.set(key: k("s"), value: k("abc")).encoded, index: 1)
        let r = try m.apply(KVCommand.incrementBy(key: k("s"), delta: 1).encoded, index: 2)
        #expect(String(decoding: r, as: UTF8.self).hasPrefix("-ERR value is not an integer"))
        _ = try m.apply(KVCommand.set(key: k("big"), value: k(String(Int64.max))).encoded, index: 3)
        let o = try m.apply(KVCommand.incrementBy(key: k("big"), delta: 1).encoded, index: 4)
        #expect(String(decoding: o, as: UTF8.self).contains("overflow"))
    }

    @Test func snapshotRestoresIdenticalState() throws {
        let m = KVStateMachine()
        for i in 0..<100 { _ = try m.apply(KVCommand.set(key: k("k\(i)"), value: [UInt8(i), 0, 255]).encoded, index: UInt64(i + 1)) }
        let snap = try m.snapshot()
        let other = KVStateMachine()
        try other.restore(snap)
        #expect(other.store == m.store)
        #expect(try other.snapshot() == snap)
        #expect(throws: (any Error).self) { try other.restore(Array(snap.dropLast())) }
    }

    @Test func commandCodecRoundTrips() throws {
        for c in [KVCommand.set(key: k("a"), value: []), .delete(keys: [k("x"), k("y")]), .incrementBy(key: k("n"), delta: -5)] {
            #expect(try KVCommand(decoding: c.encoded) == c)
        }
    }
}
