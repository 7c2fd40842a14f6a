/// Steps of an election, reported as events (the seed library's `ELECTION_OP`).
public enum ElectionStep: String, Sendable, Equatable {
    case preVoteStarted = "START_PRE_ELECTION"
    case preVoteWon = "PRE_WON"
    case preVoteLost = "PRE_LOST"
    case electionStarted = "START_ELECTION"
    case electionWon = "WON"
    case electionLost = "LOST"
    case electionTimedOut = "ELECTION_TIMEOUT"
    case newerTerm = "NEWER_TERM"
    case leaderLost = "LEADER_LOST"
    case joinedLeader = "JOINED_LEADER"
    case broadcastingTermStart = "BROADCASTING_TERM_START"
}

/// Steps of bringing a follower up to date (the seed library's `RESYNC_OP`).
public enum ResyncStep: String, Sendable, Equatable {
    /// The follower rejected an append; the leader probes back from its hint.
    case sendingBackdown = "SENDING_BACKDOWN"
    /// The leader streams missing entries in batches.
    case sendingCatchup = "SENDING_CATCHUP"
    /// The follower is behind the leader's first retained entry.
    case sendingSnapshot = "SENDING_SNAPSHOT"
}

public enum RaftEvent: Equatable, Sendable {
    case roleChanged(Role)
    case termChanged(Term)
    case leaderChanged(NodeID?)
    case election(ElectionStep)
    case resync(ResyncStep, peer: NodeID)
    case membershipChangeComplete(MembershipOp, NodeID)
    case membershipChangeAborted(MembershipOp, NodeID, reason: String)
    /// New cluster settings committed and now in force.
    case settingsChanged(ClusterSettings)
    case snapshotTaken(index: LogIndex)
    case snapshotInstalled(index: LogIndex)
    /// The state machine failed to apply the committed entry at `index`; `policy` says what
    /// follows (the command's result, a retry later, or a stop).
    case applyFailed(index: LogIndex, reason: String, policy: ApplyPolicy)
    /// The node stopped itself.
    case stopCommanded(reason: StopReason)
    /// Something failed that the host should know about (bad message, apply failure, storage).
    case error(String)
}

/// Why a node stopped itself.
public enum StopReason: Equatable, Sendable, CustomStringConvertible {
    /// Its removal from the cluster committed (removed by the leader, or its own exit).
    case removed
    /// An apply failed under the halt policy; the log is marked broken.
    case applyHalted(index: LogIndex, reason: String)
    /// The log could not be written or read.
    case storageFailed(String)

    public var description: String {
        switch self {
        case .removed: return "removed from the cluster"
        case .applyHalted(let i, let why): return "apply of index \(i) failed: \(why)"
        case .storageFailed(let why): return "storage failure: \(why)"
        }
    }
}
