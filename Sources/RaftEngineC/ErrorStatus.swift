import RaftCore
import RaftUV

/// The one mapping from the engine's typed errors to the C ABI's status codes, by case: a
/// reworded message never changes a code.
extension RaftError {
    var status: REStatus {
        switch self {
        case .logBroken: return .ebroken
        case .invalidSettings, .emptyNodeID: return .einval
        case .corruptConfigEntry: return .ecorrupt
        case .storage: return .eio
        case .notLeader: return .enotleader
        case .commandTooLarge: return .etoobig
        case .changeInProgress, .transferInProgress: return .ebusy
        case .unknownNode: return .enotfound
        case .alreadyMember, .alreadyVoter: return .eexist
        case .alreadyLeader, .lastVoter: return .erejected
        case .catchUpFailed, .additionTimedOut, .transferTimedOut, .termNotCommitted: return .etimeout
        case .leaderSteppedDown: return .eindeterminate
        case .wrongThread: return .estate
        case .stopped: return .estopped
        }
    }
}

extension CommandOutcome {
    var status: REStatus {
        switch self {
        case .applied: return .ok
        case .redirect: return .enotleader
        case .retry: return .eretry
        case .timeout: return .etimeout
        case .applyError: return .eapply
        case .stopped: return .estopped
        case .rejected(let e): return e.status
        }
    }

    /// The words a completion carries.
    var message: String {
        switch self {
        case .applied: return ""
        case .redirect(let l, _): return "not the leader (leader is \(l))"
        case .retry: return "no leader available; retry later"
        case .timeout: return "timed out; it may still commit"
        case .applyError(let why): return why
        case .stopped: return "node is stopped"
        case .rejected(let e): return e.description
        }
    }
}

extension StartError {
    var status: REStatus {
        switch self {
        case .invalidConfig: return .einval
        case .invalidAddress, .addressInUse: return .eaddr
        case .duplicateNode: return .eduplicate
        case .dataDirLocked: return .elocked
        case .storage: return .eio
        case .corrupt: return .ecorrupt
        case .logBroken: return .ebroken
        case .hostStopped: return .estopped
        }
    }
}

extension MemberListError {
    var status: REStatus {
        switch self {
        case .unparsableAddress, .portOutOfRange: return .eaddr
        case .peerIsSelf, .duplicatePeer: return .eduplicate
        case .emptyID, .joinWithPeers: return .einval
        }
    }
}
