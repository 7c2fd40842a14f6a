import Testing
import RaftCore
import RaftSim

/// Snapshots (Raft §7): compaction, installing on a follower behind the leader's first entry,
/// chunked transfer that survives a crash, the configuration they carry, automatic snapshots.
@Suite struct SnapshotTests {
    static let n4 = "sim://4"
    static let n5 = "sim://5"

    func installed(_ c: SimCluster, _ id: NodeID) -> [LogIndex] {
        c.node(id).events.compactMap { if case .snapshotInstalled(let i) = $0 { return i } else { return nil } }
    }

    func taken(_ c: SimCluster, _ id: NodeID) -> [LogIndex] {
        c.node(id).events.compactMap { if case .snapshotTaken(let i) = $0 { return i } else { return nil } }
    }

    @Test func takingASnapshotCompactsTheLog() throws {
        let c = SimCluster.elected()
        let n1 = c.id(1)
        c.proposeBatch(20, "add 2")
        let applied = c.node(n1).raft?.appliedIndex ?? 0
        let meta = try #require(c.takeSnapshot(n1))
        #expect(meta.index == applied)
        #expect(meta.term == c.node(n1).term)
        #expect(meta.config.voterIDs == c.ids)
        #expect(c.node(n1).log.firstIndex == applied + 1)
        #expect(c.node(n1).lastIndex == applied)
        #expect(taken(c, n1) == [applied])
        // Nothing new applied: a second snapshot has nothing to add.
        #expect(c.takeSnapshot(n1) == nil)
        // Commands go on as before, and a restart rebuilds the state from the snapshot.
        #expect(c.runCommand("add 1") == .applied(Array("41".utf8)))
        c.crash(n1)
        c.restart(n1)
        #expect(c.node(n1).total == 41)
        #expect(c.node(n1).raft?.appliedIndex == applied + 1)
    }

    @Test func keepTrailingLeavesEntriesForSlightlyLaggingFollowers() throws {
        let c = SimCluster.elected()
        let (n1, n3) = (c.id(1), c.id(3))
        c.proposeBatch(10)
        c.crash(n3)
        c.proposeBatch(3)
        let meta = try #require(c.takeSnapshot(n1, keepTrailing: 5))
        #expect(c.node(n1).log.firstIndex == meta.index - 4)
        c.restart(n3)
        c.settle()
        // N3 needed only the trailing entries: no snapshot.
        #expect(installed(c, n3).isEmpty)
        #expect(!c.node(n1).events.contains(.resync(.sendingSnapshot, peer: n3)))
        #expect(c.inSync(c.ids))
    }

