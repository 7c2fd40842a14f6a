/// What a node holds because of its role, and only while it has that role (canonical/raft's
/// per-role union). Every transition builds the new role's state whole, so nothing of a past
/// role can linger: there is no field to clear by hand when a role ends, and a new leader-only
/// field cannot be forgotten in one of the ways out of leadership.
enum RoleState {
    case follower(Follower)
    /// A pre-candidate (pre-vote round) or a candidate (the real election).
    case candidate(Candidate)
    case leader(Leadership)

    var role: Role {
        switch self {
        case .follower: return .follower
        case .candidate: return .candidate
        case .leader: return .leader
        }
    }
}

struct Follower {
    /// When the election timer fires (absolute driver time).
    var electionDeadline: Nanos
    /// When this follower last heard from the leader it follows (for the leader lease); nil
    /// while it knows no leader.
    var leaderContact: Nanos?
}

struct Candidate {
    var electionDeadline: Nanos
    /// A pre-vote round: the term is only proposed, nobody's vote is spent.
    var preVote: Bool
    /// Answers so far by voter (our own yes included).
    var votes: [NodeID: Bool]
    /// Authorized by a leadership transfer: the real election after the pre-vote is too.
    var authorized: Bool
}

/// Everything a leader keeps for its term. A class, so the many in-place updates of a leader
/// (a follower's progress on every acknowledgement) reach its tables through one reference and
/// never copy them out of the enum and back.
final class Leadership {
    /// Every node replicated to (voters and learners), in id order.
    var progress: ProgressTracker
    /// Set when new entries should go out; flushed once per `takeReady`, so proposals that
    /// arrive together share one append per follower.
    var replicationPending = false
    var heartbeatDeadline: Nanos
    var checkQuorumDeadline: Nanos
    /// The stored snapshot, loaded once for followers that need it.
    var outgoingSnapshot: (meta: SnapshotMeta, data: [UInt8])?
    /// ReadIndex requests not answered yet (RaftNode+ReadIndex).
    var reads = PendingReads()
    var transfer: RaftNode.Transfer?
    /// A server being caught up before its config entry is appended.
    var addition: RaftNode.Addition?
    /// A membership change appended and answered when it commits.
    var changeAwaitingCommit: (request: RaftNode.ChangeRequest, index: LogIndex)?
    var settingsRequest: (requestID: UInt64, index: LogIndex)?
    /// A change asked of this leader before it committed an entry of its term.
    var deferredChange: RaftNode.DeferredChange?

    init(progress: ProgressTracker, heartbeatDeadline: Nanos, checkQuorumDeadline: Nanos) {
        self.progress = progress
        self.heartbeatDeadline = heartbeatDeadline
        self.checkQuorumDeadline = checkQuorumDeadline
    }
}
