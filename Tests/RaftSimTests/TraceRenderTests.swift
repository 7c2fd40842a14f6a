import Foundation
import Testing
import RaftCore
@testable import RaftSim

/// Compares line by line so a failure names the first differing row instead of dumping
/// two whole tables.
private func expectSameLines(_ rendered: String, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(rendered.hasSuffix("\n"), sourceLocation: sourceLocation)
    let got = rendered.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(got.count == want.count, sourceLocation: sourceLocation)
    for (index, (line, wanted)) in zip(got, want).enumerated() where line != wanted {
        Issue.record("line \(index + 1):\n got: \(line)\nwant: \(wanted)", sourceLocation: sourceLocation)
        return
    }
}

@Suite("Trace tables match the seed document")
struct SeedTableTests {
    @Test func electionSection() {
        let script = SeedScenarios.electionThenCommand()
        expectSameLines(script.recorder.rstTable(section: 0), SeedTables.section1)
    }

    @Test func commandSection() {
        let script = SeedScenarios.electionThenCommand()
        expectSameLines(script.recorder.rstTable(section: 1), SeedTables.section2)
    }

    @Test func crashedFollowerSection() {
        let script = SeedScenarios.crashedFollower()
        expectSameLines(script.recorder.rstTable(section: 0), SeedTables.section7)
    }

    @Test func recoveringFollowerSection() {
        let script = SeedScenarios.recoveringFollower()
        expectSameLines(script.recorder.rstTable(section: 0), SeedTables.section8)
    }
}

@Suite("Trace shorthand")
struct TraceShorthandTests {
    let leader = "mcpy://1", joiner = "mcpy://4"

    @Test func nodeLabels() {
        #expect(TraceShorthand.nodeLabel("sim://1") == "N-1")
        #expect(TraceShorthand.nodeLabel("mcpy://3") == "N-3")
        #expect(TraceShorthand.nodeLabel("127.0.0.1:7012") == "N-7012")
        #expect(TraceShorthand.nodeLabel("alpha") == "N-alpha")
    }

    @Test func membershipMessages() {
        let member = Member(id: joiner)
        let change = Message(from: joiner, to: leader, term: 0, body: .membershipChange(MembershipChange(op: .add, member: member)))
        #expect(TraceShorthand.op(for: change, in: joiner) == "m_c+N-1 op-ADD n-mcpy://4")
        #expect(TraceShorthand.op(for: change, in: leader) == "N-4+m_c op-ADD n-mcpy://4")
        let answer = Message(from: leader, to: joiner, term: 0,
                             body: .membershipChangeResponse(MembershipChangeResponse(op: .add, memberID: joiner)))
        #expect(TraceShorthand.op(for: answer, in: leader) == "m_cr+N-4 op-ADD n-mcpy://4 ok-True")
    }

    @Test func transferAndSnapshotMessages() {
        let transfer = Message(from: leader, to: "mcpy://2", term: 1, body: .timeoutNow(TimeoutNow(lastIndex: 4, lastTerm: 1)))
        #expect(TraceShorthand.op(for: transfer, in: leader) == "t_p+N-2 i-4")

        let meta = SnapshotMeta(index: 101, term: 1, config: ClusterConfig(members: [Member(id: leader)]))
        let chunk = Message(from: leader, to: joiner, term: 1,
                            body: .installSnapshot(InstallSnapshot(meta: meta, offset: 0, data: [1, 2], done: true)))
        #expect(TraceShorthand.op(for: chunk, in: leader) == "sn+N-4 i-101")
        let ack = Message(from: joiner, to: leader, term: 1,
                          body: .installSnapshotResponse(InstallSnapshotResponse(index: 101, offset: 2, success: true)))
        #expect(TraceShorthand.op(for: ack, in: joiner) == "snr+N-1 i-101 s-True")
        #expect(TraceShorthand.op(for: ack, in: leader) == "N-4+snr i-101 s-True")
    }

    @Test func voteMessagesBothWays() {
        let request = Msg.preVote(3, 2, t: 2, li: 1, lt: 1)
        #expect(TraceShorthand.op(for: request, in: TraceScript.id(3)) == "p_v_r+N-2 t-2 li-1 lt-1")
        #expect(TraceShorthand.op(for: request, in: TraceScript.id(2)) == "N-3+p_v_r t-2 li-1 lt-1")
        let refusal = Msg.make(2, 3, 2, .requestVoteResponse(VoteResponse(granted: false)))
        #expect(TraceShorthand.op(for: refusal, in: TraceScript.id(2)) == "vote+N-3 yes-False")
    }

    @Test func appendResponseAlwaysNamesTheResponder() {
        let reply = Msg.reply(2, 1, t: 1, ok: true, index: 5, last: 5)
        #expect(TraceShorthand.op(for: reply, in: TraceScript.id(2)) == "N-2+ae_reply ok-True mi-5")
        #expect(TraceShorthand.op(for: reply, in: TraceScript.id(1)) == "N-2+ae_reply ok-True mi-5")
    }

    @Test func crashedNodeShowsFollower() {
        let crashedLeader = TraceNodeState(role: .leader, term: 3, lastIndex: 9, lastTerm: 3, commitIndex: 9, crashed: true)
        #expect(TraceShorthand.role(crashedLeader) == "FLWR")
    }
}

@Suite("Trace deltas")
struct TraceDeltaTests {
    private func deltas(of recorder: TraceRecorder, section: Int, node: NodeID) -> [String] {
        let grid = TraceGrid(section: recorder.sections[section], order: recorder.nodeIDs)
        let column = grid.columns.firstIndex(of: node)!
        return grid.rows.map { $0[column].delta }
    }

