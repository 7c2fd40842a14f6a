import Foundation
import Testing
import RaftCore
import RaftSim

/// The seed document `test_command_1.rst`, section by section, on our engine. Node ids follow
/// the seed's harness (`mcpy://1..3`), timers are off and every message is moved by hand in the
/// order the seed's tables show, so each section's trace can be compared with the seed's table
/// row by row. Where our engine behaves differently the expected rows say so, with the reason.
@Suite struct SeedCommandTests {
    static func makeCluster() -> SimCluster {
        var o = SimCluster.Options(nodeCount: 3)
        o.idPrefix = "mcpy://"
        return SimCluster(o)
    }

    /// What the seed's test checks of a node: role, term, last index, commit index.
    struct Figures: Equatable, CustomStringConvertible {
        var role: Role
        var term: Term
        var last: LogIndex
        var commit: LogIndex

        init(_ role: Role, term: Term, last: LogIndex, commit: LogIndex) {
            (self.role, self.term, self.last, self.commit) = (role, term, last, commit)
        }

        var description: String { "\(role) t=\(term) last=\(last) commit=\(commit)" }
    }

    func figures(_ c: SimCluster) -> [Figures] {
        c.ids.map { id in
            let n = c.node(id)
            return Figures(n.role, term: n.term, last: n.lastIndex, commit: n.commitIndex)
        }
    }

    func rows(_ c: SimCluster, section: Int) -> TraceRows { TraceRows(rst: c.trace.rstTable(section: section)) }

    /// Holds messages to `id` while `body` runs, so a node's messages leave one at a time as
    /// the seed's harness moved them; `releaseHeld()` sends them on.
    func holding(_ c: SimCluster, to id: NodeID, _ body: () -> Void) {
        c.filter = { $0.to == id ? .hold : .deliver }
        body()
        c.filter = nil
    }

    @Test func testCommand1() throws {
        let c = Self.makeCluster()
        normalElection(c)
        oneCommandUntilLeaderCommit(c)
        heartbeatCarriesTheCommit(c)
        commandAtAFollowerIsRedirected(c)
        commandAtACandidateAsksForRetry(c)
        heartbeatReturnsTheCandidateToFollower(c)
        commandsWithOneFollowerCrashed(c)
        recoveringFollowerCatchesUp(c)

        try c.trace.write(to: TraceOutput.directory, baseName: "test_command_1")
        #expect(c.trace.rstDocument(title: "Test test_command_1 on RaftEngine").contains("Recovering follower"))
    }