    @Test func aNewFollowerJoinsFromTheLeadersSnapshotAndLog() throws {
        let c = SimCluster.elected()
        let (n1, n4) = (c.id(1), Self.n4)
        c.proposeBatch(30)
        let meta = try #require(c.takeSnapshot(n1))
        c.proposeBatch(5)
        c.addNode(n4)
        // Watch N4 at the moment it installs the snapshot.
        var configAtInstall: ClusterConfig?
        let rid = c.join(n4, via: n1)
        c.deliverUntil { !installed(c, n4).isEmpty }
        configAtInstall = c.node(n4).raft?.config
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        c.settle()
        #expect(installed(c, n4) == [meta.index])
        #expect(c.node(n1).events.contains(.resync(.sendingSnapshot, peer: n4)))
        // The snapshot carried the configuration in force at its index: three voters.
        #expect(configAtInstall?.voterIDs == [c.id(1), c.id(2), c.id(3)])
        #expect(c.node(n4).log.snapshotMeta?.config == meta.config)
        // Then the log after it, and N4's own addition.
        #expect(c.node(n4).log.firstIndex == meta.index + 1)
        #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
        #expect(c.node(n4).total == 35)
        for id in c.ids { #expect(c.node(id).raft?.config.voterIDs == c.ids) }
    }

    @Test func aFollowerDownLongEnoughCatchesUpBySnapshot() throws {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(5)
        c.crash(n3)
        c.proposeBatch(40)
        let meta = try #require(c.takeSnapshot(n1))
        c.proposeBatch(3)
        let before = c.node(n3).lastIndex
        c.restart(n3)
        #expect(c.node(n3).total == 5)
        c.settle()
        #expect(installed(c, n3) == [meta.index])
        #expect(c.node(n1).events.contains(.resync(.sendingSnapshot, peer: n3)))
        #expect(c.node(n3).lastIndex > before)
        #expect(c.inSync([n1, n2, n3]), "\(c.syncDescription(c.ids))")
        #expect(c.node(n3).total == 48)
        // It applies what follows like any follower.
        #expect(c.runCommand("add 1") == .applied(Array("49".utf8)))
        c.settle()
        #expect(c.node(n3).total == 49)
    }

    /// Chunks accumulate in memory: a receiver that crashes mid-transfer keeps its previous state,
    /// and the leader starts the transfer over.
    @Test func aChunkedTransferRestartsAfterTheReceiverCrashes() throws {
        let c = SimCluster.elected { $0.snapshotChunkSize = 3 }
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(4)
        c.crash(n3)
        c.proposeBatch(20)
        let meta = try #require(c.takeSnapshot(n1))
        c.restart(n3)
        let logBefore = (c.node(n3).lastIndex, c.node(n3).log.firstIndex, c.node(n3).total)
        #expect(logBefore.2 == 4)

        var offsets: [UInt64] = []
        c.filter = { m in
            if m.to == n3, case .installSnapshot(let s) = m.body { offsets.append(s.offset) }
            return .deliver
        }
        c.heartbeat(n1)
        // Deliver until N3 has accepted its first chunk, then crash it.
        c.deliverUntil { offsets.count >= 2 }
        #expect(offsets == [0, 3])
        c.crash(n3)
        #expect(installed(c, n3).isEmpty)
        c.restart(n3)
        // Previous state intact: nothing of the snapshot was installed.
        #expect((c.node(n3).lastIndex, c.node(n3).log.firstIndex, c.node(n3).total) == logBefore)
        #expect(c.node(n3).log.snapshotMeta == nil)

        offsets.removeAll()
        c.settle(rounds: 3)
        // The leader resent where it was; N3 had lost everything, so it started over.
        #expect(offsets.contains(0))
        #expect(offsets.last == 6)
        #expect(installed(c, n3) == [meta.index])
        #expect(c.node(n3).log.snapshotMeta == meta)
        #expect(c.inSync([n1, n2, n3]), "\(c.syncDescription(c.ids))")
        #expect(c.node(n3).total == 24)
    }

    /// A snapshot holds the configuration in force at its index, so a node whose log was
    /// compacted past every config entry still knows its membership after a restart.
    @Test func aSnapshotCarriesTheConfigurationInForceAtItsIndex() throws {
        let c = SimCluster.elected()
        let (n1, n2, n3, n4, n5) = (c.id(1), c.id(2), c.id(3), Self.n4, Self.n5)
        c.proposeBatch(3)
        let join = c.join(n4, via: n1)
        c.deliverAll()
        #expect(c.outcome(join) == .applied([]))
        let rm = c.removeServer(n3, at: n1)
        c.deliverAll()
        #expect(c.outcome(rm) == .applied([]))
        c.proposeBatch(3)
        let meta = try #require(c.takeSnapshot(n1))
        #expect(meta.config.voterIDs == [n1, n2, n4])
        #expect(c.node(n1).raft?.config.voterIDs == [n1, n2, n4])

        // N5 joins from that snapshot and learns that membership from it.
        let join5 = c.join(n5, via: n1)
        c.deliverUntil { !installed(c, n5).isEmpty }
        #expect(c.node(n5).raft?.config.voterIDs == [n1, n2, n4])
        c.deliverAll()
        #expect(c.outcome(join5) == .applied([]))
        c.settle()
        #expect(c.node(n5).raft?.config.voterIDs == [n1, n2, n4, n5])

        // A follower that snapshots past every config entry restarts with the right members.
        c.proposeBatch(2)
        let m2 = try #require(c.takeSnapshot(n2))
        #expect(m2.config.voterIDs == [n1, n2, n4, n5])
        #expect(c.node(n2).log.lastConfigIndex(atOrBefore: c.node(n2).lastIndex) == nil)
        c.crash(n2)
        c.restart(n2)
        #expect(c.node(n2).raft?.config.voterIDs == [n1, n2, n4, n5])
        c.settle()
        #expect(c.inSync([n1, n2, n4, n5]), "\(c.syncDescription([n1, n2, n4, n5]))")
    }

    /// An automatic snapshot on the leader compacts no further than a lagging follower has,
    /// up to one threshold's worth: that follower catches up from the log, not by snapshot.
    @Test func automaticCompactionOnTheLeaderKeepsWhatAFollowerStillLacks() throws {
        let c = SimCluster.elected { $0.snapshotThreshold = 10 }
        let (n1, n3) = (c.id(1), c.id(3))
        c.proposeBatch(9)
        c.settle()
        c.crash(n3)  // its match stays at 10
        c.proposeBatch(12)
        #expect(taken(c, n1) == [10, 20])
        // Without the follower-aware floor the leader would have compacted through 20.
        #expect(c.node(n1).log.firstIndex == 11)
        c.restart(n3)
        c.settle()
        #expect(installed(c, n3).isEmpty)
        #expect(!c.node(n1).events.contains(.resync(.sendingSnapshot, peer: n3)))
        #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
        #expect(c.node(n3).total == 21)
    }

    @Test func automaticSnapshotsFollowTheThreshold() throws {
        let c = SimCluster.elected { $0.snapshotThreshold = 10 }
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(9)
        c.settle()
        for id in c.ids { #expect(taken(c, id) == [10], "\(id): \(taken(c, id))") }
        // Followers compact through the snapshot; the leader kept what a follower had not yet
        // acknowledged when it took its own (automaticCompactionOnTheLeader… below).
        #expect(c.node(n2).log.firstIndex == 11 && c.node(n3).log.firstIndex == 11)
        #expect(c.node(n1).log.firstIndex <= 11)
        c.crash(n3)
        c.proposeBatch(25)
        // The leader applies as acknowledgements arrive (one batch of ten at a time); N2 applies
        // the whole run when the heartbeat brings the commit.
        #expect(taken(c, n1) == [10, 20, 30])
        #expect(taken(c, n2) == [10, 35])
        // N3 missed entries the others compacted: it is brought up by snapshot and log.
        c.restart(n3)
        c.settle()
        #expect(installed(c, n3) == [30])
        #expect(c.inSync([n1, n2, n3]), "\(c.syncDescription(c.ids))")
        #expect(c.node(n3).total == 34)
        // A restart comes back from the latest snapshot plus the entries after it.
        c.crash(n1)
        c.restart(n1)
        #expect(c.node(n1).total == 34)
    }
}
