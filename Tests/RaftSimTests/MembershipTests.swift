import Testing
import RaftCore
import RaftSim

/// Membership changes one server at a time (Raft thesis §4.1–4.2.3): adding with catch-up
/// rounds, learners and their promotion, removal of followers and of the leader, self-exit, and
/// removed servers that must not disturb the rest.
@Suite struct MembershipTests {
    static let n4 = "sim://4"
    static let n5 = "sim://5"

    func voters(_ c: SimCluster, _ id: NodeID) -> [NodeID] { c.node(id).raft?.config.voterIDs ?? [] }

    // MARK: Adding

    @Test func aFourthNodeJoinsAndCatchesUp() {
        let c = SimCluster.elected()
        let n1 = c.id(1), n4 = Self.n4
        c.proposeBatch(32)
        let rid = c.join(n4, via: n1)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        c.settle()
        let all = c.ids
        #expect(c.inSync(all), "\(c.syncDescription(all))")
        #expect(c.node(n4).total == 32)
        for id in all { #expect(voters(c, id) == c.ids) }
        #expect(c.membershipEvents(n1) == [.membershipChangeComplete(.add, n4)])
        #expect(c.membershipEvents(n4) == [.membershipChangeComplete(.add, n4)])
        // The new voter counts: with N3 down, N1, N2 and N4 are a majority of four.
        c.crash(c.id(3))
        #expect(c.runCommand("add 1") == .applied(Array("33".utf8)))
    }

    /// Thesis §4.2.1: the new server is caught up in rounds, each replicating what the leader held
    /// when it began; it joins once a round takes no longer than an election timeout. Here the
    /// link to it is slow (one batch per 50 ms of virtual time) while clients keep writing.
    @Test func aLongLogNeedsSeveralCatchUpRounds() {
        let c = SimCluster.elected { $0.settings.maxInflight = 1 }
        let n1 = c.id(1), n4 = Self.n4
        c.proposeBatch(100)
        c.addNode(n4)
        c.filter = { m in m.to == n4 ? .hold : .deliver }
        let rid = c.join(n4, via: n1)
        var rounds: [Int] = []
        var proposed = 100
        for _ in 0..<400 where c.outcome(rid) == nil {
            c.with(n1) { raft in
                for _ in 0..<4 { raft.propose(Array("add 1".utf8), id: c.newRequestID()) }
            }
            proposed += 4
            c.deliverAll()
            c.advance(by: 50_000_000)
            c.releaseHeld()
            c.deliverAll()
            if let r = c.catchUpRound(at: n1), r != rounds.last { rounds.append(r) }
        }
        #expect(c.outcome(rid) == .applied([]))
        #expect(rounds.count >= 3, "rounds seen: \(rounds)")
        #expect(rounds == Array(1...(rounds.last ?? 1)))
        c.filter = nil
        c.releaseHeld()
        c.settle(rounds: 3)
        #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
        #expect(c.node(n4).total == Int64(proposed))
        for id in c.ids { #expect(voters(c, id) == c.ids) }
        #expect(c.membershipEvents(n1) == [.membershipChangeComplete(.add, n4)])
        #expect(c.membershipEvents(n4) == [.membershipChangeComplete(.add, n4)])
    }

    @Test func addingIsAbortedAfterTheRoundLimit() {
        let c = SimCluster.elected {
            $0.settings.maxInflight = 1
            $0.maxCatchUpRounds = 3
        }
        let n1 = c.id(1), n4 = Self.n4
        c.proposeBatch(100)
        c.addNode(n4)
        c.filter = { m in m.to == n4 ? .hold : .deliver }
        let rid = c.join(n4, via: n1)
        var rounds: Set<Int> = []
        // Clients write faster (15 entries per tick) than the new server receives (10).
        for _ in 0..<400 where c.outcome(rid) == nil {
            c.with(n1) { raft in
                for _ in 0..<15 { raft.propose(Array("add 1".utf8), id: c.newRequestID()) }
            }
            c.deliverAll()
            c.advance(by: 50_000_000)
            c.releaseHeld()
            c.deliverAll()
            if let r = c.catchUpRound(at: n1) { rounds.insert(r) }
        }
        #expect(rounds == [1, 2, 3])
        let why = RaftError.catchUpFailed(n4, rounds: 3)
        #expect(c.outcome(rid) == .rejected(why))
        #expect(why.description == "\(n4) did not catch up in 3 rounds")
        #expect(c.membershipEvents(n1) == [.membershipChangeAborted(.add, n4, reason: why.description)])
        #expect(c.membershipEvents(n4) == [.membershipChangeAborted(.add, n4, reason: why.description)])
        #expect(c.catchUpRound(at: n1) == nil)
        #expect(c.node(n1).raft?.changeInProgress == false)
        #expect(!(c.node(n1).raft?.config.contains(n4) ?? true))
        // Once the clients pause, the same server joins (it keeps what it received so far).
        c.filter = nil
        c.releaseHeld()
        c.deliverAll()
        let again = c.join(n4, via: n1)
        c.deliverAll()
        #expect(c.outcome(again) == .applied([]))
        c.settle()
        #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
    }

    /// Thesis §4.2.1: a new server that is unavailable must not leave the change hanging.
    @Test func addingANodeThatNeverAnswersTimesOut() {
        let c = SimCluster.elected { $0.addServerTimeout = 1_000_000_000 }
        let n1 = c.id(1), n4 = Self.n4
        c.proposeBatch(5)
        c.addNode(n4)
        // N4 receives everything but its answers are lost (its join request gets through).
        c.filter = { m in
            if m.from == n4, case .membershipChange = m.body { return .deliver }
            return m.from == n4 ? .drop : .deliver
        }
        let rid = c.join(n4, via: n1, timeout: 10_000_000_000)
        c.deliverAll()
        #expect(c.node(n1).raft?.changeInProgress == true)
        c.node(1).timersEnabled = true
        c.run(for: 900_000_000)
        #expect(c.outcome(rid) == nil)
        c.run(for: 200_000_000)
        let why = RaftError.additionTimedOut(n4)
        #expect(c.outcome(rid) == .rejected(why))
        #expect(c.membershipEvents(n1) == [.membershipChangeAborted(.add, n4, reason: "adding \(n4) timed out")])
        #expect(c.membershipEvents(n4) == [.membershipChangeAborted(.add, n4, reason: "adding \(n4) timed out")])
        #expect(c.node(n1).raft?.changeInProgress == false)
        #expect(voters(c, n1) == [c.id(1), c.id(2), c.id(3)])
        // The leader carries on.
        #expect(c.runCommand("add 1") == .applied(Array("6".utf8)))
    }

    @Test func addServerForAnUnreachableNodeIsRejected() {
        let c = SimCluster.elected { $0.addServerTimeout = 500_000_000 }
        let n1 = c.id(1)
        let ghost = "sim://ghost"
        let rid = c.addServer(Member(id: ghost), at: n1)
        c.deliverAll()
        #expect(c.outcome(rid) == nil)
        c.node(1).timersEnabled = true
        c.run(for: 600_000_000)
        #expect(c.outcome(rid) == .rejected(.additionTimedOut(ghost)))
        #expect(c.membershipEvents(n1) == [.membershipChangeAborted(.add, ghost, reason: "adding \(ghost) timed out")])
        #expect(!(c.node(n1).raft?.config.contains(ghost) ?? true))
    }

    /// One change at a time (thesis §4.1): while a server is being caught up, and while a config
    /// entry is uncommitted, every other change is refused.
    @Test func aChangeWhileAnotherIsInFlightIsRefused() {
        let c = SimCluster.elected()
        let (n1, n2, n3, n4, n5) = (c.id(1), c.id(2), c.id(3), Self.n4, Self.n5)
        let busy = RaftError.changeInProgress
        c.addNode(n4)
        c.filter = { m in m.to == n4 ? .hold : .deliver }
        let join4 = c.join(n4, via: n1)
        c.deliverAll()
        #expect(c.catchUpRound(at: n1) == 1)

        // Catch-up in progress.
        #expect(c.outcome(c.addServer(Member(id: n5), at: n1)) == .rejected(busy))
        #expect(c.outcome(c.removeServer(n3, at: n1)) == .rejected(busy))
        let join5 = c.join(n5, via: n1)
        c.deliverAll()
        #expect(c.outcome(join5) == .rejected(busy))
        #expect(c.membershipEvents(n5) == [.membershipChangeAborted(.add, n5, reason: busy.description)])
        let exit2 = c.exitCluster(n2)
        c.deliverAll()
        #expect(c.outcome(exit2) == .rejected(busy))
        #expect(c.node(n2).isUp)

        // The config entry is appended but cannot commit (N2 and N3 are cut off).
        c.partition([[n1, n4], [n2, n3]])
        c.filter = nil
        c.releaseHeld()
        c.deliverAll()
        #expect(voters(c, n1).contains(n4))
        #expect(c.outcome(join4) == nil)
        #expect(c.outcome(c.removeServer(n3, at: n1)) == .rejected(busy))
        // A leader's own exit is refused too, at once.
        let exit1 = c.exitCluster(n1)
        #expect(c.outcome(exit1) == .rejected(busy))

        // Once it commits, the next change goes through.
        c.heal()
        c.settle()
        #expect(c.outcome(join4) == .applied([]))
        let rm = c.removeServer(n4, at: n1)
        c.deliverAll()
        #expect(c.outcome(rm) == .applied([]))
        #expect(voters(c, n1) == [n1, n2, n3])
    }

    @Test func addingAnExistingMemberOrRemovingAStrangerIsRefused() {
        let c = SimCluster.elected()
        let n1 = c.id(1)
        guard case .rejected = c.outcome(c.addServer(Member(id: c.id(2)), at: n1)) else {
            Issue.record("re-adding a voter was accepted")
            return
        }
        #expect(c.outcome(c.removeServer("sim://nobody", at: n1)) == .rejected(.unknownNode("sim://nobody")))
        // A follower cannot change the membership: like a command, it is redirected to the leader.
        #expect(c.outcome(c.addServer(Member(id: Self.n4), at: c.id(2))) == .redirect(leader: n1, address: ""))
        #expect(c.outcome(c.removeServer(c.id(3), at: c.id(2))) == .redirect(leader: n1, address: ""))
        // A join sent to a follower is answered with a refusal naming the leader.
        let rid = c.join(Self.n4, via: c.id(2))
        c.deliverAll()
        #expect(c.outcome(rid) == .redirect(leader: n1, address: ""))
        #expect(c.node(n1).raft?.changeInProgress == false)
    }

    // MARK: Learners

    @Test func aLearnerReceivesTheLogButDoesNotCountUntilPromoted() {
        let c = SimCluster.elected()
        let (n1, n2, n3, n4) = (c.id(1), c.id(2), c.id(3), Self.n4)
        c.proposeBatch(3)
        let rid = c.join(n4, via: n1, asVoter: false)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        c.settle()
        for id in [n1, n2, n3, n4] {
            #expect(c.node(id).raft?.config.member(n4) == Member(id: n4, isVoter: false))
            #expect(voters(c, id) == [n1, n2, n3])
        }
        // It receives the log.
        #expect(c.runCommand("add 5") == .applied(Array("8".utf8)))
        #expect(c.node(n4).total == 8)

        // It does not count toward a commit quorum: N1 and the learner hold the entry, yet it
        // does not commit until a second voter does.
        c.crash(n2)
        c.crash(n3)
        let before = c.node(n1).commitIndex
        let rid2 = c.propose(n1, "add 1")
        c.deliverAll()
        #expect(c.node(n4).lastIndex == c.node(n1).lastIndex)
        #expect(c.outcome(rid2) == nil)
        #expect(c.node(n1).commitIndex == before)
        c.restart(n2)
        c.settle()
        #expect(c.outcome(rid2) == .applied(Array("9".utf8)))

        // Nor in elections: it never campaigns, and nobody asks for its vote.
        var votesAsked: [NodeID] = []
        c.filter = { m in
            switch m.body {
            case .preVote, .requestVote: votesAsked.append(m.to)
            default: break
            }
            return .deliver
        }
        c.campaign(n4)
        #expect(c.node(n4).outbox.isEmpty)
        #expect(c.node(n4).role == .follower)
        // With N1 and N3 down, N2 and the learner are two of four members but one of three
        // voters: no leader.
        c.crash(n1)
        c.leaderLost(n2)
        c.deliverAll()
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.leaders.isEmpty)
        #expect(!votesAsked.contains(n4))
        c.filter = nil

        // Promotion: the learner becomes a voter through the same one-at-a-time change.
        c.restart(n1)
        c.restart(n3)
        c.leaderLost(n1)
        c.deliverAll()
        #expect(c.node(n1).role == .leader)
        c.settle()
        let promote = c.addServer(Member(id: n4, isVoter: true), at: n1)
        c.deliverAll()
        #expect(c.outcome(promote) == .applied([]))
        c.settle()
        for id in [n1, n2, n3, n4] { #expect(voters(c, id) == [n1, n2, n3, n4]) }
        #expect(c.node(n1).events.contains(.membershipChangeComplete(.promote, n4)))
        // Now it counts: with N3 down, N1, N2 and N4 are a majority of four.
        c.crash(n3)
        #expect(c.runCommand("add 1") == .applied(Array("10".utf8)))
        // And it may lead.
        c.restart(n3)
        c.settle()
        c.crash(n1)
        c.leaderLost(n4)
        c.deliverAll()
        #expect(c.node(n4).role == .leader)
    }

    // MARK: Removing

    @Test func removingAFollowerStopsIt() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(2)
        let rid = c.removeServer(n3, at: n1)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(voters(c, n1) == [n1, n2])
        #expect(c.membershipEvents(n1) == [.membershipChangeComplete(.remove, n3)])
        // The leader told N3 the commit, so N3 knows it is out and stops.
        #expect(!c.node(n3).isUp)
        #expect(c.wasStopCommanded(n3))
        #expect(c.membershipEvents(n3) == [.membershipChangeComplete(.remove, n3)])
        // Heartbeats now go to N2 only, and two voters commit.
        c.heartbeat(n1)
        #expect(c.node(n1).outbox.map(\.to) == [n2])
        c.deliverAll()
        #expect(voters(c, n2) == [n1, n2])
        #expect(c.runCommand("add 1") == .applied(Array("3".utf8)))
        #expect(c.node(n2).total == 3)
    }

    /// Thesis §4.2.2: a leader removing itself leads until the change commits (not counting
    /// itself), then steps down; the others elect a leader among themselves.
    @Test func removingTheLeaderHandsOverAndStopsIt() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(2)
        let term = c.node(n1).term
        let rid = c.removeServer(n1, at: n1)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(!c.node(n1).isUp)
        #expect(c.wasStopCommanded(n1))
        #expect(c.node(n1).events.filter { $0 == .membershipChangeComplete(.remove, n1) }.count == 1)
        // A new leader among the rest, without waiting for an election timeout.
        guard let l = c.leader else {
            Issue.record("no new leader:\n\(c.stateDescription)")
            return
        }
        #expect([n2, n3].contains(l.id))
        #expect(l.term > term)
        #expect(c.runCommand("add 1") == .applied(Array("3".utf8)))
        c.settle()
        for id in [n2, n3] { #expect(voters(c, id) == [n2, n3]) }
        #expect(c.inSync([n2, n3]))
    }

    /// The removed server may crash after receiving its removal and before learning that it
    /// committed; restarted from its log, it must still stop once it learns.
    @Test func aRemovedFollowerThatRestartsBeforeTheCommitStillStops() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(2)
        let rid = c.removeServer(n3, at: n1)
        c.deliverUntil { voters(c, n3) == [n1, n2] }
        c.crash(n3)
        c.restart(n3)
        #expect(c.node(n3).isUp)
        #expect(voters(c, n3) == [n1, n2])
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(!c.node(n3).isUp)
        #expect(c.wasStopCommanded(n3))
        #expect(c.membershipEvents(n3) == [.membershipChangeComplete(.remove, n3)])
    }

