import RaftCore
import RaftSim

/// The seed's test_command_1 sections, step by step, with the node states its tables imply.
enum SeedScenarios {
    static let zero = TraceNodeState(role: .follower, term: 0, lastIndex: 0, lastTerm: 0, commitIndex: 0)

    /// Sections 1 and 2: pre-vote election of N-3, then one command committed by the leader.
    static func electionThenCommand() -> TraceScript {
        var s = TraceScript(nodes: 3, initial: zero)

        s.section("Normal election")
        s.update(3) { $0.role = .candidate }
        s.event(3, "NEW ROLE")
        s.sent(Msg.preVote(3, 1, t: 1, li: 0, lt: 0))
        s.sent(Msg.preVote(3, 2, t: 1, li: 0, lt: 0))
        s.handled(Msg.preVote(3, 1, t: 1, li: 0, lt: 0))
        s.sent(Msg.preVoteYes(1, 3, t: 1))
        s.handled(Msg.preVote(3, 2, t: 1, li: 0, lt: 0))
        s.sent(Msg.preVoteYes(2, 3, t: 1))
        s.update(3) { $0.term = 1 }
        s.handled(Msg.preVoteYes(1, 3, t: 1))
        // The seed's code put the new term in the lastTerm field, hence lt-1 on an empty log.
        s.sent(Msg.poll(3, 1, t: 1, li: 0, lt: 1))
        s.sent(Msg.poll(3, 2, t: 1, li: 0, lt: 1))
        s.handled(Msg.preVoteYes(2, 3, t: 1))
        s.update(1) { $0.term = 1 }
        s.handled(Msg.poll(3, 1, t: 1, li: 0, lt: 1))
        s.sent(Msg.voteYes(1, 3, t: 1))
        s.update(2) { $0.term = 1 }
        s.handled(Msg.poll(3, 2, t: 1, li: 0, lt: 1))
        s.sent(Msg.voteYes(2, 3, t: 1))
        s.update(3) { $0.role = .leader; $0.lastIndex = 1; $0.lastTerm = 1 }
        s.handled(Msg.voteYes(1, 3, t: 1))
        s.event(3, "NEW ROLE")
        s.sent(Msg.ae(3, 1, t: 1, i: 0, lt: 0, e: 1, c: 0))
        s.sent(Msg.ae(3, 2, t: 1, i: 0, lt: 0, e: 1, c: 0))
        s.handled(Msg.voteYes(2, 3, t: 1))
        s.update(1) { $0.lastIndex = 1; $0.lastTerm = 1 }
        s.handled(Msg.ae(3, 1, t: 1, i: 0, lt: 0, e: 1, c: 0))
        s.sent(Msg.reply(1, 3, t: 1, ok: true, index: 1, last: 1))
        s.update(2) { $0.lastIndex = 1; $0.lastTerm = 1 }
        s.handled(Msg.ae(3, 2, t: 1, i: 0, lt: 0, e: 1, c: 0))
        s.sent(Msg.reply(2, 3, t: 1, ok: true, index: 1, last: 1))
        s.update(3) { $0.commitIndex = 1 }
        s.handled(Msg.reply(1, 3, t: 1, ok: true, index: 1, last: 1))
        s.handled(Msg.reply(2, 3, t: 1, ok: true, index: 1, last: 1))

        s.section("Run one command, normal sequence till leader commit")
        // Followers learned commit 1 between the sections; a first row never shows a delta.
        s.update(1) { $0.commitIndex = 1 }
        s.update(2) { $0.commitIndex = 1 }
        s.event(3, "CMD START")
        s.update(3) { $0.lastIndex = 2 }
        s.sent(Msg.ae(3, 1, t: 1, i: 1, lt: 1, e: 1, c: 1))
        s.update(1) { $0.lastIndex = 2 }
        s.handled(Msg.ae(3, 1, t: 1, i: 1, lt: 1, e: 1, c: 1))
        s.sent(Msg.reply(1, 3, t: 1, ok: true, index: 2, last: 2))
        s.update(3) { $0.commitIndex = 2 }
        s.handled(Msg.reply(1, 3, t: 1, ok: true, index: 2, last: 2))
        s.sent(Msg.ae(3, 2, t: 1, i: 1, lt: 1, e: 1, c: 1))
        s.update(2) { $0.lastIndex = 2 }
        s.handled(Msg.ae(3, 2, t: 1, i: 1, lt: 1, e: 1, c: 1))
        s.sent(Msg.reply(2, 3, t: 1, ok: true, index: 2, last: 2))
        s.handled(Msg.reply(2, 3, t: 1, ok: true, index: 2, last: 2))
        s.event(3, "CMD DONE")
        return s
    }