    /// Section 1: N-3 campaigns with pre-vote, wins, and replicates its term-start record.
    func normalElection(_ c: SimCluster) {
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.section("Normal election")
        c.campaign(n3)
        c.transmit(n3)
        c.handleNext(n1)
        c.transmit(n1)
        c.handleNext(n2)
        c.transmit(n2)
        // The first yes makes a majority: the pre-vote is won and the election (term 1) starts.
        c.handleNext(n3)
        c.transmit(n3)
        // The second pre-vote answer arrives after the pre-vote round ended; it changes nothing.
        c.handleNext(n3)
        c.handleNext(n1)
        c.transmit(n1)
        c.handleNext(n2)
        c.transmit(n2)
        c.handleNext(n3)
        c.transmit(n3)
        c.handleNext(n3)
        c.handleNext(n1)
        c.transmit(n1)
        c.handleNext(n2)
        c.transmit(n2)
        c.handleNext(n3)
        c.handleNext(n3)

        #expect(figures(c) == [Figures(.follower, term: 1, last: 1, commit: 0),
                               Figures(.follower, term: 1, last: 1, commit: 0),
                               Figures(.leader, term: 1, last: 1, commit: 1)])
        #expect(c.node(1).leaderID == n3 && c.node(2).leaderID == n3)
        #expect(c.node(1).raft?.votedFor == n3 && c.node(2).raft?.votedFor == n3)

        // A RequestVote carries the candidate's last log term, 0 on an empty log (Raft §5.4.1);
        // the seed's code sent the new term in that field, hence its `lt-1`.
        let want = TraceRows(rst: SeedTables.section1)
            .replacingCells("poll+N-1 t-1 li-0 lt-1", with: "poll+N-1 t-1 li-0 lt-0")
            .replacingCells("poll+N-2 t-1 li-0 lt-1", with: "poll+N-2 t-1 li-0 lt-0")
            .replacingCells("N-3+poll t-1 li-0 lt-1", with: "N-3+poll t-1 li-0 lt-0")
        expectSameRows(rows(c, section: 0), want, "section 1")
    }

    /// Section 2: one command, run until the leader commits it.
    func oneCommandUntilLeaderCommit(_ c: SimCluster) {
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.section("Run one command, normal sequence till leader commit")
        var rid: UInt64 = 0
        holding(c, to: n2) {
            rid = c.propose(n3, "add 1")
            c.transmit(n3)
        }
        c.handleNext(n1)
        c.transmit(n1)
        c.handleNext(n3)
        #expect(c.outcome(rid) == .applied(Array("1".utf8)))
        c.releaseHeld()
        c.handleNext(n2)
        c.transmit(n2)
        c.handleNext(n3)

        #expect(figures(c) == [Figures(.follower, term: 1, last: 2, commit: 1),
                               Figures(.follower, term: 1, last: 2, commit: 1),
                               Figures(.leader, term: 1, last: 2, commit: 2)])
        #expect(c.node(3).total == 1)

        // Two differences. The seed's followers already held commit 1 when the section began;
        // ours learn it from this section's appends (`c-1`), so their rows show `ci-1`. And our
        // leader answers the moment the entry commits, on N-1's reply; the seed's table shows
        // CMD DONE where its test coroutine resumed, after N-2's reply.
        let cmdDone = "| FLWR | | | FLWR | | | LEAD | CMD DONE | |"
        let want = TraceRows(rst: SeedTables.section2)
            .setting(row: 2, cell: 2, to: "li-2 ci-1")
            .setting(row: 6, cell: 5, to: "li-2 ci-1")
            .removing(row: 9)
            .inserting(cmdDone, at: 5)
        expectSameRows(rows(c, section: 1), want, "section 2")
    }

    /// Section 3: a heartbeat carries the commit index; followers apply.
    func heartbeatCarriesTheCommit(_ c: SimCluster) {
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.section("Finish command by notifying followers of commit with heartbeat")
        c.heartbeat(n3)
        c.transmit(n3)
        c.handleNext(n1)
        c.handleNext(n2)
        // The followers' answers go out now; the leader handles them in section 6.
        c.transmit(n1)
        c.transmit(n2)

        #expect(figures(c) == [Figures(.follower, term: 1, last: 2, commit: 2),
                               Figures(.follower, term: 1, last: 2, commit: 2),
                               Figures(.leader, term: 1, last: 2, commit: 2)])
        for i in 1...3 { #expect(c.node(i).total == 1) }

        // The seed's table has no row for these answers leaving (its harness moved them without
        // a trace line; they reappear when the leader handles them in section 6). Ours shows them.
        let want = TraceRows(rst: SeedTables.section3)
            .inserting("| FLWR | N-1+ae_reply ok-True mi-2 | | FLWR | | | LEAD | | |", at: 4)
            .inserting("| FLWR | | | FLWR | N-2+ae_reply ok-True mi-2 | | LEAD | | |", at: 5)
        expectSameRows(rows(c, section: 2), want, "section 3")
    }

    /// Section 4: a command at a follower is redirected to the leader and changes nothing there.
    func commandAtAFollowerIsRedirected(_ c: SimCluster) {
        let (n1, n3) = (c.id(1), c.id(3))
        c.section("Trying to run command at follower, looking for redirect")
        let log = c.node(1).log
        let before = (log.lastIndex, log.lastTerm, c.node(1).commitIndex, try? log.entries(from: 1, through: 2, maxBytes: .max))
        let rid = c.propose(n1, "add 1")
        #expect(c.outcome(rid) == .redirect(leader: n3, address: ""))
        let after = (log.lastIndex, log.lastTerm, c.node(1).commitIndex, try? log.entries(from: 1, through: 2, maxBytes: .max))
        #expect(before == after)
        #expect(c.node(1).outbox.isEmpty)
        #expect(c.node(1).total == 1)

        expectSameRows(rows(c, section: 3), TraceRows(rst: SeedTables.section4), "section 4")
    }

    /// Section 5: a follower pushed into candidacy answers "retry".
    func commandAtACandidateAsksForRetry(_ c: SimCluster) {
        let n1 = c.id(1)
        c.section("Pushing one follower to candidate, then trying command to it, looking for retry")
        c.with(n1) { $0.testingForceRole(.candidate) }
        // Its pre-vote requests are thrown away, as the seed's test clears the node's queues.
        c.clearQueues(n1)
        #expect(c.node(1).role == .candidate)
        // A pre-vote candidate keeps its term.
        #expect(c.node(1).term == 1)
        let rid = c.propose(n1, "add 1")
        #expect(c.outcome(rid) == .retry)

        expectSameRows(rows(c, section: 4), TraceRows(rst: SeedTables.section5), "section 5")
    }

    /// Section 6: the candidate's term is forced back to 0; the leader's heartbeat (term 1)
    /// makes it a follower of N-3 again.
    func heartbeatReturnsTheCandidateToFollower(_ c: SimCluster) {
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.section("Pushing Leader to send heartbeats, after forcing candidate's term back down")
        c.with(n1) { $0.testingForceTerm(0) }
        // N-1's answer from section 3.
        c.handleNext(n3)
        holding(c, to: n2) {
            c.heartbeat(n3)
            c.transmit(n3)
        }
        c.handleNext(n1)
        c.transmit(n1)
        // N-2's answer from section 3.
        c.handleNext(n3)
        c.releaseHeld()
        c.handleNext(n2)
        c.transmit(n2)
        c.handleNext(n3)
        c.handleNext(n3)

        #expect(figures(c) == [Figures(.follower, term: 1, last: 2, commit: 2),
                               Figures(.follower, term: 1, last: 2, commit: 2),
                               Figures(.leader, term: 1, last: 2, commit: 2)])
        #expect(c.node(1).leaderID == n3)

        // Our trace saw the forced term 0, so N-1's row shows it adopting the heartbeat's term
        // (`t-1`); the seed's row shows no change.
        let want = TraceRows(rst: SeedTables.section6).setting(row: 2, cell: 2, to: "t-1")
        expectSameRows(rows(c, section: 5), want, "section 6")
    }

    /// Section 7: N-1 crashes; two commands commit with the leader and N-2 alone, each followed
    /// by the heartbeat of the seed's command sequence, then one more heartbeat.
    func commandsWithOneFollowerCrashed(_ c: SimCluster) {
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.section("Crashing one follower, then running command to ensure it works with only one follower")
        c.crash(n1)
        let first = c.propose(n3, "add 1")
        c.transmit(n3)
        c.handleNext(n2)
        c.transmit(n2)
        c.handleNext(n3)
        #expect(c.outcome(first) == .applied(Array("2".utf8)))
        c.heartbeat(n3)
        c.transmit(n3)
        c.handleNext(n2)

        let second = c.propose(n3, "add 1")
        c.transmit(n2)
        c.transmit(n3)
        c.handleNext(n3)
        c.handleNext(n2)
        c.transmit(n2)
        c.handleNext(n3)
        #expect(c.outcome(second) == .applied(Array("3".utf8)))
        for _ in 0..<2 {
            c.heartbeat(n3)
            c.transmit(n3)
            c.handleNext(n2)
            c.transmit(n2)
            c.handleNext(n3)
        }

        #expect(c.node(1).crashed)
        #expect(c.node(1).lastIndex == 2)
        #expect(Array(figures(c).dropFirst()) == [Figures(.follower, term: 1, last: 4, commit: 4),
                                                  Figures(.leader, term: 1, last: 4, commit: 4)])
        #expect(c.node(3).total == 3)
        #expect(c.node(2).total == 3)

        // Our rows, written out. Where they differ from the seed's table:
        // - a message to a crashed node is lost before it leaves, so there are no `ae+N-1`
        //   rows (the seed shows them sent), and the leader's `li-3` shows on `ae+N-2`;
        // - CMD DONE comes when the entry commits, as in section 2;
        // - each heartbeat has a sent row (the seed's command sequence moved its heartbeats
        //   without one);
        // - the leader does not send the entry a second time when N-2's heartbeat answer
        //   (`mi-3`) arrives after the entry went out: it knows the entry is in flight. The
        //   seed's leader sends it again, and N-2 handles and answers it twice.
        let want = TraceRows([
            "| FLWR | CRASH | | FLWR |                             |      | LEAD |                             |      |",
            "| FLWR |       | | FLWR |                             |      | LEAD | CMD START                   |      |",
            "| FLWR |       | | FLWR |                             |      | LEAD | ae+N-2 t-1 i-2 lt-1 e-1 c-2 | li-3 |",
            "| FLWR |       | | FLWR | N-3+ae t-1 i-2 lt-1 e-1 c-2 | li-3 | LEAD |                             |      |",
            "| FLWR |       | | FLWR | N-2+ae_reply ok-True mi-3   |      | LEAD |                             |      |",
            "| FLWR |       | | FLWR |                             |      | LEAD | N-2+ae_reply ok-True mi-3   | ci-3 |",
            "| FLWR |       | | FLWR |                             |      | LEAD | CMD DONE                    |      |",
            "| FLWR |       | | FLWR |                             |      | LEAD | ae+N-2 t-1 i-3 lt-1 e-0 c-3 |      |",
            "| FLWR |       | | FLWR | N-3+ae t-1 i-3 lt-1 e-0 c-3 | ci-3 | LEAD |                             |      |",
            "| FLWR |       | | FLWR |                             |      | LEAD | CMD START                   |      |",
            "| FLWR |       | | FLWR | N-2+ae_reply ok-True mi-3   |      | LEAD |                             | li-4 |",
            "| FLWR |       | | FLWR |                             |      | LEAD | ae+N-2 t-1 i-3 lt-1 e-1 c-3 |      |",
            "| FLWR |       | | FLWR |                             |      | LEAD | N-2+ae_reply ok-True mi-3   |      |",
            "| FLWR |       | | FLWR | N-3+ae t-1 i-3 lt-1 e-1 c-3 | li-4 | LEAD |                             |      |",
            "| FLWR |       | | FLWR | N-2+ae_reply ok-True mi-4   |      | LEAD |                             |      |",
            "| FLWR |       | | FLWR |                             |      | LEAD | N-2+ae_reply ok-True mi-4   | ci-4 |",
            "| FLWR |       | | FLWR |                             |      | LEAD | CMD DONE                    |      |",
            "| FLWR |       | | FLWR |                             |      | LEAD | ae+N-2 t-1 i-4 lt-1 e-0 c-4 |      |",
            "| FLWR |       | | FLWR | N-3+ae t-1 i-4 lt-1 e-0 c-4 | ci-4 | LEAD |                             |      |",
            "| FLWR |       | | FLWR | N-2+ae_reply ok-True mi-4   |      | LEAD |                             |      |",
            "| FLWR |       | | FLWR |                             |      | LEAD | N-2+ae_reply ok-True mi-4   |      |",
            "| FLWR |       | | FLWR |                             |      | LEAD | ae+N-2 t-1 i-4 lt-1 e-0 c-4 |      |",
            "| FLWR |       | | FLWR | N-3+ae t-1 i-4 lt-1 e-0 c-4 |      | LEAD |                             |      |",
            "| FLWR |       | | FLWR | N-2+ae_reply ok-True mi-4   |      | LEAD |                             |      |",
            "| FLWR |       | | FLWR |                             |      | LEAD | N-2+ae_reply ok-True mi-4   |      |",
        ])
        expectSameRows(rows(c, section: 6), want, "section 7")
    }

    /// Section 8: N-1 restarts and a heartbeat brings it up to date.
    func recoveringFollowerCatchesUp(_ c: SimCluster) {
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.section("Recovering follower, then pushing heartbeat to get it to catch up")
        c.restart(n1)
        holding(c, to: n2) {
            c.heartbeat(n3)
            c.transmit(n3)
        }
        c.handleNext(n1)
        c.transmit(n1)
        c.handleNext(n3)
        c.releaseHeld()
        c.handleNext(n2)
        c.transmit(n2)
        c.handleNext(n3)
        c.transmit(n3)
        c.handleNext(n1)
        c.transmit(n1)
        c.handleNext(n3)

        #expect(figures(c) == [Figures(.follower, term: 1, last: 4, commit: 4),
                               Figures(.follower, term: 1, last: 4, commit: 4),
                               Figures(.leader, term: 1, last: 4, commit: 4)])
        for i in 1...3 { #expect(c.node(i).total == 3) }

        // The first nine rows are the seed's, after one more at the top: our node reports its
        // role as it starts, before the simulator records RESTART. Then the seed's leader backs
        // down one entry per message (`i-2 e-1`, then `i-3 e-1`); ours sends everything the
        // follower lacks in one append (`i-2 e-2`), since the rejection reports its last index.
        let seedRows = TraceRows(rst: SeedTables.section8)
        var want = TraceRows(rows: Array(seedRows.rows.prefix(9)))
            .inserting("| FLWR | NEW ROLE | | FLWR | | | LEAD | | |", at: 0)
        want.rows += TraceRows([
            "| FLWR |                             |           | FLWR | | | LEAD | ae+N-1 t-1 i-2 lt-1 e-2 c-4 | |",
            "| FLWR | N-3+ae t-1 i-2 lt-1 e-2 c-4 | li-4 ci-4 | FLWR | | | LEAD |                             | |",
            "| FLWR | N-1+ae_reply ok-True mi-4   |           | FLWR | | | LEAD |                             | |",
            "| FLWR |                             |           | FLWR | | | LEAD | N-1+ae_reply ok-True mi-4   | |",
        ]).rows
        expectSameRows(rows(c, section: 7), want, "section 8")
    }
}

enum TraceOutput {
    /// Trace documents land under `traces/` in the working directory (git-ignored).
    static var directory: String {
        FileManager.default.currentDirectoryPath + "/traces"
    }
}
