import Testing
import RaftCore
import RaftSim

/// Elections, written to read like the Raft paper's rules (§5.2, §5.4.1, §9.6).
@Suite struct ElectionTests {
    func cluster(_ n: Int = 3, preVote: Bool = true) -> SimCluster {
        SimCluster(SimCluster.Options(nodeCount: n, preVote: preVote))
    }

    @Test func preVoteThenVoteElectsOneLeader() {
        let c = cluster()
        c.elect(c.id(1))
        #expect(c.node(1).role == .leader)
        #expect(c.leaders.count == 1)
        for i in 2...3 {
            #expect(c.node(i).leaderID == c.id(1))
            #expect(c.node(i).raft?.votedFor == c.id(1))
        }
        #expect(c.node(1).electionSteps.prefix(3) == [.preVoteStarted, .preVoteWon, .electionStarted])
        #expect(c.node(1).electionSteps.contains(.electionWon))
        #expect(c.node(2).electionSteps.contains(.joinedLeader))
    }

    @Test func fiveNodesElectWithoutPreVote() {
        let c = cluster(5, preVote: false)
        c.elect(c.id(1))
        #expect(c.node(1).role == .leader)
        for i in 2...5 { #expect(c.node(i).leaderID == c.id(1)) }
    }

    @Test func splitVoteIsResolvedByANewElection() {
        let c = cluster(4, preVote: false)
        let (n1, n2, n3, n4) = (c.id(1), c.id(2), c.id(3), c.id(4))
        c.campaign(n1)
        c.campaign(n2)
        // N3 hears N1 first, N4 hears N2 first: two votes each, no majority of four.
        c.transmit(n1)
        c.transmit(n2)
        #expect(c.node(3).inbox.first?.from == n1)
        c.reverseInbox(n4)
        #expect(c.node(4).inbox.first?.from == n2)
        c.deliverAll()
        #expect(c.leaders.isEmpty)
        #expect(c.node(3).raft?.votedFor == n1 && c.node(4).raft?.votedFor == n2)
        _ = n3
        // The next timeout starts term 2, and this time one candidate gets a majority.
        c.leaderLost(n1)
        c.deliverAll()
        #expect(c.node(1).role == .leader)
        #expect(c.node(1).term == 2)
        #expect(c.leaders.count == 1)
    }

    @Test func candidateWithAnOlderLogIsRefused() {
        let c = cluster(preVote: false)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.crash(n3)
        #expect(c.runCommand("add 1") == .applied(Array("1".utf8)))
        c.crash(n1)
        c.restart(n3)
        // N3 lacks the committed command: N2 must refuse it (Raft §5.4.1).
        c.leaderLost(n3)
        c.deliverAll()
        #expect(c.node(3).role != .leader)
        #expect(c.node(2).raft?.votedFor != n3)
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(2).role == .leader)
        c.heartbeat(n2)
        c.deliverAll()
        #expect(c.node(3).total == 1)
    }

    @Test func olderLogIsRefusedWithPreVoteToo() {
        let c = cluster(preVote: true)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.crash(n3)
        c.runCommand("add 1")
        c.crash(n1)
        c.restart(n3)
        let termBefore = c.node(3).term
        c.leaderLost(n3)
        c.deliverAll()
        #expect(c.node(3).role != .leader)
        #expect(c.node(2).raft?.votedFor == n1)
        // A failed pre-vote costs no term: nobody's term moved.
        #expect(c.node(3).term == termBefore && c.node(2).term == termBefore)
        _ = n2
    }

