import RaftCore

/// What the trace keeps of one node at one moment: just enough to print a table row and
/// to compute the row's Delta against the node's previous row.
public struct TraceNodeState: Equatable, Sendable {
    public var role: Role
    public var term: Term
    public var lastIndex: LogIndex
    public var lastTerm: Term
    public var commitIndex: LogIndex
    public var crashed: Bool
    /// True while the node sits in a partition segment that does not hold a quorum.
    public var onMinority: Bool

    public init(role: Role, term: Term, lastIndex: LogIndex, lastTerm: Term, commitIndex: LogIndex,
                crashed: Bool = false, onMinority: Bool = false) {
        self.role = role
        self.term = term
        self.lastIndex = lastIndex
        self.lastTerm = lastTerm
        self.commitIndex = commitIndex
        self.crashed = crashed
        self.onMinority = onMinority
    }
}

public enum TraceAction: Equatable, Sendable {
    /// Recorded when the network moves the message toward its receiver; shown in the sender's column.
    case sent(Message)
    /// Recorded after the receiver processed the message, so the row's Delta shows its effects;
    /// shown in the receiver's column.
    case handled(Message)
    /// A non-message event such as "NEW ROLE", "CRASH", "RESTART", "NETSPLIT", "NETJOIN",
    /// "CMD START", "CMD DONE" or "STARTED", shown in `node`'s column.
    case event(node: NodeID, op: String)

    /// The node whose column shows this action's Op.
    var actor: NodeID {
        switch self {
        case .sent(let message): return message.from
        case .handled(let message): return message.to
        case .event(let node, _): return node
        }
    }
}

/// One table row: the action and a snapshot of every node taken right after it.
public struct TraceLine: Equatable, Sendable {
    public var action: TraceAction
    public var states: [NodeID: TraceNodeState]

    public init(action: TraceAction, states: [NodeID: TraceNodeState]) {
        self.action = action
        self.states = states
    }
}

public struct TraceSection: Equatable, Sendable {
    public var title: String
    public var lines: [TraceLine]

    public init(title: String, lines: [TraceLine] = []) {
        self.title = title
        self.lines = lines
    }
}
