/// Why a node refused a request or could not do what was asked: named values from the core
/// to the completion a host receives, so a host (and the C ABI, which maps each case to one
/// RE_E* code) branches on the case, never on the words.
public enum RaftError: Error, Equatable, Sendable, CustomStringConvertible {
    // Starting a node.
    case logBroken
    case invalidSettings(String)
    case corruptConfigEntry(LogIndex)
    case storage(String)

    // Requests.
    /// Only the leader does this; `leader` and its `address` when known.
    case notLeader(leader: NodeID?, address: String)
    case commandTooLarge(size: Int, max: Int)
    /// One configuration change at a time (thesis §4.1).
    case changeInProgress
    case transferInProgress
    case alreadyLeader
    case unknownNode(NodeID)
    case alreadyMember(NodeID)
    case alreadyVoter(NodeID)
    case lastVoter
    case emptyNodeID
    case catchUpFailed(NodeID, rounds: Int)
    case additionTimedOut(NodeID)
    /// The leader stepped down before the change committed; it may still commit.
    case leaderSteppedDown
    case transferTimedOut(NodeID)
    /// A change waited for this new leader's first commit in its term longer than the command
    /// timeout (RaftNode+DeferredChange); it never entered the log.
    case termNotCommitted
    /// A blocking call made on the loop thread, which would wait on itself.
    case wrongThread
    case stopped

    public var description: String {
        switch self {
        case .logBroken: return "the log is marked broken"
        case .invalidSettings(let why): return "invalid settings: \(why)"
        case .corruptConfigEntry(let i): return "config entry at index \(i) cannot be decoded"
        case .storage(let why): return "storage failure: \(why)"
        case .notLeader(let l, _): return "not the leader" + (l.map { " (leader is \($0))" } ?? "; no leader known")
        case .commandTooLarge(let size, let max): return "command of \(size) bytes exceeds the maximum of \(max)"
        case .changeInProgress: return "a configuration change is already in progress"
        case .transferInProgress: return "a leadership transfer is already in progress"
        case .alreadyLeader: return "already the leader"
        case .unknownNode(let n): return "unknown node \(n)"
        case .alreadyMember(let n): return "\(n) is already a member"
        case .alreadyVoter(let n): return "\(n) is already a voter"
        case .lastVoter: return "cannot remove the last voter"
        case .emptyNodeID: return "empty node id"
        case .catchUpFailed(let n, let rounds): return "\(n) did not catch up in \(rounds) rounds"
        case .additionTimedOut(let n): return "adding \(n) timed out"
        case .leaderSteppedDown: return "leader stepped down before the change committed; it may still commit"
        case .transferTimedOut(let n): return "transfer to \(n) did not complete within an election timeout"
        case .termNotCommitted: return "timed out waiting for the leader to commit an entry of its term"
        case .wrongThread: return "cannot wait on the loop thread"
        case .stopped: return "node is stopped"
        }
    }
}
