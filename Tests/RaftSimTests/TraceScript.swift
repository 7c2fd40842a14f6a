import RaftCore
import RaftSim

/// Replays a hand-written run into a TraceRecorder: tests change node states the way the
/// protocol would, then record the row, so a seed table can be rebuilt step by step.
struct TraceScript {
    let recorder: TraceRecorder
    private(set) var states: [NodeID: TraceNodeState] = [:]

    init(nodes: Int, initial: TraceNodeState) {
        let ids = (1...nodes).map(Self.id)
        recorder = TraceRecorder(nodeIDs: ids)
        for id in ids { states[id] = initial }
    }

    static func id(_ number: Int) -> NodeID { "mcpy://\(number)" }

    mutating func update(_ node: Int, _ change: (inout TraceNodeState) -> Void) {
        change(&states[Self.id(node)]!)
    }

    func section(_ title: String) { recorder.startSection(title) }

    func event(_ node: Int, _ op: String) {
        recorder.record(TraceLine(action: .event(node: Self.id(node), op: op), states: states))
    }

    func sent(_ message: Message) {
        recorder.record(TraceLine(action: .sent(message), states: states))
    }

    func handled(_ message: Message) {
        recorder.record(TraceLine(action: .handled(message), states: states))
    }
}

/// Message builders named after the seed's shorthand, numbering nodes as mcpy://n does.
enum Msg {
    static func make(_ from: Int, _ to: Int, _ term: Term, _ body: MessageBody) -> Message {
        Message(from: TraceScript.id(from), to: TraceScript.id(to), term: term, body: body)
    }

    static func preVote(_ from: Int, _ to: Int, t: Term, li: LogIndex, lt: Term) -> Message {
        make(from, to, t, .preVote(VoteRequest(lastIndex: li, lastTerm: lt)))
    }

    static func preVoteYes(_ from: Int, _ to: Int, t: Term) -> Message {
        make(from, to, t, .preVoteResponse(VoteResponse(granted: true)))
    }

    static func poll(_ from: Int, _ to: Int, t: Term, li: LogIndex, lt: Term) -> Message {
        make(from, to, t, .requestVote(VoteRequest(lastIndex: li, lastTerm: lt)))
    }

    static func voteYes(_ from: Int, _ to: Int, t: Term) -> Message {
        make(from, to, t, .requestVoteResponse(VoteResponse(granted: true)))
    }

    static func ae(_ from: Int, _ to: Int, t: Term, i: LogIndex, lt: Term, e: Int, c: LogIndex) -> Message {
        let entries = (0..<e).map { Entry(index: i + LogIndex($0) + 1, term: t) }
        return make(from, to, t, .appendEntries(AppendEntries(prevIndex: i, prevTerm: lt, entries: entries, commitIndex: c)))
    }

    static func reply(_ from: Int, _ to: Int, t: Term, ok: Bool, index: LogIndex, last: LogIndex) -> Message {
        make(from, to, t, .appendResponse(AppendResponse(success: ok, index: index, lastIndex: last)))
    }
}
