import Testing
import RaftCore
import RaftSim

/// Leadership transfer (Raft thesis §3.10): the leader catches the target up, stops taking
/// commands, and sends it TimeoutNow; the target campaigns at once with an authorized vote.
@Suite struct TransferTests {
    /// Records every TimeoutNow as it leaves, with the target's log at that moment.
    final class TimeoutNowLog {
        var sent: [(to: NodeID, targetLast: LogIndex, leaderLast: LogIndex)] = []
    }

    func watchTimeoutNow(_ c: SimCluster) -> TimeoutNowLog {
        let log = TimeoutNowLog()
        c.filter = { m in
            if case .timeoutNow = m.body {
                log.sent.append((m.to, c.node(m.to).lastIndex, c.node(m.from).lastIndex))
            }
            return .deliver
        }
        return log
    }

    @Test(arguments: [true, false])
    func toAnUpToDateFollower(preVote: Bool) {
        let c = SimCluster.elected { $0.settings.preVote = preVote }
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(3)
        let term = c.node(n1).term
        let sent = watchTimeoutNow(c)
        let rid = c.transferLeadership(at: n1, to: n2)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(sent.sent.map(\.to) == [n2])
        #expect(c.node(n2).role == .leader)
        #expect(c.node(n2).term == term + 1)
        #expect(c.node(n1).role == .follower && c.node(n1).leaderID == n2)
        #expect(c.node(n3).leaderID == n2)
        #expect(c.leaders.count == 1)
        // The old leader now redirects, and the new one takes commands.
        #expect(c.outcome(c.propose(n1, "add 1")) == .redirect(leader: n2, address: ""))
        #expect(c.runCommand("add 1", at: n2) == .applied(Array("4".utf8)))
        c.settle()
        #expect(c.inSync([n1, n2, n3]))
    }

    /// The leader leads until it sees the target's higher term, so its heartbeats keep going
    /// out after TimeoutNow; one that reaches the target right behind TimeoutNow must not send it
    /// back to following (it would, were the target to pre-vote in the leader's term first).
    /// Once TimeoutNow is out the leader sends the target nothing more, so no heartbeat of the
    /// old term can end the target's (authorized, pre-vote) campaign.
    @Test func aHeartbeatRightBehindTimeoutNowDoesNotCancelTheTransfer() {
        let c = SimCluster.elected { $0.settings.preVote = true }
        let (n1, n2) = (c.id(1), c.id(2))
        c.proposeBatch(2)
        let rid = c.transferLeadership(at: n1, to: n2)
        #expect(c.node(n1).outbox.contains { if case .timeoutNow = $0.body { return $0.to == n2 } else { return false } })
        c.heartbeat(n1)
        c.transmit(n1)
        #expect(c.node(n2).inbox.count == 1)
        #expect(c.node(c.id(3)).inbox.count == 1)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(c.node(n2).role == .leader)
        #expect(c.node(n1).leaderID == n2)
        #expect(c.leaders.count == 1)
    }

    /// With every timer running (heartbeats every 10 ms, 1 ms links) leadership goes around the
    /// cluster and every transfer succeeds well within its election timeout.
    @Test func repeatedTransfersWithTimersRunning() {
        let c = SimCluster.elected()
        c.enableTimers()
        var total: Int64 = 0
        for round in 0..<12 {
            guard let l = c.leader else {
                Issue.record("no leader before transfer \(round)")
                return
            }
            let target = c.ids[(c.ids.firstIndex(of: l.id)! + 1) % c.ids.count]
            c.run(for: 7_000_000 + UInt64(round) * 1_000_000)
            let rid = c.transferLeadership(at: l.id, to: target)
            c.run(for: 50_000_000)
            #expect(c.outcome(rid) == .applied([]), "transfer \(round) from \(l.id) to \(target)")
            #expect(c.leader?.id == target)
            total += 1
            #expect(c.runCommand("add 1") == .applied(Array(String(total).utf8)))
        }
        #expect(c.leaders.count == 1)
    }

