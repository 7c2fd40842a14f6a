import RaftCore

/// The seed's compact notation for node names, roles and messages in trace tables.
enum TraceShorthand {
    /// "N-" and the id's trailing digits, so URIs such as "mcpy://3" read as "N-3" the way the
    /// seed prints them; ids without trailing digits keep their full text after "N-".
    static func nodeLabel(_ id: NodeID) -> String {
        let digits = id.reversed().prefix { $0.isASCII && $0.isWholeNumber }
        return "N-" + (digits.isEmpty ? id : String(digits.reversed()))
    }

    /// A crashed node has no live role, and the seed prints anything that is not a live
    /// candidate or leader as FLWR.
    static func role(_ state: TraceNodeState) -> String {
        if state.crashed { return "FLWR" }
        switch state.role {
        case .follower: return "FLWR"
        case .candidate: return "CNDI"
        case .leader: return "LEAD"
        }
    }

    /// Python spelling, because the tables are compared with the seed's.
    static func flag(_ value: Bool) -> String { value ? "True" : "False" }

    /// The Op text for `message` as printed in `column`'s column: "<code>+N-<to>" in the
    /// sender's column, "N-<from>+<code>" in the receiver's, then the message's fields.
    static func op(for message: Message, in column: NodeID) -> String {
        let code = message.body.traceCode
        let head: String
        if case .appendResponse = message.body {
            // The seed always names the responder first, even on the responder's own sent row.
            head = "\(nodeLabel(message.from))+\(code)"
        } else if message.from == column {
            head = "\(code)+\(nodeLabel(message.to))"
        } else {
            head = "\(nodeLabel(message.from))+\(code)"
        }
        return head + " " + fields(of: message)
    }

    private static func fields(of message: Message) -> String {
        switch message.body {
        case .preVote(let request), .requestVote(let request):
            return "t-\(message.term) li-\(request.lastIndex) lt-\(request.lastTerm)"
        case .preVoteResponse(let response), .requestVoteResponse(let response):
            return "yes-\(flag(response.granted))"
        case .appendEntries(let append):
            return "t-\(message.term) i-\(append.prevIndex) lt-\(append.prevTerm) e-\(append.entries.count) c-\(append.commitIndex)"
        case .appendResponse(let response):
            // A rejection's `index` is the refused prevIndex; the responder's last index is
            // the figure that tells the reader how far behind it is.
            return "ok-\(flag(response.success)) mi-\(response.success ? response.index : response.lastIndex)"
        case .installSnapshot(let chunk):
            return "i-\(chunk.meta.index)"
        case .installSnapshotResponse(let response):
            return "i-\(response.index) s-\(flag(response.success))"
        case .timeoutNow(let transfer):
            return "i-\(transfer.lastIndex)"
        case .membershipChange(let change):
            return "op-\(change.op) n-\(change.member.id)"
        case .membershipChangeResponse(let response):
            return "op-\(response.op) n-\(response.memberID) ok-\(flag(response.ok))"
        }
    }
}
