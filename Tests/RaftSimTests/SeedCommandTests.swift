import Foundation
import Testing
import RaftCore
import RaftSim

/// The seed document `test_command_1.rst`, section by section, on our engine. Node ids follow
/// the seed's harness (`mcpy://1..3`), timers are off and every step is driven by hand.
@Suite struct SeedCommandTests {
    static func makeCluster() -> SimCluster {
        var o = SimCluster.Options(nodeCount: 3)
        o.idPrefix = "mcpy://"
        return SimCluster(o)
    }

    func ops(_ c: SimCluster, section: Int) -> String { c.trace.rstTable(section: section) }

    @Test func testCommand1() throws {
        let c = Self.makeCluster()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))

        // Section 1: N-3 campaigns with pre-vote, wins, and replicates its term-start record.
        c.section("Normal election")
        c.campaign(n3)
        c.deliverAll()
        #expect(c.node(3).role == .leader)
        #expect(c.node(1).role == .follower && c.node(2).role == .follower)
        for i in 1...3 {
            #expect(c.node(i).term == 1)
            #expect(c.node(i).lastIndex == 1)
        }
        #expect(c.node(3).commitIndex == 1)
        #expect(c.node(1).leaderID == n3 && c.node(2).leaderID == n3)
        let s1 = ops(c, section: 0)
        #expect(s1.contains("p_v_r+N-1 t-1 li-0 lt-0"))
        #expect(s1.contains("N-3+p_v_r t-1 li-0 lt-0"))
        #expect(s1.contains("p_v+N-3 yes-True"))
        // The seed's table shows `poll ... lt-1` (its code once sent the new term there); a
        // RequestVote carries the candidate's last log term, 0 here (Raft §5.4.1).
        #expect(s1.contains("poll+N-1 t-1 li-0 lt-0"))
        #expect(s1.contains("vote+N-3 yes-True"))
        #expect(s1.contains("ae+N-1 t-1 i-0 lt-0 e-1 c-0"))
        #expect(s1.contains("N-1+ae_reply ok-True mi-1"))

        // Section 2: one command, run until the leader commits it.
        c.section("Run one command, normal sequence till leader commit")
        let rid = c.propose(n3, "add 1")
        c.deliverUntil { c.outcome(rid) != nil }
        #expect(c.outcome(rid) == .applied(Array("1".utf8)))
        #expect(c.node(3).total == 1)
        #expect(c.node(3).commitIndex == 2)
        c.deliverAll()
        for i in 1...3 { #expect(c.node(i).lastIndex == 2) }
        let s2 = ops(c, section: 1)
        #expect(s2.contains("ae+N-1 t-1 i-1 lt-1 e-1 c-1"))
        #expect(s2.contains("N-1+ae_reply ok-True mi-2"))

        // Section 3: a heartbeat carries the commit index; followers apply.
        c.section("Finish command by notifying followers of commit with heartbeat")
        c.heartbeat(n3)
        c.deliverAll()
        for i in 1...3 {
            #expect(c.node(i).commitIndex == 2)
            #expect(c.node(i).total == 1)
        }
        #expect(ops(c, section: 2).contains("ae+N-1 t-1 i-2 lt-1 e-0 c-2"))

        // Section 4: a command at a follower is redirected to the leader.
        c.section("Trying to run command at follower, looking for redirect")
        let r4 = c.propose(n1, "add 1")
        #expect(c.outcome(r4) == .redirect(leader: n3, address: ""))

        // Section 5: a follower pushed into candidacy answers "retry".
        c.section("Pushing one follower to candidate, then trying command to it, looking for retry")
        c.with(n1) { $0.testingForceRole(.candidate) }
        c.clearQueues(n1)
        #expect(c.node(1).role == .candidate)
        let r5 = c.propose(n1, "add 1")
        #expect(c.outcome(r5) == .retry)

        // Section 6: its term is forced back to 0; the leader's heartbeat (term 1) makes it a
        // follower of N-3 again.
        c.section("Pushing Leader to send heartbeats, after forcing candidate's term back down")
        c.with(n1) { $0.testingForceTerm(0) }
        c.heartbeat(n3)
        c.deliverAll()
        #expect(c.node(1).role == .follower)
        #expect(c.node(1).leaderID == n3)
        #expect(c.node(1).term == 1)
        #expect(c.node(3).role == .leader)

        // Section 7: N-1 crashes; two commands commit with the leader and N-2 alone.
        c.section("Crashing one follower, then running command to ensure it works with only one follower")
        c.crash(n1)
        #expect(c.runCommand("add 1") == .applied(Array("2".utf8)))
        #expect(c.runCommand("add 1") == .applied(Array("3".utf8)))
        #expect(c.node(3).total == 3)
        #expect(c.node(2).total == 3)
        #expect(c.node(2).commitIndex == 4)

        // Section 8: N-1 restarts and a heartbeat brings it up to date. The seed's leader backs
        // down one entry per message (`i-2 e-1`, then `i-3 e-1`); ours sends everything the
        // follower lacks in one append (`i-2 e-2`), since the rejection reports its last index.
        c.section("Recovering follower, then pushing heartbeat to get it to catch up")
        c.restart(n1)
        c.heartbeat(n3)
        c.deliverAll()
        #expect(c.node(1).lastIndex == 4)
        #expect(c.node(1).commitIndex == 4)
        #expect(c.node(1).total == 3)
        let s8 = ops(c, section: 7)
        #expect(s8.contains("ae+N-1 t-1 i-4 lt-1 e-0 c-4"))
        #expect(s8.contains("N-1+ae_reply ok-False mi-2"))
        #expect(s8.contains("ae+N-1 t-1 i-2 lt-1 e-2 c-4"))
        #expect(s8.contains("N-1+ae_reply ok-True mi-4"))
        _ = n2

        try c.trace.write(to: TraceOutput.directory, baseName: "test_command_1")
        let doc = c.trace.rstDocument(title: "Test test_command_1 on RaftEngine")
        #expect(doc.contains("Recovering follower"))
    }
}

enum TraceOutput {
    /// Trace documents land under `traces/` in the working directory (git-ignored).
    static var directory: String {
        FileManager.default.currentDirectoryPath + "/traces"
    }
}
