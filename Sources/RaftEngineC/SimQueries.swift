#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftSim

// The C simulator's per-node status, its trace as text or file, and the fault mode.

/// Node `node` of the cluster, or nil.
func simNode(_ sim: OpaquePointer?, _ node: Int32) -> SimNode? {
    guard let b = simBox(sim), let id = b.id(node) else { return nil }
    return b.cluster.node(id)
}

@_cdecl("re_sim_role")
public func re_sim_role(_ sim: OpaquePointer?, _ node: Int32) -> Int32 {
    guard let n = simNode(sim, node) else { return -1 }
    guard n.isUp else { return Int32(RE_ROLE_STOPPED.rawValue) }
    switch n.role {
    case .follower: return Int32(RE_ROLE_FOLLOWER.rawValue)
    case .candidate: return Int32(RE_ROLE_CANDIDATE.rawValue)
    case .leader: return Int32(RE_ROLE_LEADER.rawValue)
    }
}

@_cdecl("re_sim_term")
public func re_sim_term(_ sim: OpaquePointer?, _ node: Int32) -> UInt64 { simNode(sim, node)?.term ?? 0 }

@_cdecl("re_sim_commit_index")
public func re_sim_commit_index(_ sim: OpaquePointer?, _ node: Int32) -> UInt64 { simNode(sim, node)?.commitIndex ?? 0 }

@_cdecl("re_sim_applied_index")
public func re_sim_applied_index(_ sim: OpaquePointer?, _ node: Int32) -> UInt64 { simNode(sim, node)?.raft?.appliedIndex ?? 0 }

@_cdecl("re_sim_last_index")
public func re_sim_last_index(_ sim: OpaquePointer?, _ node: Int32) -> UInt64 { simNode(sim, node)?.lastIndex ?? 0 }

@_cdecl("re_sim_leader_of")
public func re_sim_leader_of(_ sim: OpaquePointer?, _ node: Int32) -> Int32 {
    guard let b = simBox(sim), let n = simNode(sim, node), n.isUp else { return 0 }
    return b.number(n.leaderID)
}

@_cdecl("re_sim_leader")
public func re_sim_leader(_ sim: OpaquePointer?) -> Int32 {
    guard let b = simBox(sim) else { return 0 }
    return b.number(b.cluster.leader?.id)
}

// MARK: Trace

@_cdecl("re_sim_section")
public func re_sim_section(_ sim: OpaquePointer?, _ title: UnsafePointer<CChar>?) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    guard let title else { return fail(.einval, "title is NULL") }
    b.cluster.section(String(cString: title))
    return 0
}

@_cdecl("re_sim_section_count")
public func re_sim_section_count(_ sim: OpaquePointer?) -> Int { simBox(sim)?.cluster.trace.sections.count ?? 0 }

/// The trace text re_sim_trace and re_sim_write_trace give, or a failed status.
func simTraceText(_ sim: OpaquePointer?, _ format: Int32, _ section: Int) -> Result<String, SimCallFailed> {
    guard let b = simBox(sim) else { return .failure(SimCallFailed(status: .einval, message: "sim is NULL")) }
    let trace = b.cluster.trace
    guard section <= trace.sections.count else {
        return .failure(SimCallFailed(status: .enotfound, message: "the trace has \(trace.sections.count) sections, no section \(section)"))
    }
    let picked = section == 0 ? Array(trace.sections.indices) : [section - 1]
    switch Int(format) {
    case Int(RE_SIM_TRACE_RST.rawValue):
        if section == 0 { return .success(trace.rstDocument(title: "trace")) }
        return .success(trace.rstTable(section: section - 1))
    case Int(RE_SIM_TRACE_CSV.rawValue):
        return .success(picked.map { trace.csv(section: $0) }.joined())
    case Int(RE_SIM_TRACE_PLANTUML.rawValue):
        return .success(picked.map { trace.plantUML(section: $0) }.joined())
    default:
        return .failure(SimCallFailed(status: .einval, message: "format \(format) is not an re_sim_trace_format"))
    }
}

