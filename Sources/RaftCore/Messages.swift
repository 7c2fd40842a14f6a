/// One Raft message between two nodes. `term` is the sender's term, except for pre-vote
/// requests where it is the term the candidate proposes (current + 1), and for membership
/// requests/responses, which are not part of the term protocol and carry 0.
public struct Message: Equatable, Sendable {
    public var from: NodeID
    public var to: NodeID
    public var term: Term
    public var body: MessageBody

    public init(from: NodeID, to: NodeID, term: Term, body: MessageBody) {
        self.from = from
        self.to = to
        self.term = term
        self.body = body
    }
}

public enum MessageBody: Equatable, Sendable {
    case preVote(VoteRequest)
    case preVoteResponse(VoteResponse)
    case requestVote(VoteRequest)
    case requestVoteResponse(VoteResponse)
    case appendEntries(AppendEntries)
    case appendResponse(AppendResponse)
    case installSnapshot(InstallSnapshot)
    case installSnapshotResponse(InstallSnapshotResponse)
    case timeoutNow(TimeoutNow)
    case membershipChange(MembershipChange)
    case membershipChangeResponse(MembershipChangeResponse)

    /// Short name, as the trace tables print it.
    public var traceCode: String {
        switch self {
        case .preVote: return "p_v_r"
        case .preVoteResponse: return "p_v"
        case .requestVote: return "poll"
        case .requestVoteResponse: return "vote"
        case .appendEntries: return "ae"
        case .appendResponse: return "ae_reply"
        case .installSnapshot: return "sn"
        case .installSnapshotResponse: return "snr"
        case .timeoutNow: return "t_p"
        case .membershipChange: return "m_c"
        case .membershipChangeResponse: return "m_cr"
        }
    }
}

public struct VoteRequest: Equatable, Sendable {
    public var lastIndex: LogIndex
    public var lastTerm: Term
    /// Set by leadership transfer: voters grant even though they still hear from a leader.
    public var authorized: Bool
    public init(lastIndex: LogIndex, lastTerm: Term, authorized: Bool = false) {
        self.lastIndex = lastIndex
        self.lastTerm = lastTerm
        self.authorized = authorized
    }
}

public struct VoteResponse: Equatable, Sendable {
    public var granted: Bool
    public init(granted: Bool) { self.granted = granted }
}

public struct AppendEntries: Equatable, Sendable {
    public var prevIndex: LogIndex
    public var prevTerm: Term
    public var entries: [Entry]
    public var commitIndex: LogIndex
    /// Opaque value echoed in the response (used to confirm leadership for reads); 0 when unused.
    public var context: UInt64

    public init(prevIndex: LogIndex, prevTerm: Term, entries: [Entry] = [], commitIndex: LogIndex, context: UInt64 = 0) {
        self.prevIndex = prevIndex
        self.prevTerm = prevTerm
        self.entries = entries
        self.commitIndex = commitIndex
        self.context = context
    }
    public var isHeartbeat: Bool { entries.isEmpty }
}

public struct AppendResponse: Equatable, Sendable {
    public var success: Bool
    /// On success: the highest index known to match the leader (prev + entries).
    /// On rejection: the prevIndex that was rejected.
    public var index: LogIndex
    /// The responder's last log index (the seed's `maxIndex`), a catch-up hint.
    public var lastIndex: LogIndex
    /// On rejection for a term conflict: the last index at or below the rejected one whose term
    /// is at most `hintTerm`, so the leader can skip a whole divergent term at once.
    public var hintIndex: LogIndex
    public var hintTerm: Term
    public var context: UInt64

    public init(success: Bool, index: LogIndex, lastIndex: LogIndex, hintIndex: LogIndex = 0, hintTerm: Term = 0, context: UInt64 = 0) {
        self.success = success
        self.index = index
        self.lastIndex = lastIndex
        self.hintIndex = hintIndex
        self.hintTerm = hintTerm
        self.context = context
    }
}

public struct InstallSnapshot: Equatable, Sendable {
    public var meta: SnapshotMeta
    /// Byte offset of `data` in the whole snapshot.
    public var offset: UInt64
    public var data: [UInt8]
    public var done: Bool
    public init(meta: SnapshotMeta, offset: UInt64, data: [UInt8], done: Bool) {
        self.meta = meta
        self.offset = offset
        self.data = data
        self.done = done
    }
}

public struct InstallSnapshotResponse: Equatable, Sendable {
    public var index: LogIndex
    /// The offset the receiver expects next (on success: offset + chunk length).
    public var offset: UInt64
    public var success: Bool
    public init(index: LogIndex, offset: UInt64, success: Bool) {
        self.index = index
        self.offset = offset
        self.success = success
    }
}

/// Leadership transfer: the leader tells an up-to-date target to campaign at once.
public struct TimeoutNow: Equatable, Sendable {
    public var lastIndex: LogIndex
    public var lastTerm: Term
    public init(lastIndex: LogIndex, lastTerm: Term) {
        self.lastIndex = lastIndex
        self.lastTerm = lastTerm
    }
}

public enum MembershipOp: UInt8, Equatable, Sendable, CustomStringConvertible {
    case add = 0, remove = 1, promote = 2
    public var description: String {
        switch self {
        case .add: return "ADD"
        case .remove: return "REMOVE"
        case .promote: return "PROMOTE"
        }
    }
}

/// A node asking the leader to add it (join) or remove it (exit).
public struct MembershipChange: Equatable, Sendable {
    public var op: MembershipOp
    public var member: Member
    public init(op: MembershipOp, member: Member) {
        self.op = op
        self.member = member
    }
}

public struct MembershipChangeResponse: Equatable, Sendable {
    public var op: MembershipOp
    public var memberID: NodeID
    /// Why it failed (nil: done). `.notLeader` names the leader when the receiver knows it.
    public var error: RaftError?
    public var ok: Bool { error == nil }
    public init(op: MembershipOp, memberID: NodeID, error: RaftError? = nil) {
        self.op = op
        self.memberID = memberID
        self.error = error
    }
}
