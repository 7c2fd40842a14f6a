#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftSim

/// The C `re_sim`: a `SimCluster` whose nodes run the host's C machines, numbered 1...N, plus
/// what the C calls keep between calls (hold rules, the last outcome's bytes).
final class SimBox {
    let cluster: SimCluster
    /// Links whose messages are held: (from, to), 0 for any node.
    var holds: Set<SimLinkRule> = []
    /// The bytes re_sim_outcome handed out (malloc()ed), valid until the next call.
    private var outcomeBytes: UnsafeMutablePointer<UInt8>?

    /// Keeps a copy of `bytes` until the next call and returns it.
    func keepOutcome(_ bytes: [UInt8]) -> UnsafePointer<UInt8>? {
        free(outcomeBytes)
        outcomeBytes = nil
        guard !bytes.isEmpty, let p = malloc(bytes.count)?.assumingMemoryBound(to: UInt8.self) else { return nil }
        bytes.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: $0.count) }
        outcomeBytes = p
        return UnsafePointer(p)
    }

    deinit { free(outcomeBytes) }

    init(_ cluster: SimCluster) {
        self.cluster = cluster
        cluster.addFilter { [unowned self] m in
            self.holds.contains { $0.matches(m, in: self.cluster) } ? .hold : .deliver
        }
    }

    /// The id of node `n` (1...N), or nil.
    func id(_ n: Int32) -> NodeID? {
        let i = Int(n)
        guard i >= 1, i <= cluster.ids.count else { return nil }
        return cluster.ids[i - 1]
    }

    /// The number of node `id` (0 when unknown or nil).
    func number(_ id: NodeID?) -> Int32 {
        guard let id, let i = cluster.ids.firstIndex(of: id) else { return 0 }
        return Int32(i + 1)
    }
}

/// A from/to pair of node numbers, 0 standing for any node.
struct SimLinkRule: Hashable {
    var from: Int32
    var to: Int32

    func matches(_ m: Message, in cluster: SimCluster) -> Bool {
        func fits(_ n: Int32, _ id: NodeID) -> Bool {
            n == 0 || (Int(n) <= cluster.ids.count && cluster.ids[Int(n) - 1] == id)
        }
        return fits(from, m.from) && fits(to, m.to)
    }
}

/// One lifetime of a node's C machine: made by the host's `create`, handed to its `destroy`
/// when the simulator lets go of it.
final class SimCMachine: CStateMachine {
    let table: re_sim_machine
    let factory: UnsafeMutableRawPointer?
    let node: Int32

    init(_ table: re_sim_machine, factory: UnsafeMutableRawPointer?, node: Int32) {
        self.table = table
        self.factory = factory
        self.node = node
        super.init(apply: table.apply, snapshot: table.snapshot, restore: table.restore,
                   user: table.create(factory, node))
    }

    deinit { table.destroy?(factory, node, user) }
}

/// A machine table copied out of the caller's memory, checked for its required functions.
func simMachineTable(_ p: UnsafePointer<re_sim_machine>?) -> re_sim_machine? {
    guard let t = p?.pointee, t.apply != nil, t.snapshot != nil, t.restore != nil, t.create != nil else { return nil }
    return t
}

/// The node number in a simulator id ("sim://3" is 3; 0 when it has none).
func simNodeNumber(_ id: NodeID) -> Int32 {
    Int32(id.split(separator: "/").last.flatMap { Int($0) } ?? 0)
}

func simBox(_ p: OpaquePointer?) -> SimBox? { box(p, SimBox.self) }

@_cdecl("re_sim_new")
public func re_sim_new(_ nodes: Int32, _ seed: UInt64, _ preVote: Int32, _ machine: UnsafePointer<re_sim_machine>?,
                       _ factory: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    newSim(SimOptionsBox(nodes: nodes, seed: seed, preVote: preVote != 0), machine, factory, out)
}

/// Creates the cluster re_sim_new and re_sim_new_with_options hand out.
func newSim(_ options: SimOptionsBox, _ machine: UnsafePointer<re_sim_machine>?, _ factory: UnsafeMutableRawPointer?,
            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return fail(.einval, "out is NULL") }
    guard simNodeLimit.contains(options.nodes) else { return fail(.einval, "nodes \(options.nodes) is outside 1 to 15") }
    guard let table = simMachineTable(machine) else {
        return fail(.einval, "machine is NULL or lacks apply, snapshot, restore or create")
    }
    var o = options.clusterOptions()
    o.makeMachine = { id in SimCMachine(table, factory: factory, node: simNodeNumber(id)) }
    let b = SimBox(SimCluster(o))
    out.pointee = OpaquePointer(Unmanaged.passRetained(b).toOpaque())
    return 0
}

@_cdecl("re_sim_free")
public func re_sim_free(_ sim: OpaquePointer?) {
    guard let sim else { return }
    Unmanaged<SimBox>.fromOpaque(UnsafeRawPointer(sim)).release()
}

@_cdecl("re_sim_node_count")
public func re_sim_node_count(_ sim: OpaquePointer?) -> Int32 {
    Int32(simBox(sim)?.cluster.ids.count ?? 0)
}

/// Runs `body` with the cluster and node `node`'s id, or fails with RE_EINVAL.
func withSimNode(_ sim: OpaquePointer?, _ node: Int32, _ body: (SimBox, NodeID) -> Int32) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    guard let id = b.id(node) else { return fail(.einval, "node \(node) is outside 1 to \(b.cluster.ids.count)") }
    return body(b, id)
}

/// Runs `body` on live node `node`, or fails (RE_EINVAL for a bad number, RE_ESTOPPED when down).
func withLiveSimNode(_ sim: OpaquePointer?, _ node: Int32, _ body: (SimBox, NodeID) -> Int32) -> Int32 {
    withSimNode(sim, node) { b, id in
        guard b.cluster.node(id).isUp else { return fail(.estopped, "node \(node) is down") }
        return body(b, id)
    }
}

// MARK: Commands

@_cdecl("re_sim_propose")
public func re_sim_propose(_ sim: OpaquePointer?, _ node: Int32, _ command: UnsafePointer<UInt8>?, _ len: Int,
                           _ request: UnsafeMutablePointer<UInt64>?) -> Int32 {
    withSimNode(sim, node) { b, id in
        guard command != nil || len == 0 else { return fail(.einval, "command is NULL") }
        guard b.cluster.node(id).isUp else { return fail(.estopped, "node \(node) is down") }
        let bytes = len > 0 ? Array(UnsafeBufferPointer(start: command, count: len)) : []
        // Proposed first: `request?.pointee = propose(...)` would skip the call for a NULL request.
        let rid = b.cluster.propose(id, bytes: bytes)
        request?.pointee = rid
        return 0
    }
}

@_cdecl("re_sim_outcome")
public func re_sim_outcome(_ sim: OpaquePointer?, _ request: UInt64, _ status: UnsafeMutablePointer<Int32>?,
                           _ result: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ resultLen: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    guard let outcome = b.cluster.outcome(request) else { return 0 }
    var bytes = Array(outcome.message.utf8)
    if case .applied(let r) = outcome { bytes = r }
    status?.pointee = outcome.status.rawValue
    resultLen?.pointee = bytes.count
    result?.pointee = b.keepOutcome(bytes)
    return 1
}
