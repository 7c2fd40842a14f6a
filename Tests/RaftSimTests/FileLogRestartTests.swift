import Foundation
import Testing
import RaftCore
import RaftStorage
import RaftSim

/// A simulated cluster whose nodes keep their logs in FileLog directories under one temporary
/// directory, removed with the cluster.
final class FileLogCluster {
    let root: String
    let c: SimCluster

    init(nodeCount: Int = 3) {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("raftsim-\(UUID().uuidString)").path
        self.root = root
        var o = SimCluster.Options(nodeCount: nodeCount)
        // Node ids are URLs; their letters and digits make a safe directory name.
        o.makeLog = { id in try FileLog(directory: root + "/" + id.filter { $0.isLetter || $0.isNumber }) }
        c = SimCluster(o)
    }

    deinit {
        for id in c.ids { (c.node(id).log as? FileLog)?.close() }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Everything a restart must bring back from disk.
    struct Durable: Equatable {
        var hardState: HardState
        var entries: [Entry]
    }

    func durable(_ id: NodeID) throws -> Durable {
        let log = c.node(id).log
        let entries = log.lastIndex < log.firstIndex
            ? [] : try log.entries(from: log.firstIndex, through: log.lastIndex, maxBytes: .max)
        return Durable(hardState: log.hardState, entries: entries)
    }

    /// Crashes and restarts `id`, checking that it came back on a log opened again from disk.
    func crashAndRestart(_ id: NodeID) {
        let before = c.node(id).log
        c.crash(id)
        c.restart(id)
        #expect(c.node(id).log !== before)
        #expect(c.node(id).isUp)
    }

    func commands(appliedAt id: NodeID) -> [String] {
        c.node(id).machine.applied.map { String(decoding: $0.command, as: UTF8.self) }
    }
}

@Suite struct FileLogRestartTests {
    @Test func followerAndLeaderKeepTermVoteAndEntriesAcrossRestarts() throws {
        let f = FileLogCluster()
        let c = f.c
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        #expect(c.runCommand("add 1") == .applied(Array("1".utf8)))
        #expect(c.runCommand("add 2") == .applied(Array("3".utf8)))

        let follower = try f.durable(n2)
        #expect(follower.hardState == HardState(term: 1, votedFor: n1))
        #expect(follower.entries.count == 3)
        f.crashAndRestart(n2)
        #expect(try f.durable(n2) == follower)
        #expect(c.node(2).term == 1)

        let leader = try f.durable(n1)
        #expect(leader.hardState == HardState(term: 1, votedFor: n1))
        f.crashAndRestart(n1)
        #expect(try f.durable(n1) == leader)
        #expect(c.node(1).role == .follower)

        // The cluster carries on under a new leader; both restarted nodes catch up.
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(2).role == .leader)
        #expect(c.node(2).term == 2)
        #expect(c.runCommand("add 3") == .applied(Array("6".utf8)))
        c.heartbeat(n2)
        c.deliverAll()
        for id in [n1, n2, n3] {
            #expect(c.node(id).total == 6)
            #expect(c.node(id).lastIndex == 5)
            #expect(c.node(id).commitIndex == 5)
        }
        #expect(try f.durable(n1) == f.durable(n3))
    }

    /// The seed's recovering-follower sequence, with the follower's log reopened from disk.
    @Test func restartedFollowerCatchesUpOnTheNextHeartbeat() {
        let f = FileLogCluster()
        let c = f.c
        let (n1, n3) = (c.id(1), c.id(3))
        c.elect(n3)
        c.runCommand("add 1")
        let before = c.node(1).log
        c.crash(n1)
        #expect(c.runCommand("add 1") == .applied(Array("2".utf8)))
        #expect(c.runCommand("add 1") == .applied(Array("3".utf8)))
        c.restart(n1)
        #expect(c.node(1).log !== before)
        #expect(c.node(1).lastIndex == 2)
        c.heartbeat(n3)
        c.deliverAll()
        #expect(c.node(1).lastIndex == 4)
        #expect(c.node(1).commitIndex == 4)
        #expect(c.node(1).total == 3)
    }

    @Test func unsyncedEntriesAreLostButAcknowledgedCommandsSurvive() throws {
        let f = FileLogCluster()
        let c = f.c
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        let checker = SafetyChecker()
        checker.attach(to: c)
        c.afterStep = { [unowned c] in checker.check(c) }
        c.elect(n1)
        var acknowledged = ["add 1"]
        c.runCommand("add 1")

        // The leader's disk stalls: its own copies stay unsynced, yet both followers sync
        // theirs, which is a majority, so the commands are acknowledged.
        c.node(1).syncsDeferred = true
        let first = ["add 10", "add 20", "add 30"]
        let rids = first.map { c.propose(n1, $0) }
        c.deliverUntil { rids.allSatisfy { c.outcome($0) != nil } }
        #expect(rids.map { c.outcome($0) } == ["11", "31", "61"].map { .applied(Array($0.utf8)) })
        acknowledged += first
        #expect(c.node(1).syncAwaited)
        #expect(c.node(1).lastIndex == 5)

        c.node(1).syncsDeferred = false
        f.crashAndRestart(n1)
        #expect(c.node(1).lastIndex == 2)
        #expect(c.node(1).log.hardState == HardState(term: 1, votedFor: n1))

        // Now a follower's disk stalls under the next leader.
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(2).role == .leader)
        c.node(3).syncsDeferred = true
        let second = ["add 100", "add 200"]
        let rids2 = second.map { c.propose(n2, $0) }
        c.deliverUntil { rids2.allSatisfy { c.outcome($0) != nil } }
        #expect(rids2.allSatisfy { if case .applied = c.outcome($0) { true } else { false } })
        acknowledged += second
        let n3Before = c.node(3).lastIndex

        // Every node crashes at once; only what was synced comes back.
        for id in [n1, n2, n3] { c.crash(id) }
        c.node(3).syncsDeferred = false
        for id in [n1, n2, n3] { c.restart(id) }
        #expect(c.node(3).lastIndex < n3Before)
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(2).role == .leader)
        c.heartbeat(n2)
        c.deliverAll()
        for id in [n1, n2, n3] {
            let applied = f.commands(appliedAt: id)
            #expect(acknowledged.allSatisfy { command in applied.filter { $0 == command }.count == 1 })
            #expect(c.node(id).total == 361)
        }
        #expect(checker.violations == [])
    }
}
