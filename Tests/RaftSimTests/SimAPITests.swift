import Testing
import RaftCore
import RaftStorage
import RaftSim

/// The simulator as a user drives it: their own state machine per node, and the apply history
/// that outlives crashes.
@Suite struct SimAPITests {
    func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    @Test func theDefaultClusterRunsCounterMachines() {
        let c = SimCluster.elected()
        #expect(c.runCommand("add 5") == .applied(Array("5".utf8)))
        #expect(c.node(2).machine(as: CounterMachine.self)?.total == 5)
        #expect(c.node(2).machine(as: TinyKV.self) == nil)
        #expect(c.node(2).total == 5)
    }

    @Test func eachNodeRunsTheMachineItsFactoryMade() {
        var madeFor: [NodeID] = []
        let c = SimCluster(SimCluster.Options()) { id in
            madeFor.append(id)
            return TinyKV()
        }
        #expect(madeFor == c.ids)
        c.elect(c.id(1))
        #expect(c.runCommand("set x 1") == .applied([]))
        #expect(c.runCommand("set x 2") == .applied(Array("1".utf8)))
        #expect(c.runCommand("get x") == .applied(Array("2".utf8)))
        for i in 1...3 {
            #expect(c.node(i).machine(as: TinyKV.self)?.values == ["x": "2"])
        }
        // A command the machine refuses is refused alike everywhere, and not in the history.
        guard case .applyError = c.runCommand("frobnicate") else {
            Issue.record("an unknown command should fail to apply")
            return
        }
        #expect(c.node(3).history.records.compactMap(\.command).map(text) == ["set x 1", "set x 2", "get x"])
        #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
    }

    /// A restart gets a new machine from the factory; the history keeps both lifetimes apart,
    /// and shows the core replaying the committed log into the new one.
    @Test func historySurvivesACrashAndSeparatesLifetimes() {
        let c = SimCluster(SimCluster.Options()) { _ in TinyKV() }
        let n2 = c.id(2)
        c.elect(c.id(1))
        c.runCommand("set a 1")
        c.runCommand("set b 2")
        let first = c.node(n2).machine(as: TinyKV.self)
        #expect(c.node(n2).lifetime == 1)
        c.crash(n2)
        c.restart(n2)
        #expect(c.node(n2).lifetime == 2)
        #expect(c.node(n2).machine(as: TinyKV.self) !== first)
        #expect(c.node(n2).machine(as: TinyKV.self)?.values == ["a": "1", "b": "2"])
        let h = c.node(n2).history
        #expect(h.commands(lifetime: 1).map(\.index) == [2, 3])
        #expect(h.commands(lifetime: 2).map(\.index) == [2, 3])
        #expect(h.records.map(\.lifetime) == [1, 1, 2, 2])
        // A fresh machine per lifetime: every index reached each machine once.
        #expect(h.reappliedIndexes(machineSurvivesRestart: false).isEmpty)
        c.runCommand("set c 3")
        #expect(c.node(n2).history.commands(lifetime: 2).map(\.index) == [2, 3, 4])
    }

    /// A machine that keeps its state across restarts (the factory hands back the same object)
    /// sees the committed log replayed into it: "applied exactly once" fails, and the history
    /// says at which indexes.
    @Test func aDurableMachineSeesTheReplayAfterARestart() {
        var machines: [NodeID: TinyKV] = [:]
        let c = SimCluster(SimCluster.Options()) { id in
            if let m = machines[id] { return m }
            let m = TinyKV()
            machines[id] = m
            return m
        }
        let n2 = c.id(2)
        c.elect(c.id(1))
        c.runCommand("set a 1")
        c.runCommand("set b 2")
        c.crash(n2)
        c.restart(n2)
        #expect(c.node(n2).machine(as: TinyKV.self) === machines[n2])
        #expect(machines[n2]?.applies == 4)
        #expect(c.node(n2).history.reappliedIndexes(machineSurvivesRestart: true) == [2, 3])
        #expect(c.node(c.id(3)).history.reappliedIndexes(machineSurvivesRestart: true).isEmpty)
    }

