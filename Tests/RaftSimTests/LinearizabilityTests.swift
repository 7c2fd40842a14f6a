import Testing
import RaftCore
import RaftSim

/// The linearizability checker on histories written by hand, then on histories the simulator
/// records from client operations across a leader change.
@Suite struct LinearizabilityTests {
    typealias Register = RegisterModel<Int>

    @Test func aSequentialHistoryIsLinearizable() {
        let h = ClientHistory(Register(initial: 0))
        let w = h.invoke(.write(1))
        h.complete(w, 0)
        let r = h.invoke(.read)
        h.complete(r, 1)
        #expect(h.check() == .linearizable(order: [w, r]))
    }

    @Test func aReadOverlappingAWriteMayReturnEitherValue() {
        for seen in [0, 1] {
            let h = ClientHistory(Register(initial: 0))
            let w = h.invoke(.write(1), client: "a")
            let r = h.invoke(.read, client: "b")
            h.complete(r, seen)
            h.complete(w, 0)
            #expect(h.check().isLinearizable, "read \(seen)")
        }
    }

    @Test func aStaleReadIsRejected() {
        let h = ClientHistory(Register(initial: 0))
        let w = h.invoke(.write(1))
        h.complete(w, 0)
        let r = h.invoke(.read)
        h.complete(r, 0)
        #expect(h.check() == .notLinearizable)
    }

    /// A write whose answer never came may have happened or not, but not both.
    @Test func aPendingWriteMayTakeEffectOnce() {
        let one = ClientHistory(Register(initial: 0))
        one.invoke(.write(1))
        let r1 = one.invoke(.read)
        one.complete(r1, 1)
        #expect(one.check().isLinearizable)

        let none = ClientHistory(Register(initial: 0))
        none.invoke(.write(1))
        let r0 = none.invoke(.read)
        none.complete(r0, 0)
        #expect(none.check() == .linearizable(order: [r0]))

        let flip = ClientHistory(Register(initial: 0))
        flip.invoke(.write(1), client: "a")
        let a = flip.invoke(.read, client: "b")
        flip.complete(a, 1)
        let b = flip.invoke(.read, client: "b")
        flip.complete(b, 0)
        #expect(flip.check() == .notLinearizable)
    }

    @Test func aFailedOperationIsLeftOut() {
        let h = ClientHistory(Register(initial: 0))
        let w = h.invoke(.write(1))
        h.fail(w)
        let r = h.invoke(.read)
        h.complete(r, 1)
        #expect(h.check() == .notLinearizable)
    }

    @Test func counterHistories() {
        let ok = ClientHistory(CounterModel())
        let a = ok.invoke(.add(1), client: "a")
        let b = ok.invoke(.add(2), client: "b")
        ok.complete(b, 2)
        ok.complete(a, 3)
        let r = ok.invoke(.read)
        ok.complete(r, 3)
        // b went first (answered 2), then a (answered 3).
        #expect(ok.check() == .linearizable(order: [b, a, r]))

        let bad = ClientHistory(CounterModel())
        let x = bad.invoke(.add(1), client: "a")
        let y = bad.invoke(.add(2), client: "b")
        bad.complete(x, 1)
        bad.complete(y, 2)
        #expect(bad.check() == .notLinearizable)
    }

    /// Twenty additions answered in overlapping pairs, the later one first: decided at once,
    /// and one wrong answer makes it fail.
    @Test func aConcurrentHistoryOfTwentyOperationsIsDecided() {
        func history(wrongAt: Int?) -> ClientHistory<CounterModel> {
            let h = ClientHistory(CounterModel())
            var total: Int64 = 0
            var open: [(op: Int, total: Int64)] = []
            for i in 1...20 {
                let op = h.invoke(.add(Int64(i)), client: "c\(i % 3)")
                total += Int64(i)
                open.append((op, i == wrongAt ? total + 1 : total))
                if open.count == 2 {
                    h.complete(open[1].op, open[1].total)
                    h.complete(open[0].op, open[0].total)
                    open.removeAll()
                }
            }
            return h
        }
        #expect(history(wrongAt: nil).check() == .linearizable(order: Array(0..<20)))
        #expect(history(wrongAt: 13).check() == .notLinearizable)
    }

    /// A command of any bytes (as C and Python hosts give) reaches the machine unchanged and
    /// its result becomes the operation's output.
    @Test func aProposalOfRawBytesIsRecorded() {
        let c = SimCluster.elected()
        let leader = c.leader!.id
        let h = ClientHistory(CounterModel())
        let total: ([UInt8]) -> Int64 = { Int64(String(decoding: $0, as: UTF8.self)) ?? -1 }
        let add: [UInt8] = Array("add 5".utf8)
        let odd: [UInt8] = [0xff, 0xfe, 0x00, 0x80]  // not UTF-8: changes nothing
        c.propose(bytes: add, at: leader, as: .add(5), in: h, output: total)
        c.propose(bytes: odd, at: leader, as: .add(0), in: h, output: total)
        c.deliverAll()
        #expect(h.operations.map(\.output) == [5, 5])
        #expect(c.node(leader).machine(as: CounterMachine.self)?.applied.suffix(2).map(\.command) == [add, odd])
        #expect(h.check().isLinearizable)
    }

    static func kvValue(_ node: SimNode) -> String { node.machine(as: TinyKV.self)?.values["x"] ?? "" }

    /// Across a leader change, ReadIndex reads stay linearizable; a read of the deposed
    /// leader's local state is stale, and the checker says so.
    @Test func readsAcrossALeaderChange() {
        let c = SimCluster(SimCluster.Options()) { _ in TinyKV() }
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        let h = ClientHistory(RegisterModel(initial: ""))
        let old: ([UInt8]) -> String = { String(decoding: $0, as: UTF8.self) }
        c.elect(n1)
        let w1 = c.propose("set x 1", at: n1, as: .write("1"), in: h, client: "a", output: old)
        c.deliverAll()
        c.settle()
        #expect(c.outcome(w1) == .applied([]))
        // N1 is cut off; N2 takes over and writes.
        c.partition([[n1], [n2, n3]])
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(n2).role == .leader)
        #expect(c.node(n1).role == .leader)
        let w2 = c.propose("set x 2", at: n2, as: .write("2"), in: h, client: "b", output: old)
        c.deliverAll()
        #expect(c.outcome(w2) == .applied(Array("1".utf8)))
        let r2 = c.read(at: n2, as: .read, in: h, client: "b", value: Self.kvValue)
        c.deliverAll()
        #expect(c.outcome(r2) == .applied([]))
        // A ReadIndex at the deposed leader gets no answer while it is cut off.
        let r1 = c.read(at: n1, as: .read, in: h, client: "a", value: Self.kvValue)
        c.deliverAll()
        #expect(c.outcome(r1) == nil)
        #expect(h.check().isLinearizable, "\(h.check())")
        #expect(h.operations.map(\.output) == ["", "1", "2", nil])

        // Its local state, read as if it still led, is stale.
        c.readLocally(at: n1, as: .read, in: h, client: "a", value: Self.kvValue)
        #expect(h.operations.last?.output == "1")
        #expect(h.check() == .notLinearizable)
    }
}
