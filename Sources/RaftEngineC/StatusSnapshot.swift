#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftUV

/// The C `re_status`: one consistent snapshot of a node, read through getters so the ABI never
/// freezes a struct layout. Strings live as long as the snapshot.
final class StatusBox {
    let status: NodeStatus?
    let now: Nanos
    let followers: [NodeID: FollowerProgress]
    let members: [Member]
    private var strings: [[CChar]] = []

    init(node: HostedNode) {
        status = node.status()
        let (now, followers) = node.followerProgress()
        self.now = now
        self.followers = Dictionary(uniqueKeysWithValues: followers.map { ($0.id, $0) })
        members = status?.config.members ?? []
    }

    /// A C string owned by the snapshot (nil stays NULL).
    func keep(_ s: String?) -> UnsafePointer<CChar>? {
        guard let s else { return nil }
        strings.append(Array(s.utf8CString))
        return strings[strings.count - 1].withUnsafeBufferPointer { $0.baseAddress }
    }
}

private func snapshot(_ p: OpaquePointer?) -> StatusBox? {
    guard let p else { return nil }
    return Unmanaged<StatusBox>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

@_cdecl("re_node_get_status")
public func re_node_get_status(_ node: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return fail(.einval, "node is NULL") }
    guard let out else { return fail(.einval, "out is NULL") }
    out.pointee = OpaquePointer(Unmanaged.passRetained(StatusBox(node: n.node)).toOpaque())
    return 0
}

@_cdecl("re_status_free")
public func re_status_free(_ s: OpaquePointer?) {
    guard let s else { return }
    Unmanaged<StatusBox>.fromOpaque(UnsafeRawPointer(s)).release()
}

@_cdecl("re_status_role")
public func re_status_role(_ s: OpaquePointer?) -> Int32 {
    guard let st = snapshot(s)?.status, !st.stopped else { return Int32(RE_ROLE_STOPPED.rawValue) }
    switch st.role {
    case .follower: return Int32(RE_ROLE_FOLLOWER.rawValue)
    case .candidate: return Int32(RE_ROLE_CANDIDATE.rawValue)
    case .leader: return Int32(RE_ROLE_LEADER.rawValue)
    }
}

@_cdecl("re_status_term")
public func re_status_term(_ s: OpaquePointer?) -> UInt64 { snapshot(s)?.status?.term ?? 0 }

@_cdecl("re_status_commit_index")
public func re_status_commit_index(_ s: OpaquePointer?) -> UInt64 { snapshot(s)?.status?.commitIndex ?? 0 }

@_cdecl("re_status_applied_index")
public func re_status_applied_index(_ s: OpaquePointer?) -> UInt64 { snapshot(s)?.status?.appliedIndex ?? 0 }

@_cdecl("re_status_last_index")
public func re_status_last_index(_ s: OpaquePointer?) -> UInt64 { snapshot(s)?.status?.lastIndex ?? 0 }

@_cdecl("re_status_first_index")
public func re_status_first_index(_ s: OpaquePointer?) -> UInt64 { snapshot(s)?.status?.firstIndex ?? 0 }

@_cdecl("re_status_leader_id")
public func re_status_leader_id(_ s: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let b = snapshot(s), let st = b.status, !st.stopped else { return nil }
    return b.keep(st.leaderID)
}

@_cdecl("re_status_leader_address")
public func re_status_leader_address(_ s: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let b = snapshot(s), let st = b.status, !st.stopped, let l = st.leaderID,
          let a = st.config.member(l)?.address, !a.isEmpty else { return nil }
    return b.keep(a)
}

@_cdecl("re_status_member_count")
public func re_status_member_count(_ s: OpaquePointer?) -> Int { snapshot(s)?.members.count ?? 0 }

@_cdecl("re_status_voter_count")
public func re_status_voter_count(_ s: OpaquePointer?) -> Int { snapshot(s)?.members.filter(\.isVoter).count ?? 0 }

private func member(_ s: OpaquePointer?, _ i: Int) -> (StatusBox, Member)? {
    guard let b = snapshot(s), i >= 0, i < b.members.count else { return nil }
    return (b, b.members[i])
}

@_cdecl("re_status_member_id")
public func re_status_member_id(_ s: OpaquePointer?, _ i: Int) -> UnsafePointer<CChar>? {
    guard let (b, m) = member(s, i) else { return nil }
    return b.keep(m.id)
}

@_cdecl("re_status_member_address")
public func re_status_member_address(_ s: OpaquePointer?, _ i: Int) -> UnsafePointer<CChar>? {
    guard let (b, m) = member(s, i) else { return nil }
    return b.keep(m.address)
}

@_cdecl("re_status_member_is_voter")
public func re_status_member_is_voter(_ s: OpaquePointer?, _ i: Int) -> Int32 {
    guard let (_, m) = member(s, i) else { return -1 }
    return m.isVoter ? 1 : 0
}

@_cdecl("re_status_member_progress")
public func re_status_member_progress(_ s: OpaquePointer?, _ i: Int, _ match: UnsafeMutablePointer<UInt64>?,
                                      _ msSinceContact: UnsafeMutablePointer<Int64>?) -> Int32 {
    guard let (b, m) = member(s, i) else { return fail(.einval, "member index \(i) is out of range") }
    guard let p = b.followers[m.id] else {
        return fail(.estate, b.status?.role == .leader ? "\(m.id) is this leader itself" : "only the leader tracks its followers")
    }
    match?.pointee = p.match
    msSinceContact?.pointee = p.lastContact.map { Int64((b.now &- $0) / 1_000_000) } ?? -1
    return 0
}

@_cdecl("re_status_stop_reason")
public func re_status_stop_reason(_ s: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let b = snapshot(s), let why = b.status?.stopReason else { return nil }
    return b.keep(why.code)
}

@_cdecl("re_status_stop_detail")
public func re_status_stop_detail(_ s: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let b = snapshot(s), let why = b.status?.stopReason else { return nil }
    return b.keep(why.description)
}
