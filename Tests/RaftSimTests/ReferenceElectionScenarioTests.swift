import Testing
import RaftCore
import RaftSim

/// Election scenarios of the reference library's suite (`raftengine-behaviour.md` §4) that had
/// no equivalent here, on our engine. Each test is named after the reference test it covers.
@Suite struct ReferenceElectionScenarioTests {
    func cluster(_ n: Int = 3, preVote: Bool) -> SimCluster {
        SimCluster(SimCluster.Options(nodeCount: n, preVote: preVote))
    }

    func granted(_ m: Message?) -> Bool? {
        guard let m else { return nil }
        switch m.body {
        case .requestVoteResponse(let r), .preVoteResponse(let r): return r.granted
        default: return nil
        }
    }

    /// test_reelection_2: in five nodes, the leader steps down; the first follower whose timer
    /// fires is elected by the others, the old leader among them.
    @Test func fiveNodesReElectAfterTheLeaderStepsDown() {
        let c = cluster(5, preVote: false)
        let n1 = c.id(1), n2 = c.id(2)
        c.elect(n1)
        #expect(c.node(1).role == .leader && c.node(1).term == 1)
        c.with(n1) { $0.testingForceRole(.follower) }
        #expect(c.leaders.isEmpty)
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(2).role == .leader)
        #expect(c.node(2).term == 2)
        #expect(c.leaders.count == 1)
        for i in [1, 3, 4, 5] {
            #expect(c.node(i).role == .follower)
            #expect(c.node(i).leaderID == n2)
            #expect(c.node(i).term == 2)
            #expect(c.node(i).raft?.votedFor == n2)
        }
        // The new leader's term-start entry (index 2, term 2) commits on all five.
        c.heartbeat(n2)
        c.deliverAll()
        for i in 1...5 {
            #expect(c.node(i).lastIndex == 2 && c.node(i).log.term(at: 2) == 2)
            #expect(c.node(i).commitIndex == 2)
        }
    }

    /// test_election_candidate_too_slow_1: N-2 campaigns in term 2 and N-1 votes for it, but
    /// before that vote arrives N-3 campaigns in term 3. N-2 steps down on N-3's request, and
    /// the late yes from term 2 is ignored: N-2 would otherwise hold a majority (itself and N-1).
    @Test func aCandidateThatSteppedDownIgnoresALateYes() {
        let c = cluster(preVote: false)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n3)
        c.with(n3) { $0.testingForceRole(.follower) }
        c.leaderLost(n2)
        #expect(c.node(2).role == .candidate && c.node(2).term == 2)
        c.transmit(n2)
        c.handleNext(n1)
        #expect(c.node(1).raft?.votedFor == n2)
        let lateYes = c.node(1).outbox
        #expect(lateYes.count == 1 && granted(lateYes.first) == true && lateYes.first?.term == 2)

        // N-3's term is pushed up by hand; its own campaign then runs in term 3.
        c.with(n3) { $0.testingForceTerm(2) }
        c.campaign(n3)
        #expect(c.node(3).role == .candidate && c.node(3).term == 3)
        c.transmit(n3)
        // N-2's inbox: N-3's term-3 request.
        c.handleNext(n2)
        #expect(c.node(2).role == .follower)
        #expect(c.node(2).term == 3)
        #expect(c.node(2).raft?.votedFor == n3)
        #expect(granted(c.node(2).outbox.last) == true)

        // The term-2 yes reaches N-2 now: ignored.
        c.transmit(n1)
        #expect(c.node(2).inbox.last?.term == 2)
        c.handleNext(n2)
        #expect(c.node(2).role == .follower && c.node(2).term == 3)
        #expect(c.leaders.isEmpty)

        c.deliverAll()
        #expect(c.node(3).role == .leader && c.node(3).term == 3)
        #expect(c.leaders.count == 1)
        for i in [1, 2] {
            #expect(c.node(i).leaderID == n3)
            #expect(c.node(i).term == 3)
        }
    }

    /// test_slow_voter: N-3's term-2 votes are produced but delivered only after N-3 started
    /// term 3. They are ignored; the term-3 votes carry term 3 and elect it.
    @Test func lateVotesFromAnOlderTermAreIgnored() {
        let c = cluster(preVote: false)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n3)
        c.with(n3) { $0.testingForceRole(.follower) }
        c.leaderLost(n3)
        #expect(c.node(3).role == .candidate && c.node(3).term == 2)
        c.transmit(n3)
        c.handleNext(n1)
        c.handleNext(n2)
        for i in [1, 2] {
            #expect(granted(c.node(i).outbox.last) == true)
            #expect(c.node(i).outbox.last?.term == 2)
        }

        // The votes are slow; N-3's election times out and it campaigns again.
        c.with(n3) { $0.electionTimeoutNow() }
        #expect(c.node(3).role == .candidate && c.node(3).term == 3)
        #expect(c.node(3).electionSteps.contains(.electionTimedOut))
        c.transmit(n1)
        c.transmit(n2)
        c.handleNext(n3)
        c.handleNext(n3)
        #expect(c.node(3).role == .candidate && c.node(3).term == 3)
        #expect(c.leaders.isEmpty)

        c.transmit(n3)
        c.handleNext(n1)
        c.handleNext(n2)
        for i in [1, 2] {
            #expect(granted(c.node(i).outbox.last) == true)
            #expect(c.node(i).outbox.last?.term == 3)
            #expect(c.node(i).raft?.votedFor == n3)
        }
        c.deliverAll()
        #expect(c.node(3).role == .leader && c.node(3).term == 3)
        #expect(c.node(1).leaderID == n3 && c.node(2).leaderID == n3)
    }

    /// test_election_candidate_term_too_old_1: N-1 crashes while leading term 1; N-3 is elected
    /// in term 2. Back with term 1, N-1 campaigns (authorized, so the leader lease does not
    /// matter): its pre-vote proposes term 2, which is not newer than N-2's, and is refused.
    /// The refusal carries term 2, and N-1 adopts it as a follower.
    @Test func aPreVoteIsRefusedWhenItsTermIsNotNewer() {
        let c = cluster(preVote: true)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.crash(n1)
        // N-3's term-start entry is kept from N-2, so N-1's log is as up to date as N-2's and
        // only the term can be the reason for the refusal.
        c.filter = { m in
            if case .appendEntries = m.body { return .drop }
            return .deliver
        }
        c.campaign(n3, authorized: true)
        c.deliverAll()
        c.filter = nil
        #expect(c.node(3).role == .leader && c.node(3).term == 2)
        #expect(c.node(2).term == 2)
        #expect(c.node(2).log.lastPosition == LogPosition(index: 1, term: 1))

        c.restart(n1)
        #expect(c.node(1).term == 1)
        #expect(c.node(1).log.lastPosition == c.node(2).log.lastPosition)
        c.campaign(n1, authorized: true)
        let requests = c.node(1).outbox
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { if case .preVote = $0.body { return $0.term == 2 } else { return false } })
        c.transmit(n1)
        c.dropInbox(n3, at: 0)
        c.handleNext(n2)
        let answer = c.node(2).outbox.last
        #expect(answer.map { $0.body == .preVoteResponse(VoteResponse(granted: false)) } == true)
        #expect(answer?.term == 2)
        #expect(c.node(2).term == 2)

        c.transmit(n2)
        c.handleNext(n1)
        #expect(c.node(1).role == .follower)
        #expect(c.node(1).term == 2)
        #expect(c.node(3).role == .leader && c.node(3).term == 2)
        // Nobody voted in a new term.
        #expect(c.node(2).raft?.votedFor == n3)
    }
}
