/// A point-in-time view of a node for hosts and tests.
public struct NodeStatus: Equatable, Sendable {
    public var id: NodeID
    public var role: Role
    public var term: Term
    public var leaderID: NodeID?
    public var votedFor: NodeID?
    public var commitIndex: LogIndex
    public var appliedIndex: LogIndex
    public var lastIndex: LogIndex
    public var lastTerm: Term
    public var firstIndex: LogIndex
    public var stopped: Bool
    public var config: ClusterConfig
    public var settings: ClusterSettings
    public var counters = NodeCounters()
    /// Why the node stopped itself (removed, apply halted, storage failure); nil while it runs
    /// or when its host stopped it. Filled in by the runtime, which sees every stop.
    public var stopReason: StopReason?
}

/// How a follower's replication stands, as its leader sees it.
public enum ReplicationState: Equatable, Sendable {
    /// Its match is unknown: one append at a time until one is accepted.
    case probe
    /// Appends stream to it, up to the inflight window.
    case replicate
    /// It is being sent a snapshot up to this index.
    case snapshot(LogIndex)
}

/// A leader's view of one follower (voter or learner).
public struct FollowerProgress: Equatable, Sendable {
    public var id: NodeID
    /// Highest index known to be on the follower.
    public var match: LogIndex
    /// Next index the leader will send.
    public var next: LogIndex
    public var state: ReplicationState
    /// Appends sent and not yet acknowledged.
    public var inflight: Int
    /// Driver time of its last answer; nil if it never answered this leader.
    public var lastContact: Nanos?
}

extension RaftNode {
    /// The leader's view of every node it replicates to, sorted by id; empty unless leading.
    public var followers: [FollowerProgress] {
        guard let l = leadership else { return [] }
        return l.progress.entries.map { id, pr in
            let state: ReplicationState
            switch pr.state {
            case .probe: state = .probe
            case .replicate: state = .replicate
            case .snapshot(let i, _): state = .snapshot(i)
            }
            return FollowerProgress(id: id, match: pr.match, next: pr.next, state: state, inflight: pr.inflight.count,
                                    lastContact: pr.lastContact)
        }
    }

    /// The catch-up round of a server being added (thesis §4.2.1), if one is.
    public var catchUpRound: Int? { leadership?.addition?.round }
}