struct SimCallFailed: Error {
    var status: REStatus
    var message: String
}

/// A NUL-terminated malloc()ed copy of `s`, for the caller to free().
func mallocString(_ s: String) -> UnsafeMutablePointer<CChar>? {
    s.withCString { strdup($0) }
}

@_cdecl("re_sim_trace")
public func re_sim_trace(_ sim: OpaquePointer?, _ format: Int32, _ section: Int, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let out else { return fail(.einval, "out is NULL") }
    switch simTraceText(sim, format, section) {
    case .success(let text):
        guard let s = mallocString(text) else { return fail(.enomem, "cannot allocate \(text.utf8.count) bytes") }
        out.pointee = s
        return 0
    case .failure(let f): return fail(f.status, f.message)
    }
}

@_cdecl("re_sim_write_trace")
public func re_sim_write_trace(_ sim: OpaquePointer?, _ format: Int32, _ section: Int, _ path: UnsafePointer<CChar>?) -> Int32 {
    guard let path else { return fail(.einval, "path is NULL") }
    switch simTraceText(sim, format, section) {
    case .success(let text):
        do throws(TraceFileError) {
            try TraceRecorder.save(text, to: String(cString: path))
        } catch {
            return fail(.eio, error.description)
        }
        return 0
    case .failure(let f): return fail(f.status, f.message)
    }
}

// MARK: Fault mode

/// The host's machine table and factory, handed to the fault runner's seeds (which run on the
/// calling thread, one after another).
struct SimMachineFactory: @unchecked Sendable {
    var table: re_sim_machine
    var factory: UnsafeMutableRawPointer?
}

@_cdecl("re_sim_fault_sweep")
public func re_sim_fault_sweep(_ firstSeed: UInt64, _ count: UInt64, _ nodeCounts: UnsafePointer<Int32>?, _ nCounts: Int,
                               _ machine: UnsafePointer<re_sim_machine>?, _ factory: UnsafeMutableRawPointer?,
                               _ stopAtFailure: Int32, _ seedsRun: UnsafeMutablePointer<UInt64>?,
                               _ firstFailing: UnsafeMutablePointer<UInt64>?,
                               _ violation: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard firstSeed >= 1 else { return fail(.einval, "first_seed must be at least 1 (0 means no failing seed)") }
    guard count >= 1, firstSeed <= UInt64.max - (count - 1) else { return fail(.einval, "count \(count) is 0 or runs past the last seed") }
    var sizes = [3, 5, 7]
    if let nodeCounts, nCounts > 0 {
        sizes = (0..<nCounts).map { Int(nodeCounts[$0]) }
        guard sizes.allSatisfy({ (1...15).contains($0) }) else { return fail(.einval, "node counts must lie in 1 to 15") }
    }
    var options = FaultRunner.Options()
    if machine != nil {
        guard let table = simMachineTable(machine) else {
            return fail(.einval, "machine lacks apply, snapshot, restore or create")
        }
        let made = SimMachineFactory(table: table, factory: factory)
        options.makeMachine = { id in SimCMachine(made.table, factory: made.factory, node: simNodeNumber(id)) }
        options.makeCommand = { n in "c\(n)" }
    }
    let report = FaultRunner.sweep(firstSeed...(firstSeed + count - 1), nodeCounts: sizes, options: options,
                                   stopAtFirstFailure: stopAtFailure != 0)
    seedsRun?.pointee = UInt64(report.seedsRun)
    firstFailing?.pointee = report.firstFailingSeed ?? 0
    if let violation {
        violation.pointee = report.failures.first.flatMap { f in
            mallocString("seed \(f.seed) (\(f.nodeCount) nodes): " + f.violations.joined(separator: "\n"))
        }
    }
    return 0
}
