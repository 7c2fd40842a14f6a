#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftUV

/// What a host may read of a node besides its status snapshot: counters.
/// Transport counters by name, so new ones never change a struct's layout.
@_cdecl("re_node_counter")
public func re_node_counter(_ node: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ value: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return fail(.einval, "node is NULL") }
    guard let name, let value else { return fail(.einval, "name and value must not be NULL") }
    let t = n.node.transportStats
    let c = n.node.status()?.counters ?? NodeCounters()
    let sync = n.node.syncStats
    let counters: [String: Int] = [
        "frames_received": t.framesReceived, "frames_sent": t.framesSent, "unknown_sender": t.unknownSender,
        "spoofed_sender": t.spoofedSender, "auth_failed": t.authFailed, "wrong_cluster": t.wrongCluster,
        "malformed_frames": t.malformed, "oversized_frames": t.oversized, "connects_failed": t.connectsFailed,
        "dropped_while_disconnected": t.droppedWhileDisconnected,
        "proposals": c.proposals, "refused_proposals": c.refusedProposals, "elections_started": c.electionsStarted,
        "leader_changes": c.leaderChanges, "snapshots_taken": c.snapshotsTaken,
        "snapshots_installed": c.snapshotsInstalled, "apply_failures": c.applyFailures, "errors": c.errors,
        "log_syncs": sync.count, "log_sync_micros_total": sync.totalMicros, "log_sync_failures": sync.failures,
        "log_zero_fills": sync.zeroFills, "log_zero_fill_bytes": sync.zeroFillBytes,
    ]
    guard let v = counters[String(cString: name)] else { return fail(.enotfound, "no counter named \"\(String(cString: name))\"") }
    value.pointee = UInt64(v)
    return 0
}

