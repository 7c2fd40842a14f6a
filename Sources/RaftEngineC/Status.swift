import CRaftEngineABI
import RaftCore
import RaftUV

/// A status code of the C ABI. The values are the header's `enum re_status` constants, so no
/// number is written twice; `statusTexts` (generated from the header) names them.
struct REStatus: Equatable {
    let rawValue: Int32
    init(_ s: re_status) { rawValue = s.rawValue }

    static let ok = REStatus(RE_OK)
    static let einval = REStatus(RE_EINVAL)
    static let enomem = REStatus(RE_ENOMEM)
    static let eaddr = REStatus(RE_EADDR)
    static let eduplicate = REStatus(RE_EDUPLICATE)
    static let elocked = REStatus(RE_ELOCKED)
    static let eio = REStatus(RE_EIO)
    static let ecorrupt = REStatus(RE_ECORRUPT)
    static let ebroken = REStatus(RE_EBROKEN)
    static let etoobig = REStatus(RE_ETOOBIG)
    static let estopped = REStatus(RE_ESTOPPED)
    static let enotleader = REStatus(RE_ENOTLEADER)
    static let eretry = REStatus(RE_ERETRY)
    static let etimeout = REStatus(RE_ETIMEOUT)
    static let eapply = REStatus(RE_EAPPLY)
    static let ebusy = REStatus(RE_EBUSY)
    static let enotfound = REStatus(RE_ENOTFOUND)
    static let estate = REStatus(RE_ESTATE)
    static let erejected = REStatus(RE_EREJECTED)
    static let eexist = REStatus(RE_EEXIST)
    static let eindeterminate = REStatus(RE_EINDETERMINATE)
}

/// Records `message` as this thread's re_errmsg() and returns the code: every failing C call
/// says why.
func fail(_ status: REStatus, _ message: String) -> Int32 {
    message.withCString { raftengine_internal_set_errmsg($0) }
    return status.rawValue
}

@_cdecl("re_strerror")
public func re_strerror(_ status: Int32) -> UnsafePointer<CChar> {
    let s: StaticString = statusTexts[status] ?? "RE_E?: unknown status code"
    return UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}
