#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftSim

// re_sim_fault_options: its defaults, reading the caller's (by its `size`), and turning it into
// the fault runner's options with the host's machine and invariants.

/// `FaultRunner.Options()` as the C struct: one source for the defaults of every face.
func defaultCFaultOptions() -> re_sim_fault_options {
    let o = FaultRunner.Options(), r = o.rates
    var c = re_sim_fault_options()
    c.size = MemoryLayout<re_sim_fault_options>.size
    c.nodes = Int32(o.nodeCount)
    c.steps = o.steps
    c.rates = re_sim_fault_rates(
        deliver: UInt32(r.deliver), advance: UInt32(r.advance), propose: UInt32(r.propose), drop: UInt32(r.drop),
        duplicate: UInt32(r.duplicate), crash: UInt32(r.crash), restart: UInt32(r.restart), partition: UInt32(r.partition),
        heal: UInt32(r.heal), cluster_operation: UInt32(r.clusterOperation), link_fault: UInt32(r.linkFault),
        power_loss: UInt32(r.powerLoss), disk_full: UInt32(r.diskFull), power_loss_all: UInt32(r.powerLossAll),
        disk_error: UInt32(r.diskError))
    c.pre_vote = o.preVote.map { $0 ? 1 : 0 } ?? -1
    c.cluster_operations = o.clusterOperations ? 1 : 0
    c.check_recovery = o.checkRecovery ? 1 : 0
    c.storage_faults = o.storageFaults ? 1 : 0
    c.trace = o.trace ? 1 : 0
    c.sync_placement = o.syncPlacement.map(cSyncPlacement) ?? -1
    c.sync_job_rate = UInt32(r.syncJob)
    return c
}

@_cdecl("re_sim_fault_options_init")
public func re_sim_fault_options_init(_ options: UnsafeMutablePointer<re_sim_fault_options>?) {
    options?.pointee = defaultCFaultOptions()
}

/// The caller's options: the fields that fit in its `size` over the defaults (NULL: defaults).
func readCFaultOptions(_ p: UnsafePointer<re_sim_fault_options>?) -> Result<re_sim_fault_options, SimCallFailed> {
    var o = defaultCFaultOptions()
    guard let p else { return .success(o) }
    // Only `size` is read first: a host compiled with fewer fields passed a smaller struct.
    let size = UnsafeRawPointer(p).load(as: Int.self)
    guard size >= MemoryLayout<Int>.size else {
        return .failure(SimCallFailed(status: .einval, message: "options->size is \(size): fill options with re_sim_fault_options_init"))
    }
    withUnsafeMutableBytes(of: &o) { dst in
        _ = memcpy(dst.baseAddress!, UnsafeRawPointer(p), min(size, dst.count))
    }
    o.size = MemoryLayout<re_sim_fault_options>.size
    return .success(o)
}

/// The box a C invariant reads the cluster through: set for each seed, held weakly (the box
/// holds the cluster, whose hooks hold the invariants).
final class SimBoxSlot: @unchecked Sendable {
    weak var box: SimBox?
}

/// One host invariant, copied out of the caller's array.
struct SimCInvariant: @unchecked Sendable {
    var name: String
    var check: re_sim_invariant_fn
    var user: UnsafeMutableRawPointer?

    /// nil when it holds, else the host's words.
    func evaluate(_ box: SimBox) -> String? {
        let capacity = 1024
        var why = [CChar](repeating: 0, count: capacity)
        let failed = why.withUnsafeMutableBufferPointer { buf in
            check(user, OpaquePointer(Unmanaged.passUnretained(box).toOpaque()), buf.baseAddress, capacity) != 0
        }
        guard failed else { return nil }
        why[capacity - 1] = 0
        let text = String(cString: why)
        return text.isEmpty ? "failed" : text
    }
}

/// The fault runner's options from the C ones, and the slot its C invariants read the cluster
/// through (whoever runs a seed puts the seed's box there).
func faultRunnerOptions(_ c: re_sim_fault_options) -> Result<(FaultRunner.Options, SimBoxSlot), SimCallFailed> {
    func bad(_ m: String) -> Result<(FaultRunner.Options, SimBoxSlot), SimCallFailed> {
        .failure(SimCallFailed(status: .einval, message: m))
    }
    guard (1...15).contains(c.nodes) else { return bad("nodes \(c.nodes) is outside 1 to 15") }
    var o = FaultRunner.Options()
    o.nodeCount = Int(c.nodes)
    o.steps = c.steps
    let r = c.rates
    o.rates.deliver = Int(r.deliver)
    o.rates.advance = Int(r.advance)
    o.rates.propose = Int(r.propose)
    o.rates.drop = Int(r.drop)
    o.rates.duplicate = Int(r.duplicate)
    o.rates.crash = Int(r.crash)
    o.rates.restart = Int(r.restart)
    o.rates.partition = Int(r.partition)
    o.rates.heal = Int(r.heal)
    o.rates.clusterOperation = Int(r.cluster_operation)
    o.rates.linkFault = Int(r.link_fault)
    o.rates.powerLoss = Int(r.power_loss)
    o.rates.diskFull = Int(r.disk_full)
    o.rates.powerLossAll = Int(r.power_loss_all)
    o.rates.diskError = Int(r.disk_error)
    o.preVote = c.pre_vote < 0 ? nil : c.pre_vote != 0
    o.clusterOperations = c.cluster_operations != 0
    o.checkRecovery = c.check_recovery != 0
    o.storageFaults = c.storage_faults != 0
    o.trace = c.trace != 0
    o.rates.syncJob = Int(c.sync_job_rate)
    if c.sync_placement >= 0 {
        guard let placement = SimCluster.SyncPlacement.allCases.first(where: { cSyncPlacement($0) == c.sync_placement }) else {
            return bad("sync_placement \(c.sync_placement) is none of -1, RE_SIM_SYNC_INLINE, _LEADER, _ALWAYS")
        }
        o.syncPlacement = placement
    }
    if c.machine != nil {
        guard let table = simMachineTable(c.machine) else { return bad("machine lacks apply, snapshot, restore or create") }
        let made = SimMachineFactory(table: table, factory: c.factory)
        o.makeMachine = { id in SimCMachine(made.table, factory: made.factory, node: simNodeNumber(id)) }
        o.makeCommand = { n in "c\(n)" }
    }
    guard c.n_invariants == 0 || c.invariants != nil else { return bad("invariants is NULL but n_invariants is \(c.n_invariants)") }
    let slot = SimBoxSlot()
    for i in 0..<c.n_invariants {
        let inv = c.invariants[i]
        guard let name = inv.name, let check = inv.check else { return bad("invariant \(i) has no name or no check") }
        let host = SimCInvariant(name: String(cString: name), check: check, user: inv.user)
        o.invariants.append(FaultRunner.Invariant(host.name) { cluster in
            // The seed's box is in the slot while its run goes on.
            guard let box = slot.box, box.cluster === cluster else { return "no cluster to check" }
            return host.evaluate(box)
        })
    }
    return .success((o, slot))
}

/// A sync placement's number in the C ABI (enum re_sim_sync_placement).
func cSyncPlacement(_ p: SimCluster.SyncPlacement) -> Int32 {
    switch p {
    case .inline: return Int32(RE_SIM_SYNC_INLINE.rawValue)
    case .offLoopWhenLeading: return Int32(RE_SIM_SYNC_LEADER.rawValue)
    case .offLoop: return Int32(RE_SIM_SYNC_ALWAYS.rawValue)
    }
}