    @Test func requestFromAStaleTermIsRefusedWithOurTerm() {
        let c = cluster(preVote: false)
        let (n1, n2) = (c.id(1), c.id(2))
        c.elect(n1)
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(2).role == .leader && c.node(2).term == 2)
        // A vote request from term 1 (the seed library granted these).
        c.inject(Message(from: n1, to: n2, term: 1, body: .requestVote(VoteRequest(lastIndex: 99, lastTerm: 1))))
        c.handleNext(n2)
        let reply = c.node(2).outbox.last
        #expect(reply?.body == .requestVoteResponse(VoteResponse(granted: false)))
        #expect(reply?.term == 2)
        #expect(c.node(2).role == .leader && c.node(2).term == 2)
    }

    @Test func aVoteIsGrantedOncePerTermEvenAcrossRestarts() {
        let c = cluster(preVote: false)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.campaign(n1)
        c.campaign(n2)
        c.transmit(n1)
        c.transmit(n2)
        // N3 sees N1's request first and votes for it.
        #expect(c.node(3).inbox.map(\.from) == [n1, n2])
        c.handleNext(n3)
        #expect(c.node(3).raft?.votedFor == n1)
        // N3 crashes and restarts: the vote is durable, so N2's request (same term) is refused.
        let n2Request = c.node(3).inbox[0]
        c.transmit(n3)
        c.crash(n3)
        c.restart(n3)
        #expect(c.node(3).raft?.votedFor == n1)
        c.inject(n2Request)
        c.handleNext(n3)
        #expect(c.node(3).outbox.last?.body == .requestVoteResponse(VoteResponse(granted: false)))
        c.deliverAll()
        #expect(c.node(1).role == .leader)
        #expect(c.leaders.count == 1)
    }

    @Test func preVoteIsRefusedWhileALeaderIsAlive() {
        let c = cluster(preVote: true)
        let (n1, n3) = (c.id(1), c.id(3))
        c.elect(n1)
        c.campaign(n3)
        c.deliverAll()
        // The leader refuses, and so does N2, which heard from it within the lease.
        #expect(c.node(3).electionSteps.contains(.preVoteLost))
        #expect(c.node(3).role == .follower)
        for i in 1...3 { #expect(c.node(i).term == 1) }
        #expect(c.node(1).role == .leader)
        c.heartbeat(n1)
        c.deliverAll()
        #expect(c.node(3).leaderID == n1)
    }

    @Test func partitionedLeaderStepsDownByCheckQuorumAndMajorityElects() {
        let c = cluster()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.partition([[n1], [n2, n3]])
        c.node(1).timersEnabled = true
        c.advance(by: 2 * c.options.settings.electionTimeoutMax + 1)
        c.deliverAll()
        #expect(c.node(1).role == .follower)
        #expect(c.node(1).electionSteps.contains(.leaderLost))
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(2).role == .leader)
        #expect(c.node(3).leaderID == n2)
        c.heal()
        c.heartbeat(n2)
        c.deliverAll()
        #expect(c.node(1).leaderID == n2)
        #expect(c.node(1).term == c.node(2).term)
    }

    @Test func leaderWithAMajorityKeepsLeading() {
        let c = cluster()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.partition([[n1, n2], [n3]])
        c.node(1).timersEnabled = true
        c.node(2).timersEnabled = true
        c.run(for: 3 * c.options.settings.electionTimeoutMax)
        #expect(c.node(1).role == .leader)
        #expect(c.node(1).term == 1)
    }

    @Test func oldLeaderRejoinsDiscardsUncommittedEntriesAndFollows() {
        let c = cluster()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        #expect(c.runCommand("add 1") == .applied(Array("1".utf8)))
        c.partition([[n1], [n2, n3]])
        let lostA = c.propose(n1, "add 10")
        let lostB = c.propose(n1, "add 20")
        c.deliverAll()
        #expect(c.node(1).lastIndex == 4)
        #expect(c.outcome(lostA) == nil)
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(2).role == .leader)
        #expect(c.runCommand("add 2", at: n2) == .applied(Array("3".utf8)))
        c.heal()
        c.heartbeat(n2)
        c.deliverAll()
        #expect(c.node(1).role == .follower)
        #expect(c.node(1).leaderID == n2)
        // N1's two uncommitted entries were replaced by the new leader's log.
        #expect(c.node(1).lastIndex == c.node(2).lastIndex)
        for i in 1...c.node(2).lastIndex {
            #expect(c.node(1).log.term(at: i) == c.node(2).log.term(at: i))
        }
        #expect(c.node(1).total == 3)
        // Their proposers learn they will never apply, and where the leader is now.
        #expect(c.outcome(lostA) == .redirect(leader: n2, address: ""))
        #expect(c.outcome(lostB) == .redirect(leader: n2, address: ""))
    }

    @Test func staleLeaderLearnsTheNewTermFromAFollower() {
        let c = cluster(preVote: false)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.partition([[n1], [n2, n3]])
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(2).role == .leader && c.node(2).term == 2)
        c.heal()
        // The old leader's heartbeat is answered with term 2; it steps down.
        c.heartbeat(n1)
        c.deliverAll()
        #expect(c.node(1).role == .follower)
        #expect(c.node(1).term == 2)
        _ = n3
    }

    @Test func electionEventsArriveInOrder() {
        let c = cluster()
        c.elect(c.id(1))
        let roles = c.node(1).events.compactMap { e -> Role? in if case .roleChanged(let r) = e { return r } else { return nil } }
        #expect(roles == [.follower, .candidate, .leader])
        #expect(c.node(1).events.contains(.termChanged(1)))
        #expect(c.node(2).events.contains(.leaderChanged(c.id(1))))
        #expect(c.node(2).electionSteps.contains(.newerTerm))
    }
}
