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
}
