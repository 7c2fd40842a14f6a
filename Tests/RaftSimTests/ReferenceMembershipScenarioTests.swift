import Testing
import RaftCore
import RaftSim

/// Membership scenarios of the reference library's suite (`raftengine-behaviour.md` §4) that
/// had no equivalent here: uncommitted changes undone by a new leader, a join or exit that times
/// out, a candidate asked to leave. Each test is named after the reference test it covers.
@Suite struct ReferenceMembershipScenarioTests {
    static let n4 = "sim://4"

    func voters(_ c: SimCluster, _ id: NodeID) -> [NodeID] { c.node(id).raft?.config.voterIDs ?? [] }

    /// Drops every append that carries a configuration entry (except to `keep`), so a change
    /// stays on the leader (and `keep`) and cannot commit.
    func withholdConfigEntries(_ c: SimCluster, except keep: NodeID? = nil) {
        c.filter = { m in
            guard m.to != keep, case .appendEntries(let ae) = m.body else { return .deliver }
            return ae.entries.contains { $0.kind == .config } ? .drop : .deliver
        }
    }

    /// Ticks `id` at the cluster's current time, so a deadline already passed fires.
    func tick(_ c: SimCluster, _ id: NodeID) {
        c.with(id) { $0.tick(now: c.now) }
    }

    /// test_reverse_add_follower_1: the leader appends the entry adding N-4 and crashes before
    /// the other members have it. N-2 is elected and its term-start entry takes the same index.
    /// When N-1 comes back, N-2's term-start entry overwrites the add, and N-1 follows the
    /// three-member configuration again.
    @Test func anUncommittedAddIsUndoneWhenANewLeaderOverwritesIt() {
        let c = SimCluster.elected()
        let (n1, n2, n3, n4) = (c.id(1), c.id(2), c.id(3), Self.n4)
        c.proposeBatch(1)
        withholdConfigEntries(c, except: n4)
        let join = c.join(n4, via: n1, timeout: 100_000_000)
        c.deliverAll()
        let addIndex = c.node(n1).lastIndex
        #expect(c.node(n1).log.term(at: addIndex) == 1)
        #expect(voters(c, n1) == [n1, n2, n3, n4])
        #expect(c.node(n1).raft?.changeInProgress == true)
        #expect(c.node(n2).lastIndex == addIndex - 1 && c.node(n3).lastIndex == addIndex - 1)
        // N-1 and N-4 hold it: two of four, no commit. Our leader answers the joiner when the
        // entry commits (the seed's answered it as soon as the entry was appended).
        #expect(c.node(n1).commitIndex == addIndex - 1)
        #expect(c.outcome(join) == nil)
        c.filter = nil

        c.crash(n1)
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(n2).role == .leader && c.node(n2).term == 2)
        #expect(c.node(n2).log.term(at: addIndex) == 2)
        #expect(voters(c, n2) == [n1, n2, n3])

        c.restart(n1)
        #expect(voters(c, n1) == [n1, n2, n3, n4])
        #expect(c.node(n1).raft?.changeInProgress == true)
        // The seed's N-1 refused the heartbeat and dropped the add on the leader's backdown.
        // Our heartbeat's previous entry is the one before N-2's own (N-2 probes a follower
        // from there after its election), which N-1 holds: N-1 accepts, its add still stands.
        c.heartbeat(n2)
        c.transmit(n2)
        c.handleNext(n1)
        guard case .appendResponse(let answer)? = c.node(n1).outbox.last?.body else {
            Issue.record("N-1 did not answer the heartbeat")
            return
        }
        #expect(answer.success && answer.index == addIndex - 1 && answer.lastIndex == addIndex)
        #expect(voters(c, n1) == [n1, n2, n3, n4])
        // The leader then sends its entry at that index, which conflicts with the add.
        c.transmit(n1)
        c.handleNext(n2)
        c.transmit(n2)
        guard case .appendEntries(let overwrite)? = c.node(n1).inbox.first?.body else {
            Issue.record("N-2 did not send its entries")
            return
        }
        #expect(overwrite.prevIndex == addIndex - 1 && overwrite.entries.first?.term == 2)
        c.handleNext(n1)
        #expect(voters(c, n1) == [n1, n2, n3])
        c.deliverAll()
        #expect(voters(c, n1) == [n1, n2, n3])
        #expect(c.node(n1).raft?.changeInProgress == false)
        #expect(c.node(n1).log.term(at: addIndex) == 2)
        c.settle()
        #expect(c.inSync([n1, n2, n3]), "\(c.syncDescription([n1, n2, n3]))")

