import Testing
import RaftCore
@testable import RaftKV

/// The in-place path (KVEntryApply) against the decoding path on the same entries: the same
/// reply for each, the same state after, including for damaged entries (which the in-place
/// path must leave to the decoding path, never half-apply).
@Suite struct KVEntryApplyTests {
    @Test func sameRepliesAndStateAsDecoding() throws {
        var entries = randomEntries(count: 3000, seed: 7)
        // Batches of client writes, as raftengine-node proposes them, and the odd shapes.
        var rng = SplitMix(seed: 11)
        for i in 0..<200 {
            let n = Int(rng.next() % 40)
            let cmds: [[[UInt8]]] = (0..<n).map { j in
                ["set", "k\((i + j) % 50)", "v\(j)"].map(b) + (j % 7 == 0 ? [b("PX"), b("500")] : [])
            }
            entries.append(.transaction(nowMs: 1_700_000_000_000 + UInt64(i) * 100, commands: cmds))
        }
        entries += [.exec(nowMs: 5, args: []), .exec(nowMs: 5, args: [b("NOPE"), b("x")]),
                    .exec(nowMs: 5, args: [b("a-name-longer-than-fifteen")]), .transaction(nowMs: 5, commands: [[], [b("get")]]),
                    .exec(nowMs: 5, args: [b("SeT"), b("x")]), .transaction(nowMs: 5, commands: [])]
        let fast = KVStateMachine(), slow = KVStateMachine()
        for (i, e) in entries.enumerated() {
            let bytes = e.encoded
            #expect(try fast.apply(bytes, index: LogIndex(i + 1)) == slow.applyDecoding(bytes), "entry \(i): \(e)")
        }
        #expect(try fast.snapshot() == slow.snapshot())
        #expect(fast.appliedCommands == slow.appliedCommands)
        #expect(fast.appliedCommands > UInt64(entries.count))
    }

    @Test func damagedEntriesAreLeftToTheDecodingPath() throws {
        let good = KVCommand.transaction(nowMs: 9, commands: [["SET", "a", "1"], ["SET", "b", "2"]].map { $0.map(b) }).encoded
        var rng = SplitMix(seed: 3)
        for cut in 0..<good.count {
            let m = KVStateMachine()
            #expect(m.applyInPlace(Array(good.prefix(cut))) == nil)
            #expect(m.dbSize == 0)
        }
        for _ in 0..<2000 {
            var bad = good
            bad[Int(rng.next() % UInt64(bad.count))] = UInt8(truncatingIfNeeded: rng.next())
            let fast = KVStateMachine(), slow = KVStateMachine()
            #expect(try fast.apply(bad, index: 1) == slow.applyDecoding(bad))
            #expect(try fast.snapshot() == slow.snapshot())
        }
        #expect(KVStateMachine().applyInPlace(good + [0]) == nil)
    }
}
