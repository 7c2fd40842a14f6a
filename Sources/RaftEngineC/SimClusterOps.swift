import CRaftEngineABI
import RaftCore
import RaftSim

// The C simulator's cluster operations (spare nodes, membership, leadership transfer,
// snapshots) and the leader's per-follower progress: thin calls into SimCluster.

/// Runs `body` on live node `node` and the id of another node `other` (which may be down).
func withLiveSimPair(_ sim: OpaquePointer?, _ node: Int32, _ other: Int32, _ body: (SimBox, NodeID, NodeID) -> Int32) -> Int32 {
    withLiveSimNode(sim, node) { b, id in
        guard let o = b.id(other), o != id else { return fail(.einval, "node \(other) is no other node") }
        return body(b, id, o)
    }
}

@_cdecl("re_sim_add_node")
public func re_sim_add_node(_ sim: OpaquePointer?, _ node: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    let n = Int32(b.cluster.ids.count + 1)
    guard simNodeLimit.contains(n) else { return fail(.einval, "the cluster already has 15 nodes") }
    b.cluster.addNode("\(b.cluster.options.idPrefix)\(n)")
    node?.pointee = n
    return 0
}

@_cdecl("re_sim_join")
public func re_sim_join(_ sim: OpaquePointer?, _ node: Int32, _ via: Int32, _ asVoter: Int32,
                        _ request: UnsafeMutablePointer<UInt64>?) -> Int32 {
    withLiveSimPair(sim, node, via) { b, id, leader in
        let rid = b.cluster.join(id, via: leader, asVoter: asVoter != 0)
        request?.pointee = rid
        return 0
    }
}

@_cdecl("re_sim_add_server")
public func re_sim_add_server(_ sim: OpaquePointer?, _ leader: Int32, _ node: Int32, _ asVoter: Int32,
                              _ request: UnsafeMutablePointer<UInt64>?) -> Int32 {
    withLiveSimPair(sim, leader, node) { b, l, id in
        let rid = b.cluster.addServer(Member(id: id, isVoter: asVoter != 0), at: l)
        request?.pointee = rid
        return 0
    }
}

@_cdecl("re_sim_remove_server")
public func re_sim_remove_server(_ sim: OpaquePointer?, _ leader: Int32, _ node: Int32,
                                 _ request: UnsafeMutablePointer<UInt64>?) -> Int32 {
    withLiveSimPair(sim, leader, node) { b, l, id in
        let rid = b.cluster.removeServer(id, at: l)
        request?.pointee = rid
        return 0
    }
}

@_cdecl("re_sim_exit_cluster")
public func re_sim_exit_cluster(_ sim: OpaquePointer?, _ node: Int32, _ request: UnsafeMutablePointer<UInt64>?) -> Int32 {
    withLiveSimNode(sim, node) { b, id in
        let rid = b.cluster.exitCluster(id)
        request?.pointee = rid
        return 0
    }
}

@_cdecl("re_sim_transfer_leadership")
public func re_sim_transfer_leadership(_ sim: OpaquePointer?, _ leader: Int32, _ target: Int32,
                                       _ request: UnsafeMutablePointer<UInt64>?) -> Int32 {
    withLiveSimPair(sim, leader, target) { b, l, t in
        let rid = b.cluster.transferLeadership(at: l, to: t)
        request?.pointee = rid
        return 0
    }
}

@_cdecl("re_sim_take_snapshot")
public func re_sim_take_snapshot(_ sim: OpaquePointer?, _ node: Int32, _ keepTrailing: UInt64,
                                 _ index: UnsafeMutablePointer<UInt64>?) -> Int32 {
    withLiveSimNode(sim, node) { b, id in
        // Called on the RaftNode itself (not SimCluster.takeSnapshot) to keep the failure's case.
        var result: Result<SnapshotMeta?, RaftError> = .success(nil)
        b.cluster.with(id) { raft in
            do {
                result = .success(try raft.takeSnapshot(keepTrailing: keepTrailing))
            } catch let e as RaftError {
                result = .failure(e)
            } catch {
                result = .failure(.storage("\(error)"))
            }
        }
        switch result {
        case .success(let meta):
            index?.pointee = meta?.index ?? 0
            return 0
        case .failure(let e):
            return fail(e.status, e.description)
        }
    }
}

@_cdecl("re_sim_membership")
public func re_sim_membership(_ sim: OpaquePointer?, _ node: Int32, _ member: Int32) -> Int32 {
    guard let b = simBox(sim), let id = b.id(node), let m = b.id(member) else { return -1 }
    let n = b.cluster.node(id)
    guard n.isUp, let config = n.raft?.config else { return -1 }
    guard let entry = config.member(m) else { return Int32(RE_SIM_NOT_MEMBER.rawValue) }
    return Int32(entry.isVoter ? RE_SIM_VOTER.rawValue : RE_SIM_LEARNER.rawValue)
}

@_cdecl("re_sim_follower_progress")
public func re_sim_follower_progress(_ sim: OpaquePointer?, _ leader: Int32, _ out: UnsafeMutablePointer<re_sim_progress>?,
                            _ capacity: Int, _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    withSimNode(sim, leader) { b, id in
        guard out != nil || capacity == 0 else { return fail(.einval, "out is NULL") }
        let all = b.cluster.progress(at: id).map { p in
            var r = re_sim_progress()
            r.node = b.number(p.id)
            r.match = p.match
            r.next = p.next
            r.inflight = p.inflight
            switch p.state {
            case .probe: r.state = Int32(RE_SIM_PROBE.rawValue)
            case .replicate: r.state = Int32(RE_SIM_REPLICATE.rawValue)
            case .snapshot(let i):
                r.state = Int32(RE_SIM_SNAPSHOT.rawValue)
                r.snapshot_index = i
            }
            return r
        }.sorted { $0.node < $1.node }
        count?.pointee = all.count
        for (i, r) in all.prefix(capacity).enumerated() { out![i] = r }
        return 0
    }
}