        // The joiner never heard back; its request times out.
        tick(c, n4)
        #expect(c.outcome(join) == .timeout)
        #expect(c.membershipEvents(n4) == [.membershipChangeAborted(.add, n4, reason: "timed out")])
    }

    /// The first part of the reverse-remove scenarios: N-3 asks to leave; the leader appends
    /// the removal but crashes before anyone else has it; N-2 is elected and its term-start
    /// entry takes the removal's index. Returns the exit's request id and that index.
    func removalOverwrittenByANewLeader(_ c: SimCluster, exitTimeout: Nanos) -> (exit: UInt64, index: LogIndex) {
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(1)
        withholdConfigEntries(c)
        let exit = c.exitCluster(n3, timeout: exitTimeout)
        c.deliverAll()
        let index = c.node(n1).lastIndex
        #expect(voters(c, n1) == [n1, n2])
        #expect(voters(c, n3) == [n1, n2, n3])
        #expect(c.outcome(exit) == nil)
        c.filter = nil
        c.crash(n1)
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(n2).role == .leader && c.node(n2).term == 2)
        #expect(c.node(n2).log.term(at: index) == 2)
        c.restart(n1)
        #expect(voters(c, n1) == [n1, n2])
        #expect(c.node(n1).raft?.changeInProgress == true)
        c.settle()
        #expect(voters(c, n1) == [n1, n2, n3])
        #expect(c.node(n1).raft?.changeInProgress == false)
        #expect(c.inSync([n1, n2, n3]), "\(c.syncDescription([n1, n2, n3]))")
        return (exit, index)
    }

    /// test_reverse_remove_follower_1: the removal is undone on N-1; N-3's exit, never
    /// answered, times out with an aborted event, and N-3 stays a voter that counts.
    @Test func anUncommittedRemoveIsUndoneAndTheExitTimesOut() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        let (exit, _) = removalOverwrittenByANewLeader(c, exitTimeout: 20_000_000)
        tick(c, n3)
        #expect(c.outcome(exit) == .timeout)
        #expect(c.membershipEvents(n3) == [.membershipChangeAborted(.remove, n3, reason: "timed out")])
        #expect(c.node(n3).isUp)
        #expect(voters(c, n2) == [n1, n2, n3] && voters(c, n3) == [n1, n2, n3])
        // N-3 still counts: with N-1 down, N-2 and N-3 commit.
        c.crash(n1)
        #expect(c.runCommand("add 1", at: n2) == .applied(Array("2".utf8)))
    }

    /// test_reverse_remove_follower_2: the same, but N-3 is stopped while its exit waits. The
    /// request completes as stopped and nothing fires later.
    @Test func aNodeStoppedWhileItsExitWaitsAnswersStopped() {
        let c = SimCluster.elected()
        let n3 = c.id(3)
        let (exit, _) = removalOverwrittenByANewLeader(c, exitTimeout: 10_000_000_000)
        #expect(c.outcome(exit) == nil)
        c.with(n3) { $0.stop() }
        #expect(!c.node(n3).isUp)
        #expect(c.outcome(exit) == .stopped)
        c.advance(by: 20_000_000_000)
        tick(c, n3)
        #expect(c.outcome(exit) == .stopped)
        #expect(c.membershipEvents(n3).isEmpty)
    }

    /// test_reverse_remove_follower_3: five nodes; N-5 asks to leave and the leader's removal
    /// reaches only N-5 before the network splits {N-1, N-5} | {N-2, N-3, N-4}. The majority
    /// elects N-2, whose term-start entry takes the removal's index. After the heal both N-1 and
    /// N-5 drop the removal (the reference test meant to check N-5 too, and read N-1 twice).
    @Test func anUncommittedRemoveIsUndoneOnBothSidesOfAPartition() {
        let c = SimCluster(SimCluster.Options(nodeCount: 5))
        let (n1, n2, n3, n4, n5) = (c.id(1), c.id(2), c.id(3), c.id(4), c.id(5))
        c.elect(n1)
        c.settle()
        let all = [n1, n2, n3, n4, n5]
        let exit = c.exitCluster(n5)
        c.transmit(n5)
        c.handleNext(n1)
        let index = c.node(n1).lastIndex
        #expect(voters(c, n1) == [n1, n2, n3, n4])
        c.partition([[n1, n5], [n2, n3, n4]])
        c.deliverAll()
        #expect(voters(c, n5) == [n1, n2, n3, n4])
        #expect(c.node(n5).raft?.changeInProgress == true)
        #expect(c.node(n1).commitIndex < index)

        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(n2).role == .leader && c.node(n2).term == 2)
        #expect(c.node(n2).log.term(at: index) == 2)

        c.heal()
        c.settle()
        #expect(c.node(n1).role == .follower && c.node(n1).leaderID == n2)
        for id in [n1, n5] {
            #expect(voters(c, id) == all)
            #expect(c.node(id).raft?.changeInProgress == false)
            #expect(c.node(id).log.term(at: index) == 2)
        }
        #expect(c.inSync(all), "\(c.syncDescription(all))")
        // The old leader, stepping down, told N-5 its exit ended without a known result.
        #expect(c.outcome(exit) == .rejected(.leaderSteppedDown))
        #expect(c.membershipEvents(n5) == [.membershipChangeAborted(.remove, n5, reason: RaftError.leaderSteppedDown.description)])
        #expect(c.node(n5).isUp)
    }

    /// test_add_follower_timeout_1: a new node asks an unreachable leader to add it; its own
    /// timeout ends the request with an aborted event. Our node keeps running (the seed's
    /// stopped itself) and joins once the leader is reachable.
    @Test func aJoinToAnUnreachableLeaderTimesOut() {
        let c = SimCluster.elected()
        let (n1, n4) = (c.id(1), Self.n4)
        c.addNode(n4)
        c.partition([[n1], [c.id(2), c.id(3), n4]])
        let join = c.join(n4, via: n1, timeout: 10_000_000)
        c.deliverAll()
        c.node(n4).timersEnabled = true
        c.advance(by: 5_000_000)
        #expect(c.outcome(join) == nil)
        c.advance(by: 6_000_000)
        #expect(c.outcome(join) == .timeout)
        #expect(c.membershipEvents(n4) == [.membershipChangeAborted(.add, n4, reason: "timed out")])
        #expect(c.node(n1).raft?.changeInProgress == false)
        #expect(voters(c, n1) == [n1, c.id(2), c.id(3)])
        #expect(c.node(n4).isUp)

        c.heal()
        let again = c.join(n4, via: n1)
        c.deliverAll()
        #expect(c.outcome(again) == .applied([]))
        c.settle()
        #expect(voters(c, n1) == c.ids)
        #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
    }

    /// test_remove_candidate_1: N-3 is campaigning (pre-vote) when it is asked to leave.
    @Test func aCandidateAskedToExit() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(1)
        c.campaign(n3)
        #expect(c.node(n3).role == .candidate)
        // Our candidate forgot its leader when it began campaigning, so its own exit has nobody
        // to go to and asks for a retry (the seed's candidate sent it to the leader it last knew).
        let early = c.exitCluster(n3)
        #expect(c.outcome(early) == .retry)
        // The others refuse its pre-vote while their leader is alive; the leader's next
        // heartbeat makes it a follower that knows the leader, and the exit goes through.
        c.deliverAll()
        c.heartbeat(n1)
        c.deliverAll()
        #expect(c.node(n3).role == .follower && c.node(n3).leaderID == n1)
        #expect(c.node(n3).term == 1)
        let exit = c.exitCluster(n3)
        c.deliverAll()
        #expect(c.outcome(exit) == .applied([]))
        #expect(!c.node(n3).isUp)
        #expect(c.wasStopCommanded(n3))
        c.heartbeat(n1)
        #expect(c.node(n1).outbox.map(\.to) == [n2])
    }

    /// The same candidate removed by the leader while it campaigns: the leader's append (same
    /// term) ends the campaign, the removal reaches it and commits, and it stops.
    @Test func aCandidateRemovedByTheLeaderStops() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.proposeBatch(1)
        c.campaign(n3)
        #expect(c.node(n3).role == .candidate)
        let rid = c.removeServer(n3, at: n1)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(!c.node(n3).isUp)
        #expect(c.wasStopCommanded(n3))
        #expect(c.membershipEvents(n3) == [.membershipChangeComplete(.remove, n3)])
        #expect(voters(c, n1) == [n1, n2])
        #expect(c.node(n1).term == 1)
        c.heartbeat(n1)
        #expect(c.node(n1).outbox.map(\.to) == [n2])
    }
}