    @Test func toALaggingFollowerCatchesItUpFirst() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(2)
        // N3 misses 25 commands.
        c.partition([[n1, n2], [n3]])
        c.proposeBatch(25)
        c.heal()
        #expect(c.node(n3).lastIndex < c.node(n1).lastIndex)
        let sent = watchTimeoutNow(c)
        let rid = c.transferLeadership(at: n1, to: n3)
        // Commands wait while the transfer runs.
        #expect(c.outcome(c.propose(n1, "add 100")) == .retry)
        // The leader believes its appends to N3 are in flight (they were lost in the partition);
        // its next heartbeat reveals what N3 lacks.
        c.heartbeat(n1)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        // TimeoutNow went out only once N3 held everything the leader had.
        #expect(sent.sent.count == 1)
        #expect(sent.sent.first.map { $0.to == n3 && $0.targetLast == $0.leaderLast } == true)
        #expect(c.node(n3).role == .leader)
        #expect(c.node(n3).total == 27)
        #expect(c.runCommand("add 1", at: n3) == .applied(Array("28".utf8)))
        c.settle()
        #expect(c.inSync([n1, n2, n3]))
    }

    @Test func toAFollowerThatNeedsTheSnapshotFirst() throws {
        let c = SimCluster.elected { $0.snapshotChunkSize = 3 }
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(2)
        c.crash(n3)
        c.proposeBatch(20)
        let meta = try #require(c.takeSnapshot(n1))
        c.restart(n3)
        let sent = watchTimeoutNow(c)
        let rid = c.transferLeadership(at: n1, to: n3)
        c.heartbeat(n1)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]), "\(c.stateDescription)")
        #expect(c.node(n3).events.contains(.snapshotInstalled(index: meta.index)))
        #expect(sent.sent.count == 1 && sent.sent.first?.targetLast == sent.sent.first?.leaderLast)
        #expect(c.node(n3).role == .leader)
        #expect(c.runCommand("add 1", at: n3) == .applied(Array("23".utf8)))
        c.settle()
        #expect(c.inSync([n1, n2, n3]), "\(c.syncDescription(c.ids))")
    }

    @Test func commandsDuringATransferAskForRetry() {
        let c = SimCluster.elected()
        let (n1, n2) = (c.id(1), c.id(2))
        c.proposeBatch(1)
        let rid = c.transferLeadership(at: n1, to: n2)
        // Nothing delivered yet: N1 is still leader but refuses new commands.
        #expect(c.node(n1).role == .leader)
        #expect(c.outcome(rid) == nil)
        let during = c.propose(n1, "add 1")
        #expect(c.outcome(during) == .retry)
        // A second transfer is refused while one runs.
        guard case .rejected = c.outcome(c.transferLeadership(at: n1, to: c.id(3))) else {
            Issue.record("a second transfer was accepted")
            return
        }
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(c.node(n1).total == 1)
        #expect(c.runCommand("add 1", at: n2) == .applied(Array("2".utf8)))
    }

    /// Thesis §3.10: if the target does not take over within an election timeout, the leader
    /// aborts the transfer and resumes taking commands.
    @Test(arguments: [false, true])
    func toACrashedNodeFailsAndTheLeaderResumes(laggingFirst: Bool) {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(2)
        if laggingFirst {
            c.crash(n3)
            c.proposeBatch(3)
        } else {
            c.crash(n3)
        }
        let term = c.node(n1).term
        c.node(1).timersEnabled = true
        let rid = c.transferLeadership(at: n1, to: n3)
        #expect(c.outcome(c.propose(n1, "add 100")) == .retry)
        c.run(for: c.options.settings.electionTimeoutMax - 10_000_000)
        #expect(c.outcome(rid) == nil)
        c.run(for: 20_000_000)
        #expect(c.outcome(rid) == .rejected(.transferTimedOut(n3)))
        #expect(c.node(n1).role == .leader && c.node(n1).term == term)
        let total = c.node(n1).total
        #expect(c.runCommand("add 1", at: n1) == .applied(Array(String(total + 1).utf8)))
        // N3 comes back as a follower and catches up.
        c.restart(n3)
        c.settle()
        #expect(c.inSync([n1, n2, n3]))
    }

    @Test func transferToItselfOrAStrangerIsRefused() {
        let c = SimCluster.elected()
        let n1 = c.id(1)
        guard case .rejected = c.outcome(c.transferLeadership(at: n1, to: n1)) else {
            Issue.record("transfer to itself accepted")
            return
        }
        #expect(c.outcome(c.transferLeadership(at: n1, to: "sim://nobody")) == .rejected(.unknownNode("sim://nobody")))
        #expect(c.outcome(c.transferLeadership(at: c.id(2), to: c.id(3))) == .redirect(leader: n1, address: ""))
        // None of these stopped the leader from taking commands.
        #expect(c.runCommand("add 1") == .applied(Array("1".utf8)))
    }

    @Test func transferToALearnerIsRefused() {
        let c = SimCluster.elected()
        let n1 = c.id(1)
        let n4 = "sim://4"
        let join = c.join(n4, via: n1, asVoter: false)
        c.deliverAll()
        #expect(c.outcome(join) == .applied([]))
        #expect(c.outcome(c.transferLeadership(at: n1, to: n4)) == .rejected(.unknownNode(n4)))
        #expect(c.node(n1).role == .leader)
    }
}
