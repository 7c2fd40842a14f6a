import CRaftEngineABI
import RaftCore
import RaftSim

// The C simulator's creation options (re_sim_options), a restart with a node's own options
// changed, and the slow-disk switch.

/// A simulated cluster has at most 15 nodes, spare nodes included.
let simNodeLimit: ClosedRange<Int32> = 1...15

/// The C `re_sim_options`: what re_sim_new_with_options builds a cluster with.
final class SimOptionsBox {
    var nodes: Int32
    var seed: UInt64
    var preVote: Bool
    /// Per-node election timeout ranges by node number; 0 stands for every node.
    var electionTimeouts: [Int32: ClosedRange<Nanos>] = [:]
    var losesUnsyncedWrites = false

    init(nodes: Int32, seed: UInt64, preVote: Bool) {
        self.nodes = nodes
        self.seed = seed
        self.preVote = preVote
    }

    /// The SimCluster options these stand for (the machine factory still to be set).
    func clusterOptions() -> SimCluster.Options {
        var o = SimCluster.Options(nodeCount: Int(nodes), seed: seed, preVote: preVote)
        o.memoryLogLosesUnsyncedWrites = losesUnsyncedWrites
        let ranges = electionTimeouts
        if !ranges.isEmpty {
            // Asked for every node created, spare nodes too: its own range, else the all-nodes one.
            o.configureNode = { id, node in
                if let r = ranges[simNodeNumber(id)] ?? ranges[0] { node.electionTimeoutRange = r }
            }
        }
        return o
    }
}

func simOptions(_ p: OpaquePointer?) -> SimOptionsBox? { box(p, SimOptionsBox.self) }

@_cdecl("re_sim_options_new")
public func re_sim_options_new(_ nodes: Int32, _ seed: UInt64, _ preVote: Int32,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return fail(.einval, "out is NULL") }
    guard simNodeLimit.contains(nodes) else { return fail(.einval, "nodes \(nodes) is outside 1 to 15") }
    let o = SimOptionsBox(nodes: nodes, seed: seed, preVote: preVote != 0)
    out.pointee = OpaquePointer(Unmanaged.passRetained(o).toOpaque())
    return 0
}

@_cdecl("re_sim_options_free")
public func re_sim_options_free(_ options: OpaquePointer?) {
    guard let options else { return }
    Unmanaged<SimOptionsBox>.fromOpaque(UnsafeRawPointer(options)).release()
}

/// A C election timeout range in ms as nanoseconds, or nil when it is out of range.
func simTimeoutRange(_ minMs: UInt32, _ maxMs: UInt32) -> ClosedRange<Nanos>? {
    guard minMs >= 1, maxMs <= 600_000, minMs <= maxMs else { return nil }
    return (UInt64(minMs) * nanosPerMs)...(UInt64(maxMs) * nanosPerMs)
}

func badTimeoutRange(_ minMs: UInt32, _ maxMs: UInt32) -> Int32 {
    fail(.einval, "election timeout \(minMs)-\(maxMs) ms is not 1 <= min <= max <= 600000")
}

@_cdecl("re_sim_options_set_election_timeout")
public func re_sim_options_set_election_timeout(_ options: OpaquePointer?, _ node: Int32, _ minMs: UInt32,
                                                _ maxMs: UInt32) -> Int32 {
    guard let o = simOptions(options) else { return fail(.einval, "options is NULL") }
    guard node == 0 || simNodeLimit.contains(node) else { return fail(.einval, "node \(node) is outside 0 to 15") }
    guard let range = simTimeoutRange(minMs, maxMs) else { return badTimeoutRange(minMs, maxMs) }
    o.electionTimeouts[node] = range
    return 0
}

@_cdecl("re_sim_options_set_lose_unsynced_writes")
public func re_sim_options_set_lose_unsynced_writes(_ options: OpaquePointer?, _ on: Int32) -> Int32 {
    guard let o = simOptions(options) else { return fail(.einval, "options is NULL") }
    o.losesUnsyncedWrites = on != 0
    return 0
}

@_cdecl("re_sim_new_with_options")
public func re_sim_new_with_options(_ options: OpaquePointer?, _ machine: UnsafePointer<re_sim_machine>?,
                                    _ factory: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let o = simOptions(options) else { return fail(.einval, "options is NULL") }
    return newSim(o, machine, factory, out)
}

@_cdecl("re_sim_restart_with_election_timeout")
public func re_sim_restart_with_election_timeout(_ sim: OpaquePointer?, _ node: Int32, _ minMs: UInt32,
                                                 _ maxMs: UInt32) -> Int32 {
    withSimNode(sim, node) { b, id in
        let range = simTimeoutRange(minMs, maxMs)
        guard range != nil || (minMs == 0 && maxMs == 0) else { return badTimeoutRange(minMs, maxMs) }
        b.cluster.restart(id) { $0.electionTimeoutRange = range }
        return b.cluster.node(id).isUp ? 0 : fail(.eio, "node \(node) did not start again")
    }
}

// MARK: Slow disk

@_cdecl("re_sim_set_syncs_deferred")
public func re_sim_set_syncs_deferred(_ sim: OpaquePointer?, _ node: Int32, _ on: Int32) -> Int32 {
    withSimNode(sim, node) { b, id in
        b.cluster.node(id).syncsDeferred = on != 0
        return 0
    }
}

@_cdecl("re_sim_finish_sync")
public func re_sim_finish_sync(_ sim: OpaquePointer?, _ node: Int32) -> Int32 {
    withSimNode(sim, node) { b, id in
        b.cluster.finishSync(id)
        return 0
    }
}
