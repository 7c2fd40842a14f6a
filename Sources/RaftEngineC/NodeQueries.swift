#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftUV

/// What a host may read of a node: status and counters.
@_cdecl("re_node_status")
public func re_node_status(_ node: OpaquePointer?, _ info: UnsafeMutablePointer<re_status_info>?) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return fail(.einval, "node is NULL") }
    guard let info else { return fail(.einval, "info is NULL") }
    var i = re_status_info()
    if let s = n.node.status() {
        i.role = Int32(s.role.rawValue)
        i.term = s.term
        i.commit_index = s.commitIndex
        i.applied_index = s.appliedIndex
        i.last_index = s.lastIndex
        i.stopped = s.stopped ? 1 : 0
        i.voters = UInt32(s.config.voterIDs.count)
        i.learners = UInt32(s.config.members.count - s.config.voterIDs.count)
        if let l = s.leaderID {
            withUnsafeMutableBytes(of: &i.leader_id) { copyOut(l, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
            let addr = s.config.member(l)?.address ?? ""
            withUnsafeMutableBytes(of: &i.leader_address) { copyOut(addr, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        }
    } else {
        i.stopped = 1
    }
    info.pointee = i
    return 0
}

/// Transport counters by name, so new ones never change a struct's layout.
@_cdecl("re_node_counter")
public func re_node_counter(_ node: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ value: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return fail(.einval, "node is NULL") }
    guard let name, let value else { return fail(.einval, "name and value must not be NULL") }
    let t = n.node.transportStats
    let counters: [String: Int] = [
        "frames_received": t.framesReceived, "frames_sent": t.framesSent, "unknown_sender": t.unknownSender,
        "spoofed_sender": t.spoofedSender, "auth_failed": t.authFailed, "wrong_cluster": t.wrongCluster,
        "malformed_frames": t.malformed, "oversized_frames": t.oversized, "connects_failed": t.connectsFailed,
        "dropped_while_disconnected": t.droppedWhileDisconnected,
    ]
    guard let v = counters[String(cString: name)] else { return fail(.enotfound, "no counter named \"\(String(cString: name))\"") }
    value.pointee = UInt64(v)
    return 0
}

