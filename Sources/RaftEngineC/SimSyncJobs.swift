import CRaftEngineABI
import RaftCore
import RaftSim

// The simulator's sync thread from C: a node's sync placement, and its jobs run and completed
// one step at a time (SimCluster+SyncThread).

@_cdecl("re_sim_set_sync_placement")
public func re_sim_set_sync_placement(_ sim: OpaquePointer?, _ node: Int32, _ placement: Int32) -> Int32 {
    withSimNode(sim, node) { b, id in
        guard let p = SimCluster.SyncPlacement.allCases.first(where: { cSyncPlacement($0) == placement }) else {
            return fail(.einval, "placement \(placement) is none of RE_SIM_SYNC_INLINE, _LEADER, _ALWAYS")
        }
        b.cluster.node(id).syncPlacement = p
        return 0
    }
}

@_cdecl("re_sim_run_sync_job")
public func re_sim_run_sync_job(_ sim: OpaquePointer?, _ node: Int32, _ done: UnsafeMutablePointer<Int32>?) -> Int32 {
    stepSyncJob(sim, node, done) { $0.runSyncJob($1) }
}

@_cdecl("re_sim_complete_sync_job")
public func re_sim_complete_sync_job(_ sim: OpaquePointer?, _ node: Int32, _ done: UnsafeMutablePointer<Int32>?) -> Int32 {
    stepSyncJob(sim, node, done) { $0.completeSyncJob($1) }
}

/// One step of a node's sync jobs; `*done` (when given) says whether there was a job to step.
private func stepSyncJob(_ sim: OpaquePointer?, _ node: Int32, _ done: UnsafeMutablePointer<Int32>?,
                         _ step: (SimCluster, NodeID) -> Bool) -> Int32 {
    withSimNode(sim, node) { b, id in
        // Stepped before the store: `done?.pointee = step(...)` would skip the step when done is NULL.
        let stepped = step(b.cluster, id)
        done?.pointee = stepped ? 1 : 0
        return 0
    }
}

@_cdecl("re_sim_sync_jobs")
public func re_sim_sync_jobs(_ sim: OpaquePointer?, _ node: Int32, _ inFlight: UnsafeMutablePointer<Int>?,
                             _ ran: UnsafeMutablePointer<Int>?) -> Int32 {
    withSimNode(sim, node) { b, id in
        let n = b.cluster.node(id)
        inFlight?.pointee = n.syncJobsInFlight
        ran?.pointee = n.syncJobsRun
        return 0
    }
}