    @Test func minorityIsMarkedOnEveryRowAndTheReturnOnce() {
        var script = TraceScript(nodes: 3, initial: SeedScenarios.zero)
        script.update(2) { $0.onMinority = true }
        script.event(2, "NETSPLIT")
        script.event(1, "CMD START")
        script.update(2) { $0.term = 1 }
        script.event(2, "NEW ROLE")
        script.update(2) { $0.onMinority = false }
        script.event(2, "NETJOIN")
        script.event(1, "CMD DONE")
        #expect(deltas(of: script.recorder, section: 0, node: TraceScript.id(2)) == ["", "n=2", "t-1 n=2", "n=1", ""])
    }

    @Test func sectionOpeningOnNetjoinStillMarksTheReturn() {
        let script = TraceScript(nodes: 2, initial: SeedScenarios.zero)
        script.section("heal")
        script.event(2, "NETJOIN")
        #expect(deltas(of: script.recorder, section: 0, node: TraceScript.id(2)) == ["n=1"])
    }

    @Test func deltasRestartWithEachSection() {
        var script = TraceScript(nodes: 2, initial: SeedScenarios.zero)
        script.section("one")
        script.event(1, "STARTED")
        script.section("two")
        script.update(1) { $0.term = 5 }
        script.event(1, "NEW ROLE")
        #expect(deltas(of: script.recorder, section: 1, node: TraceScript.id(1)) == [""])
    }
}

@Suite("Trace recorder and its files")
struct TraceRecorderTests {
    @Test func linesBeforeAnySectionGoToAnUntitledOne() {
        let script = TraceScript(nodes: 2, initial: SeedScenarios.zero)
        script.event(1, "STARTED")
        script.section("later")
        script.event(2, "STARTED")
        #expect(script.recorder.sections.map(\.title) == ["", "later"])
        #expect(script.recorder.sections.map(\.lines.count) == [1, 1])
    }

    @Test func lateNodesGetColumnsOnlyWhereTheyAppear() {
        let script = TraceScript(nodes: 2, initial: SeedScenarios.zero)
        script.section("before")
        script.event(1, "CMD START")
        script.section("after")
        script.recorder.addNode("mcpy://3")
        var states = script.states
        states["mcpy://3"] = SeedScenarios.zero
        script.recorder.record(TraceLine(action: .event(node: "mcpy://3", op: "STARTED"), states: states))
        #expect(script.recorder.nodeIDs == ["mcpy://1", "mcpy://2", "mcpy://3"])
        #expect(!script.recorder.rstTable(section: 0).contains("N-3"))
        #expect(script.recorder.rstTable(section: 1).contains("| N-3  | N-3     | N-3   |"))
    }

    @Test func csvHasAHeaderAndOneRowPerLine() {
        let recorder = SeedScenarios.electionThenCommand().recorder
        let rows = recorder.csv(section: 0).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.count == 1 + recorder.sections[0].lines.count)
        #expect(rows.allSatisfy { $0.count == 3 * 7 })
        #expect(rows[0].prefix(7) == ["N-1 role", "N-1 op", "N-1 delta", "N-1 term", "N-1 last index", "N-1 last term", "N-1 commit"])
        // The leader's row after the first vote: role, op, delta, then the raw numbers.
        #expect(rows[16].suffix(7) == ["LEAD", "N-1+vote yes-True", "lt-1 li-1", "1", "1", "1", "0"])
    }

    @Test func plantUMLDrawsOneArrowPerHandledMessage() {
        let recorder = SeedScenarios.electionThenCommand().recorder
        let text = recorder.plantUML(section: 0)
        let lines = text.split(separator: "\n")
        #expect(lines.first == "@startuml")
        #expect(lines.last == "@enduml")
        let handled = recorder.sections[0].lines.filter { if case .handled = $0.action { true } else { false } }
        #expect(lines.filter { $0.contains(" -> ") }.count == handled.count)
        #expect(lines.contains("participant \"N-3\" as n3"))
        #expect(lines.contains("n3 -> n1 : AppendEntries(term=1, prevIndex=0, prevTerm=0, 1 entry, commitIndex=0)"))
        #expect(lines.contains("n3 -> n2 : PreVoteRequest(term=1, lastIndex=0, lastTerm=0)"))
        #expect(lines.contains("note over n3 : NEW ROLE: LEADER"))
    }

    @Test func documentHasAHeadingAndTablePerSection() {
        let recorder = SeedScenarios.electionThenCommand().recorder
        let document = recorder.rstDocument(title: "test_command_1")
        #expect(document.hasPrefix("==============\ntest_command_1\n==============\n"))
        #expect(document.contains("\nSection 1: Normal election\n==========================\n\n" + SeedTables.section1 + "\n"))
        let heading2 = "Section 2: Run one command, normal sequence till leader commit"
        let underline2 = String(repeating: "=", count: heading2.count)
        #expect(document.contains("\n\(heading2)\n\(underline2)\n\n" + SeedTables.section2 + "\n"))
    }

    @Test func writeCreatesTheDirectoryAndEveryFile() throws {
        let recorder = SeedScenarios.electionThenCommand().recorder
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("nested").path

        try recorder.write(to: directory, baseName: "test_command_1")

        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names == ["test_command_1.rst", "test_command_1_1.csv", "test_command_1_1.puml",
                          "test_command_1_2.csv", "test_command_1_2.puml"])
        let puml = try String(contentsOfFile: directory + "/test_command_1_2.puml", encoding: .utf8)
        #expect(puml == recorder.plantUML(section: 1))
    }
}