    /// The same for a server that joined later (its log holds no bootstrap configuration).
    @Test func aRemovedJoinerThatRestartsBeforeTheCommitStillStops() {
        let c = SimCluster.elected()
        let (n1, n2, n3, n4) = (c.id(1), c.id(2), c.id(3), Self.n4)
        let join = c.join(n4, via: n1)
        c.deliverAll()
        #expect(c.outcome(join) == .applied([]))
        c.settle()
        let rid = c.removeServer(n4, at: n1)
        c.deliverUntil { voters(c, n4) == [n1, n2, n3] }
        c.crash(n4)
        c.restart(n4)
        #expect(c.node(n4).isUp)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(!c.node(n4).isUp)
        #expect(c.wasStopCommanded(n4))
    }

    @Test func aRemovedNodeRejoinsWithAFreshLog() {
        let c = SimCluster.elected()
        let (n1, n4) = (c.id(1), Self.n4)
        c.proposeBatch(1)
        #expect(c.outcome(c.join(n4, via: n1)) == nil)
        c.deliverAll()
        c.settle()
        #expect(c.node(n4).total == 1)
        let exit = c.exitCluster(n4)
        c.deliverAll()
        #expect(c.outcome(exit) == .applied([]))
        #expect(!c.node(n4).isUp)
        c.heartbeat(n1)
        #expect(c.node(n1).outbox.map(\.to) == [c.id(2), c.id(3)])
        c.deliverAll()
        for id in [n1, c.id(2), c.id(3)] { #expect(!(c.node(id).raft?.config.contains(n4) ?? true)) }
        // A new server under the same name, with an empty log, joins again.
        c.addNode(n4)
        let again = c.join(n4, via: n1)
        c.deliverAll()
        #expect(c.outcome(again) == .applied([]), "\(c.stateDescription)\n\(c.node(n4).events)\n\(c.node(n1).events.suffix(5))")
        c.settle()
        #expect(c.node(n4).total == 1)
        #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
    }

    /// When no follower holds the leader's whole log at the moment its removal commits (commands
    /// kept coming), there is nobody to hand over to: the rest elect a leader by timeout.
    @Test func aRemovedLeaderWithNoUpToDateFollowerLeavesItToAnElection() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(2)
        let rid = c.removeServer(n1, at: n1)
        let later = c.propose(n1, "add 1")
        // The config entry reaches N2 and N3 but the command after it does not.
        c.filter = { m in
            if case .appendEntries(let ae) = m.body, ae.entries.contains(where: { $0.kind == .command }) { return .drop }
            return .deliver
        }
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(!c.node(n1).isUp)
        #expect(c.outcome(later) == .stopped)
        #expect(c.leaders.isEmpty)
        c.filter = nil
        c.enableTimers()
        c.run(for: 1_000_000_000)
        guard let l = c.leader else {
            Issue.record("no leader:\n\(c.stateDescription)")
            return
        }
        #expect([n2, n3].contains(l.id))
        #expect(c.runCommand("add 1") == .applied(Array("3".utf8)))
        for id in [n2, n3] { #expect(voters(c, id) == [n2, n3]) }
    }

    @Test func aLearnerIsPromotedByJoiningAsAVoter() {
        let c = SimCluster.elected()
        let (n1, n4) = (c.id(1), Self.n4)
        let learner = c.join(n4, via: n1, asVoter: false)
        c.deliverAll()
        #expect(c.outcome(learner) == .applied([]))
        c.proposeBatch(3)
        let rid = c.newRequestID()
        c.with(n4) { $0.join(leader: n1, asVoter: true, requestID: rid, timeout: 10_000_000_000) }
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        c.settle()
        for id in c.ids { #expect(voters(c, id) == c.ids) }
        #expect(c.node(n1).events.contains(.membershipChangeComplete(.promote, n4)))
        // Asking again changes nothing and succeeds (a retried join).
        let again = c.newRequestID()
        c.with(n4) { $0.join(leader: n1, asVoter: true, requestID: again, timeout: 10_000_000_000) }
        c.deliverAll()
        #expect(c.outcome(again) == .applied([]))
        #expect(c.node(n1).raft?.changeInProgress == false)
    }

    @Test func aFollowerExitsByItself() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(1)
        let rid = c.exitCluster(n3)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(!c.node(n3).isUp)
        #expect(c.wasStopCommanded(n3))
        #expect(c.membershipEvents(n3) == [.membershipChangeComplete(.remove, n3)])
        #expect(c.membershipEvents(n1) == [.membershipChangeComplete(.remove, n3)])
        c.settle()
        #expect(voters(c, n1) == [n1, n2])
        #expect(voters(c, n2) == [n1, n2])
        c.heartbeat(n1)
        #expect(c.node(n1).outbox.map(\.to) == [n2])
    }

    @Test func theLeaderExitsByItself() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(1)
        let rid = c.exitCluster(n1)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(!c.node(n1).isUp)
        #expect(c.wasStopCommanded(n1))
        #expect(c.membershipEvents(n1) == [.membershipChangeComplete(.remove, n1)])
        guard let l = c.leader else {
            Issue.record("no new leader:\n\(c.stateDescription)")
            return
        }
        #expect([n2, n3].contains(l.id))
        #expect(c.runCommand("add 1") == .applied(Array("2".utf8)))
        c.settle()
        for id in [n2, n3] { #expect(voters(c, id) == [n2, n3]) }
    }

    @Test func theLastVoterCannotLeave() {
        let c = SimCluster(SimCluster.Options(nodeCount: 1))
        let n1 = c.id(1)
        c.elect(n1)
        #expect(c.node(n1).role == .leader)
        #expect(c.outcome(c.exitCluster(n1)) == .rejected(.lastVoter))
        #expect(c.outcome(c.removeServer(n1, at: n1)) == .rejected(.lastVoter))
        #expect(c.node(n1).isUp)
        #expect(c.runCommand("add 1") == .applied(Array("1".utf8)))
    }

    @Test func exitWithoutAKnownLeaderAsksForRetry() {
        let c = SimCluster()
        #expect(c.outcome(c.exitCluster(c.id(2))) == .retry)
    }

    /// Thesis §4.2.3: a removed server that never learned of its removal times out and
    /// campaigns; servers that hear from a leader ignore it, so the cluster keeps its leader and
    /// term.
    @Test(arguments: [true, false])
    func aRemovedServerDoesNotDisturbTheCluster(preVote: Bool) {
        let c = SimCluster.elected { $0.settings = ClusterSettings(heartbeatPeriod: 10_000_000, electionTimeoutMin: 150_000_000,
                                                       electionTimeoutMax: 300_000_000, maxEntriesPerMessage: 10,
                                                       maxInflight: 16, preVote: preVote, checkQuorum: true) }
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(2)
        // N3 receives the config entry that removes it, but never the commit.
        var cut = false
        c.filter = { m in
            if cut && (m.to == n3) { return .drop }
            if m.to == n3, case .appendEntries(let ae) = m.body, ae.entries.contains(where: { $0.kind == .config }) {
                cut = true
            }
            return .deliver
        }
        let rid = c.removeServer(n3, at: n1)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(c.node(n3).isUp)
        #expect(voters(c, n3) == [n1, n2])
        #expect(c.node(n3).raft?.changeInProgress == true)
        let term = c.node(n1).term
        c.enableTimers()
        c.run(for: 3_000_000_000)
        // N3 campaigned (and got nowhere); the leader and its term are unchanged.
        #expect(c.node(n3).electionSteps.contains(preVote ? .preVoteStarted : .electionStarted))
        #expect(c.node(n1).role == .leader)
        #expect(c.node(n1).term == term)
        #expect(c.node(n2).term == term)
        #expect(c.node(n2).leaderID == n1)
        #expect(c.node(n1).electionSteps.filter { $0 == .electionWon }.count == 1)
        #expect(c.runCommand("add 1") == .applied(Array("3".utf8)))
    }

    @Test func aServerCutOffBeforeItsRemovalDoesNotDisturbTheCluster() {
        let c = SimCluster.elected { $0.settings.preVote = false }
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(1)
        c.partition([[n1, n2], [n3]])
        let rid = c.removeServer(n3, at: n1)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        // N3 still believes it is a voter of three; back on the network it campaigns.
        c.heal()
        let term = c.node(n1).term
        c.enableTimers()
        c.run(for: 3_000_000_000)
        #expect(c.node(n3).term > term)
        #expect(c.node(n1).role == .leader && c.node(n1).term == term)
        #expect(c.node(n2).leaderID == n1 && c.node(n2).term == term)
        #expect(c.runCommand("add 1") == .applied(Array("2".utf8)))
    }
}
