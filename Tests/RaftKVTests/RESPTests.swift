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

    @Test func integersAndLengthsInDecimal() {
        var values: [Int64] = [0, 1, 9, 10, -1, -9, -10, 99, 100, 12345, Int64.max, Int64.min, Int64.min + 1]
        var x: Int64 = 1
        for _ in 0..<18 { x *= 10; values += [x, x - 1, -x, -(x - 1)] }
        for v in values { #expect(RESPValue.integer(v).encoded == Array(":\(v)\r\n".utf8)) }
        let big = [UInt8](repeating: 7, count: 1234)
        #expect(RESPValue.bulk(big).encoded == Array("$1234\r\n".utf8) + big + [13, 10])
        #expect(RESPValue.simple("é ok").encoded == Array("+é ok\r\n".utf8))
    }

    @Test func encodeReplies() {
        #expect(RESPValue.ok.encoded == Array("+OK\r\n".utf8))
        #expect(RESPValue.integer(-3).encoded == Array(":-3\r\n".utf8))
        #expect(RESPValue.null.encoded == Array("$-1\r\n".utf8))
        #expect(RESPValue.array([.bulk("a"), .null]).encoded == Array("*2\r\n$1\r\na\r\n$-1\r\n".utf8))
        #expect(RESPValue.error("ERR x").encoded == Array("-ERR x\r\n".utf8))
    }
}