    /// Section 7: a follower crashes and two commands commit with the remaining one. Its
    /// "CMD START" row is followed by a row where N-2 acts but N-3 shows the append (li-4):
    /// deltas belong to every column, not only the acting node's.
    static func crashedFollower() -> TraceScript {
        let synced = TraceNodeState(role: .follower, term: 1, lastIndex: 2, lastTerm: 1, commitIndex: 2)
        var s = TraceScript(nodes: 3, initial: synced)
        s.update(3) { $0.role = .leader }

        s.section("Crashing one follower, then running command to ensure it works with only one follower")
        s.update(1) { $0.crashed = true }
        s.event(1, "CRASH")
        s.event(3, "CMD START")
        s.update(3) { $0.lastIndex = 3 }
        s.sent(Msg.ae(3, 1, t: 1, i: 2, lt: 1, e: 1, c: 2))
        s.sent(Msg.ae(3, 2, t: 1, i: 2, lt: 1, e: 1, c: 2))
        s.update(2) { $0.lastIndex = 3 }
        s.handled(Msg.ae(3, 2, t: 1, i: 2, lt: 1, e: 1, c: 2))
        s.sent(Msg.reply(2, 3, t: 1, ok: true, index: 3, last: 3))
        s.update(3) { $0.commitIndex = 3 }
        s.handled(Msg.reply(2, 3, t: 1, ok: true, index: 3, last: 3))
        s.update(2) { $0.commitIndex = 3 }
        s.handled(Msg.ae(3, 2, t: 1, i: 3, lt: 1, e: 0, c: 3))
        s.event(3, "CMD DONE")
        s.event(3, "CMD START")
        s.update(3) { $0.lastIndex = 4 }
        s.sent(Msg.reply(2, 3, t: 1, ok: true, index: 3, last: 3))
        s.sent(Msg.ae(3, 2, t: 1, i: 3, lt: 1, e: 1, c: 3))
        s.handled(Msg.reply(2, 3, t: 1, ok: true, index: 3, last: 3))
        s.sent(Msg.ae(3, 2, t: 1, i: 3, lt: 1, e: 1, c: 3))
        s.update(2) { $0.lastIndex = 4 }
        s.handled(Msg.ae(3, 2, t: 1, i: 3, lt: 1, e: 1, c: 3))
        s.sent(Msg.reply(2, 3, t: 1, ok: true, index: 4, last: 4))
        s.handled(Msg.ae(3, 2, t: 1, i: 3, lt: 1, e: 1, c: 3))
        s.sent(Msg.reply(2, 3, t: 1, ok: true, index: 4, last: 4))
        s.update(3) { $0.commitIndex = 4 }
        s.handled(Msg.reply(2, 3, t: 1, ok: true, index: 4, last: 4))
        s.handled(Msg.reply(2, 3, t: 1, ok: true, index: 4, last: 4))
        s.event(3, "CMD DONE")
        s.update(2) { $0.commitIndex = 4 }
        s.handled(Msg.ae(3, 2, t: 1, i: 4, lt: 1, e: 0, c: 4))
        s.sent(Msg.reply(2, 3, t: 1, ok: true, index: 4, last: 4))
        s.handled(Msg.reply(2, 3, t: 1, ok: true, index: 4, last: 4))
        s.sent(Msg.ae(3, 1, t: 1, i: 4, lt: 1, e: 0, c: 4))
        s.sent(Msg.ae(3, 2, t: 1, i: 4, lt: 1, e: 0, c: 4))
        s.handled(Msg.ae(3, 2, t: 1, i: 4, lt: 1, e: 0, c: 4))
        s.sent(Msg.reply(2, 3, t: 1, ok: true, index: 4, last: 4))
        s.handled(Msg.reply(2, 3, t: 1, ok: true, index: 4, last: 4))
        return s
    }

    /// Section 8: the crashed follower restarts two entries behind, rejects a heartbeat
    /// (ok-False shows its last index, 2) and is caught up one entry at a time.
    static func recoveringFollower() -> TraceScript {
        let current = TraceNodeState(role: .follower, term: 1, lastIndex: 4, lastTerm: 1, commitIndex: 4)
        var s = TraceScript(nodes: 3, initial: current)
        s.update(1) { $0.lastIndex = 2; $0.commitIndex = 2; $0.crashed = true }
        s.update(3) { $0.role = .leader }

        s.section("Recovering follower, then pushing hearbeat to get it to catch up")
        s.update(1) { $0.crashed = false }
        s.event(1, "RESTART")
        s.sent(Msg.ae(3, 1, t: 1, i: 4, lt: 1, e: 0, c: 4))
        s.handled(Msg.ae(3, 1, t: 1, i: 4, lt: 1, e: 0, c: 4))
        s.sent(Msg.reply(1, 3, t: 1, ok: false, index: 4, last: 2))
        s.handled(Msg.reply(1, 3, t: 1, ok: false, index: 4, last: 2))
        s.sent(Msg.ae(3, 2, t: 1, i: 4, lt: 1, e: 0, c: 4))
        s.handled(Msg.ae(3, 2, t: 1, i: 4, lt: 1, e: 0, c: 4))
        s.sent(Msg.reply(2, 3, t: 1, ok: true, index: 4, last: 4))
        s.handled(Msg.reply(2, 3, t: 1, ok: true, index: 4, last: 4))
        s.sent(Msg.ae(3, 1, t: 1, i: 2, lt: 1, e: 1, c: 4))
        s.update(1) { $0.lastIndex = 3; $0.commitIndex = 3 }
        s.handled(Msg.ae(3, 1, t: 1, i: 2, lt: 1, e: 1, c: 4))
        s.sent(Msg.reply(1, 3, t: 1, ok: true, index: 3, last: 3))
        s.handled(Msg.reply(1, 3, t: 1, ok: true, index: 3, last: 3))
        s.sent(Msg.ae(3, 1, t: 1, i: 3, lt: 1, e: 1, c: 4))
        s.update(1) { $0.lastIndex = 4; $0.commitIndex = 4 }
        s.handled(Msg.ae(3, 1, t: 1, i: 3, lt: 1, e: 1, c: 4))
        s.sent(Msg.reply(1, 3, t: 1, ok: true, index: 4, last: 4))
        s.handled(Msg.reply(1, 3, t: 1, ok: true, index: 4, last: 4))
        return s
    }
}
