#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftUV

/// Outcomes, results and events as the C values the header defines.
/// Calls `body` with a `re_result` describing `outcome`; its pointers live for the call only.
func withCResult(_ outcome: CommandOutcome, _ body: (UnsafePointer<re_result>) -> Void) {
    var data: [UInt8] = []
    var leader: String?
    var address: String?
    let message = outcome.message
    switch outcome {
    case .applied(let bytes): data = bytes
    case .redirect(let l, let a): leader = l; address = a.isEmpty ? nil : a
    case .rejected(.notLeader(let l, let a)): leader = l; address = a.isEmpty ? nil : a
    default: break
    }
    func cString(_ s: String?, _ f: (UnsafePointer<CChar>?) -> Void) {
        if let s { s.withCString { f($0) } } else { f(nil) }
    }
    data.withUnsafeBufferPointer { buf in
        cString(leader) { l in
            cString(address) { a in
                message.withCString { m in
                    var r = re_result(status: outcome.status.rawValue, result: buf.count > 0 ? buf.baseAddress : nil,
                                      result_len: buf.count, leader_id: l, leader_address: a, message: m)
                    withUnsafePointer(to: &r) { body($0) }
                }
            }
        }
    }
}

func deliver(_ done: re_done_fn?, _ user: UnsafeMutableRawPointer?, _ outcome: CommandOutcome) {
    guard let done else { return }
    withCResult(outcome) { done(user, $0) }
}

/// Calls the host's event callback with a `re_event` (strings live for the call only).
func deliver(_ event: RaftEvent, to callback: re_event_fn, user: UnsafeMutableRawPointer?) {
    var kind = RE_EVENT_ERROR
    var value: String?
    var node: String?
    var detail: String?
    var number: UInt64 = 0
    switch event {
    case .roleChanged(let r): kind = RE_EVENT_ROLE; value = r.description; number = UInt64(r.code)
    case .termChanged(let t): kind = RE_EVENT_TERM; number = t
    case .leaderChanged(let l): kind = RE_EVENT_LEADER; value = l
    case .election(let s): kind = RE_EVENT_ELECTION; value = s.rawValue
    case .resync(let s, let peer): kind = RE_EVENT_RESYNC; value = s.rawValue; node = peer
    case .membershipChangeComplete(let op, let n):
        kind = RE_EVENT_MEMBERSHIP_DONE; value = op.description; node = n; number = UInt64(op.code)
    case .membershipChangeAborted(let op, let n, let why):
        kind = RE_EVENT_MEMBERSHIP_ABORTED; value = op.description; node = n; detail = why; number = UInt64(op.code)
    case .settingsChanged: kind = RE_EVENT_SETTINGS
    case .snapshotTaken(let i): kind = RE_EVENT_SNAPSHOT; value = "TAKEN"; number = i
    case .snapshotInstalled(let i): kind = RE_EVENT_SNAPSHOT; value = "INSTALLED"; number = i
    case .applyFailed(let index, let why, let policy): kind = RE_EVENT_APPLY_FAILED; number = index; value = policy.description; detail = why
    case .stopCommanded(let why): kind = RE_EVENT_STOPPED; value = why.code; detail = why.description
    case .error(let why): kind = RE_EVENT_ERROR; detail = why
    }
    func c(_ s: String?, _ f: (UnsafePointer<CChar>?) -> Void) {
        if let s { s.withCString { f($0) } } else { f(nil) }
    }
    c(value) { v in c(node) { n in c(detail) { d in
        var e = re_event(kind: Int32(kind.rawValue), value: v, node: n, detail: d, number: number)
        withUnsafePointer(to: &e) { callback(user, $0) }
    } } }
}


extension StopReason {
    /// RE_EVENT_STOPPED's value: which kind of stop, for hosts to branch on.
    var code: String {
        switch self {
        case .removed: return "REMOVED"
        case .applyHalted: return "APPLY_HALTED"
        case .storageFailed: return "STORAGE_FAILURE"
        }
    }
}

extension Role {
    /// enum re_role.
    var code: UInt32 {
        switch self {
        case .follower: return RE_ROLE_FOLLOWER.rawValue
        case .candidate: return RE_ROLE_CANDIDATE.rawValue
        case .leader: return RE_ROLE_LEADER.rawValue
        }
    }
}

extension MembershipOp {
    /// enum re_membership_op.
    var code: UInt32 {
        switch self {
        case .add: return RE_MEMBERSHIP_ADD.rawValue
        case .remove: return RE_MEMBERSHIP_REMOVE.rawValue
        case .promote: return RE_MEMBERSHIP_PROMOTE.rawValue
        }
    }
}

/// Calls `done` once with an array of results (their strings and bytes live for the call).
func deliverBatch(_ outcomes: [(Int, CommandOutcome)], firstTag: UInt64, to done: re_batch_done_fn,
                  user: UnsafeMutableRawPointer?) {
    // Every string the results point at, kept alive for the call.
    var strings: [[CChar]] = []
    var datas: [[UInt8]] = []
    strings.reserveCapacity(outcomes.count)
    var specs: [(tag: UInt64, status: Int32, data: Int?, leader: Int?, address: Int?, message: Int?)] = []
    specs.reserveCapacity(outcomes.count)
    func keep(_ s: String?) -> Int? {
        guard let s else { return nil }
        strings.append(Array(s.utf8CString))
        return strings.count - 1
    }
    for (k, o) in outcomes {
        var data: Int?
        var leader: String?, address: String?
        switch o {
        case .applied(let bytes) where !bytes.isEmpty:
            datas.append(bytes)
            data = datas.count - 1
        case .redirect(let l, let a), .rejected(.notLeader(let l?, let a)):
            leader = l
            address = a.isEmpty ? nil : a
        default:
            break
        }
        let message = o.status == .ok ? nil : o.message
        specs.append((firstTag &+ UInt64(k), o.status.rawValue, data, keep(leader), keep(address), keep(message)))
    }
    withPinned(strings) { s in
        withPinned(datas) { d in
            var results = specs.map { sp in
                re_batch_result(tag: sp.tag, status: sp.status, result: sp.data.map { d[$0].baseAddress } ?? nil,
                                result_len: sp.data.map { d[$0].count } ?? 0,
                                leader_id: sp.leader.map { s[$0].baseAddress } ?? nil,
                                leader_address: sp.address.map { s[$0].baseAddress } ?? nil,
                                message: sp.message.map { s[$0].baseAddress } ?? nil)
            }
            results.withUnsafeMutableBufferPointer { done(user, $0.baseAddress, $0.count) }
        }
    }
}

/// Stable pointers to each array's storage while `body` runs: copies into one allocation.
private func withPinned<T>(_ arrays: [[T]], _ body: ([UnsafeBufferPointer<T>]) -> Void) {
    var total = 0
    for a in arrays { total += a.count }
    let storage = UnsafeMutablePointer<T>.allocate(capacity: max(1, total))
    defer {
        storage.deinitialize(count: total)
        storage.deallocate()
    }
    var views: [UnsafeBufferPointer<T>] = []
    views.reserveCapacity(arrays.count)
    var offset = 0
    for a in arrays {
        a.withUnsafeBufferPointer { if let b = $0.baseAddress { (storage + offset).initialize(from: b, count: a.count) } }
        views.append(UnsafeBufferPointer(start: storage + offset, count: a.count))
        offset += a.count
    }
    body(views)
}