    /// A restart from a snapshot is recorded as a restore at the snapshot's index, and covers
    /// the indexes before it.
    @Test func aRestoreAtRestartIsRecordedWithItsIndex() throws {
        var machines: [NodeID: TinyKV] = [:]
        let c = SimCluster(SimCluster.Options()) { id in
            let m = machines[id] ?? TinyKV()
            machines[id] = m
            return m
        }
        let n2 = c.id(2)
        c.elect(c.id(1))
        c.runCommand("set a 1")
        c.runCommand("set b 2")
        let meta = try #require(c.takeSnapshot(n2))
        #expect(meta.index == 3)
        c.crash(n2)
        c.restart(n2)
        c.runCommand("set c 3")
        let h = c.node(n2).history
        #expect(h.records(lifetime: 2) == [
            ApplyRecord(lifetime: 2, index: 3, kind: .snapshotRestore),
            ApplyRecord(lifetime: 2, index: 4, kind: .command(Array("set c 3".utf8))),
        ])
        // The restore replaced the state: nothing reached the durable machine twice.
        #expect(h.reappliedIndexes(machineSurvivesRestart: true).isEmpty)
        #expect(machines[n2]?.values == ["a": "1", "b": "2", "c": "3"])
    }

    /// A snapshot sent by the leader is recorded at the snapshot's index, before the commands
    /// the follower applies after it.
    @Test func anInstalledSnapshotIsRecordedBeforeTheCommandsAfterIt() throws {
        let c = SimCluster(SimCluster.Options()) { _ in TinyKV() }
        let (n1, n3) = (c.id(1), c.id(3))
        c.elect(n1)
        c.crash(n3)
        for i in 1...5 { c.runCommand("set k\(i) \(i)") }
        let meta = try #require(c.takeSnapshot(n1))
        c.runCommand("set after 1")
        c.restart(n3)
        c.settle()
        let records = c.node(n3).history.records(lifetime: 2)
        #expect(records.first == ApplyRecord(lifetime: 2, index: meta.index, kind: .snapshotRestore))
        #expect(records.dropFirst().map(\.index) == [meta.index + 1])
        #expect(c.node(n3).machine(as: TinyKV.self)?.values.count == 6)
        #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
    }

    /// A user machine that applies batches itself gets them whole, and its applies are
    /// recorded one by one.
    @Test func aBatchMachineGetsBatchesAndEachApplyIsRecorded() {
        final class BatchKV: BatchStateMachine {
            let kv = TinyKV()
            var batchSizes: [Int] = []
            func applyBatch(_ commands: [(index: LogIndex, command: [UInt8])], stopAtFailure: Bool) -> [Result<[UInt8], Error>] {
                batchSizes.append(commands.count)
                return commands.map { c in Result { try kv.apply(c.command, index: c.index) } }
            }
            func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] { try kv.apply(command, index: index) }
            func snapshot() throws -> [UInt8] { try kv.snapshot() }
            func restore(_ data: [UInt8]) throws { try kv.restore(data) }
        }
        let c = SimCluster(SimCluster.Options()) { _ in BatchKV() }
        c.elect(c.id(1))
        c.proposeBatch(4, "set x 1")
        let m = c.node(2).machine(as: BatchKV.self)
        #expect(m?.batchSizes.contains(4) == true, "\(String(describing: m?.batchSizes))")
        #expect(c.node(2).history.commands(lifetime: 1).map(\.index) == [2, 3, 4, 5])
    }

    /// The apply observer sees every node's applies, whatever the machine.
    @Test func theApplyObserverSeesUserMachines() {
        let c = SimCluster(SimCluster.Options()) { _ in TinyKV() }
        var seen: [String] = []
        c.onApply = { node, index, command in seen.append("\(node)#\(index) \(String(decoding: command, as: UTF8.self))") }
        c.elect(c.id(1))
        c.runCommand("set x 1")
        #expect(seen.sorted() == ["sim://1#2 set x 1", "sim://2#2 set x 1", "sim://3#2 set x 1"])
    }

    @Test func reappliedIndexesCountsRestoresAsOneApplication() {
        func cmd(_ l: Int, _ i: LogIndex) -> ApplyRecord { ApplyRecord(lifetime: l, index: i, kind: .command([])) }
        let h = ApplyHistory(records: [cmd(1, 1), cmd(1, 2), ApplyRecord(lifetime: 2, index: 2, kind: .snapshotRestore),
                                       cmd(2, 2), cmd(2, 3), cmd(3, 3)])
        // Index 2 after a restore that covered it; index 3 again in lifetime 3.
        #expect(h.reappliedIndexes(machineSurvivesRestart: true) == [2, 3])
        // Fresh machines: lifetime 2's restore covered 2, then 2 was applied on top of it.
        #expect(h.reappliedIndexes(machineSurvivesRestart: false) == [2])
    }
}
