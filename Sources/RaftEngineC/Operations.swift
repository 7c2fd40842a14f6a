#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftUV

/// Cluster operations: each completes through the host's `done` callback.
/// Runs a cluster operation whose outcome goes to `done`; RE_ESTOPPED when the node stopped.
private func operation(_ node: OpaquePointer?, _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?,
                       _ start: (HostedNode, @escaping (CommandOutcome) -> Void) -> Void) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return fail(.einval, "node is NULL") }
    if n.node.isStopped { return fail(.estopped, RaftError.stopped.description) }
    start(n.node) { outcome in deliver(done, user, outcome) }
    return 0
}

@_cdecl("re_node_add_server")
public func re_node_add_server(_ node: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ address: UnsafePointer<CChar>?,
                               _ asVoter: Int32, _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let nid = nonEmpty(id) else { return fail(.einval, "id must be a non-empty string") }
    guard let a = nonEmpty(address) else { return fail(.einval, "address must be a non-empty string") }
    let hp: HostPort
    do { hp = try HostPort.parse(a) } catch { return fail(error.status, error.description) }
    return operation(node, done, user) { n, cb in n.addServer(id: nid, address: hp.text, asVoter: asVoter != 0, completion: cb) }
}

@_cdecl("re_node_remove_server")
public func re_node_remove_server(_ node: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ done: re_done_fn?,
                                  _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let nid = nonEmpty(id) else { return fail(.einval, "id must be a non-empty string") }
    return operation(node, done, user) { n, cb in n.removeServer(id: nid, completion: cb) }
}

@_cdecl("re_node_read")
public func re_node_read(_ node: OpaquePointer?, _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    operation(node, done, user) { n, cb in n.linearizableRead(completion: cb) }
}

@_cdecl("re_node_join")
public func re_node_join(_ node: OpaquePointer?, _ leaderID: UnsafePointer<CChar>?, _ leaderAddress: UnsafePointer<CChar>?,
                         _ asVoter: Int32, _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let lid = nonEmpty(leaderID) else { return fail(.einval, "leader id must be a non-empty string") }
    guard let a = nonEmpty(leaderAddress) else { return fail(.einval, "leader address must be a non-empty string") }
    let hp: HostPort
    do { hp = try HostPort.parse(a) } catch { return fail(error.status, error.description) }
    return operation(node, done, user) { n, cb in n.join(leaderID: lid, leaderAddress: hp.text, asVoter: asVoter != 0, completion: cb) }
}

@_cdecl("re_node_exit")
public func re_node_exit(_ node: OpaquePointer?, _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    operation(node, done, user) { n, cb in n.exitCluster(completion: cb) }
}

@_cdecl("re_node_transfer_leadership")
public func re_node_transfer_leadership(_ node: OpaquePointer?, _ target: UnsafePointer<CChar>?, _ done: re_done_fn?,
                                        _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let t = nonEmpty(target) else { return fail(.einval, "target id must be a non-empty string") }
    return operation(node, done, user) { n, cb in n.transferLeadership(to: t, completion: cb) }
}

@_cdecl("re_node_take_snapshot")
public func re_node_take_snapshot(_ node: OpaquePointer?, _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    operation(node, done, user) { n, cb in n.takeSnapshot(completion: cb) }
}

@_cdecl("re_node_update_settings")
public func re_node_update_settings(_ node: OpaquePointer?, _ heartbeatMs: UInt32, _ electionMinMs: UInt32, _ electionMaxMs: UInt32,
                                    _ maxEntries: UInt32, _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    operation(node, done, user) { n, cb in
        n.updateSettings({ s in
            if heartbeatMs > 0 { s.heartbeatPeriod = UInt64(heartbeatMs) * 1_000_000 }
            if electionMinMs > 0 { s.electionTimeoutMin = UInt64(electionMinMs) * 1_000_000 }
            if electionMaxMs > 0 { s.electionTimeoutMax = UInt64(electionMaxMs) * 1_000_000 }
            if maxEntries > 0 { s.maxEntriesPerMessage = maxEntries }
        }, completion: cb)
    }
}

