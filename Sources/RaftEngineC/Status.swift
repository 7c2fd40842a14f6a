/// Status codes of the C ABI (`enum re_status` in include/raftengine.h) and their names.
enum REStatus: Int32 {
    case ok = 0
    case einval = -1
    case enomem = -2
    case eaddr = -3
    case eduplicate = -4
    case elocked = -5
    case eio = -6
    case ecorrupt = -7
    case ebroken = -8
    case etoobig = -9
    case estopped = -10
    case enotleader = -11
    case eretry = -12
    case etimeout = -13
    case eapply = -14
    case ebusy = -15
    case enotfound = -16
    case estate = -17
    case erejected = -18

    var text: StaticString {
        switch self {
        case .ok: return "RE_OK: success"
        case .einval: return "RE_EINVAL: invalid argument"
        case .enomem: return "RE_ENOMEM: out of memory"
        case .eaddr: return "RE_EADDR: address cannot be parsed or bound"
        case .eduplicate: return "RE_EDUPLICATE: duplicate id"
        case .elocked: return "RE_ELOCKED: data directory is locked by another process or node"
        case .eio: return "RE_EIO: data directory cannot be created, written or read"
        case .ecorrupt: return "RE_ECORRUPT: stored data is corrupt"
        case .ebroken: return "RE_EBROKEN: log is marked broken"
        case .etoobig: return "RE_ETOOBIG: command too large"
        case .estopped: return "RE_ESTOPPED: node is stopped"
        case .enotleader: return "RE_ENOTLEADER: not the leader"
        case .eretry: return "RE_ERETRY: no leader available, retry later"
        case .etimeout: return "RE_ETIMEOUT: timed out"
        case .eapply: return "RE_EAPPLY: state machine failed to apply the command"
        case .ebusy: return "RE_EBUSY: a cluster change is already in progress"
        case .enotfound: return "RE_ENOTFOUND: unknown node"
        case .estate: return "RE_ESTATE: wrong state for this call"
        case .erejected: return "RE_EREJECTED: request rejected"
        }
    }
}

@_cdecl("re_strerror")
public func re_strerror(_ status: Int32) -> UnsafePointer<CChar> {
    let s: StaticString = REStatus(rawValue: status)?.text ?? "RE_E?: unknown status code"
    return UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("re_version")
public func re_version() -> UnsafePointer<CChar> {
    let s: StaticString = "0.1.0"
    return UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}
