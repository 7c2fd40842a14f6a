import Testing
@testable import RaftKV

/// The server's in-place path: requests handed out where they lie in the parser's buffer, and
/// writes encoded from there into one entry.
@Suite struct KVWriteBatchTests {
    func request(_ args: [String]) -> [UInt8] {
        var out = Array("*\(args.count)\r\n".utf8)
        for a in args { out += Array("$\(a.utf8.count)\r\n\(a)\r\n".utf8) }
        return out
    }

    @Test func batchesEncodeAsExecAndTransaction() throws {
        let cmds: [[String]] = [["SET", "k", "v"], ["set", "k2", String(repeating: "x", count: 300)], ["DEL", "a", "b", "c"],
                                ["INCR", ""], ["SET", "bin\u{0}", "\r\n"]]
        var p = RESPParser()
        for c in cmds { p.feed(request(c)) }
        var batch = KVWriteBatch()
        var keys: [Range<Int>?] = []
        for c in cmds {
            var seen: [[UInt8]] = []
            var size = 0
            let step = try p.withNext { args in
                seen = args.arrays
                size = KVWriteBatch.size(of: args)
                keys.append(batch.add(args))
                return true
            }
            #expect(step == .consumed)
            #expect(seen == c.map { Array($0.utf8) })
            #expect(size >= KVCommand.exec(nowMs: 0, args: seen).encoded.count - 3)
        }
        #expect(try p.withNext { _ in true } == .needMore)
        #expect(batch.count == cmds.count)
        let (entry, offset) = batch.takeEntry(nowMs: 1_700_000_000_123)
        #expect(entry == KVCommand.transaction(nowMs: 1_700_000_000_123, commands: cmds.map { $0.map { Array($0.utf8) } }).encoded)
        for (c, k) in zip(cmds, keys) {
            #expect(k.map { Array(entry[($0.lowerBound + offset)..<($0.upperBound + offset)]) } == Array(c[1].utf8))
        }
        #expect(batch.count == 0)

        p.feed(request(["SET", "one", "1"]))
        _ = try p.withNext { args in
            _ = batch.add(args)
            return true
        }
        let single = batch.takeEntry(nowMs: 5).entry
        #expect(single == KVCommand.exec(nowMs: 5, args: [Array("SET".utf8), Array("one".utf8), Array("1".utf8)]).encoded)
    }

    @Test func aDeclinedRequestIsHandedOutAgain() throws {
        var p = RESPParser()
        p.feed(request(["GET", "a"]) + Array("PING x\r\n".utf8))
        #expect(try p.withNext { _ in false } == .declined)
        #expect(try p.next() == [Array("GET".utf8), Array("a".utf8)])
        #expect(try p.withNext { $0.arrays == [Array("PING".utf8), Array("x".utf8)] } == .consumed)
        #expect(p.pending == 0)
    }

    @Test func classifyInPlaceAgreesWithClassify() throws {
        for c: [String] in [["get", "k"], ["SET", "k"], ["NOPE", "x", "y"], ["mset", "a", "1", "b"], ["DBSIZE"], ["hgetall", "h"]] {
            var p = RESPParser()
            p.feed(request(c))
            var got: (KVCommandClass, name: [UInt8]?)?
            var want: KVCommandClass?
            _ = try p.withNext { args in
                got = KVStateMachine.classify(args)
                want = KVStateMachine.classify(args.arrays)
                return true
            }
            #expect(got?.0 == want)
            if case .unknown = want { #expect(got?.name == nil) } else { #expect(got?.name == Array(c[0].uppercased().utf8)) }
        }
    }
}

@Suite struct KVWriteBatchGrowthTests {
    func request(_ args: [String]) -> [UInt8] {
        var out = Array("*\(args.count)\r\n".utf8)
        for a in args { out += Array("$\(a.utf8.count)\r\n\(a)\r\n".utf8) }
        return out
    }

    /// A batch far past its first allocation (varints of several bytes included), taken twice
    /// in a row, and a copy taken while the original goes on: each gives the bytes KVCommand
    /// encodes for exactly its own commands.
    @Test func largeBatchesAndCopiesEncodeTheirOwnCommands() throws {
        let cmds: [[String]] = (0..<600).map { i in ["SET", "key:\(i)", String(repeating: "v", count: i % 7 == 0 ? 20_000 : 64)] }
        var batch = KVWriteBatch()
        var copy: KVWriteBatch? = nil
        for round in 0..<2 {
            var p = RESPParser(maxBulkLength: 1 << 20)
            for c in cmds { p.feed(request(c)) }
            for (i, _) in cmds.enumerated() {
                _ = try p.withNext { args in
                    _ = batch.add(args)
                    return true
                }
                if round == 1 && i == 299 { copy = batch }
            }
            let (entry, _) = batch.takeEntry(nowMs: UInt64(round))
            #expect(entry == KVCommand.transaction(nowMs: UInt64(round), commands: cmds.map { $0.map { Array($0.utf8) } }).encoded)
            #expect(batch.count == 0 && batch.byteCount == 0)
        }
        var c = copy!
        #expect(c.count == 300)
        let (entry, _) = c.takeEntry(nowMs: 9)
        #expect(entry == KVCommand.transaction(nowMs: 9, commands: cmds.prefix(300).map { $0.map { Array($0.utf8) } }).encoded)
    }
}
