#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftSim

// re_sim_fault_run: one seed of the fault mode kept for reading (violations with their steps,
// the action log, the cluster and its trace), and re_sim_fault_sweep_with.

/// A seed run to its end with the cluster's box: C invariants read the cluster through the box,
/// and so do the host's getters and re_sim_trace afterwards.
final class SimFaultRunBox {
    let run: FaultRun
    let sim: SimBox
    let report: FaultRunner.Report
    /// The report's failures with their property and step, as C strings this box owns.
    private(set) var violations: [(property: UnsafeMutablePointer<CChar>?, message: UnsafeMutablePointer<CChar>?, step: Int)] = []
    /// One C string per action kind, shared by the log's entries.
    private var kindNames: [FaultAction.Kind: UnsafeMutablePointer<CChar>?] = [:]

    init(seed: UInt64, options: FaultRunner.Options, slot: SimBoxSlot) {
        let run = FaultRunner(seed: seed, options: options).prepare()
        let sim = SimBox(run.cluster)
        slot.box = sim
        self.run = run
        self.sim = sim
        report = run.finish()
        // finish() gives text; the run's violations give property and step. A failure that is
        // not one of them came from the recovery check at the end.
        let found = run.violations
        for text in report.violations {
            let v = found.first { $0.description == text }
                ?? Violation(property: "recovery", message: text, step: run.cluster.step)
            violations.append((mallocString(v.property), mallocString(v.message), v.step))
        }
    }

    func kindName(_ kind: FaultAction.Kind) -> UnsafePointer<CChar>? {
        if let p = kindNames[kind] { return UnsafePointer(p) }
        let p = mallocString(kind.rawValue)
        kindNames[kind] = p
        return UnsafePointer(p)
    }

    deinit {
        for v in violations {
            free(v.property)
            free(v.message)
        }
        for p in kindNames.values { free(p) }
    }
}

func faultRunBox(_ p: OpaquePointer?) -> SimFaultRunBox? { box(p, SimFaultRunBox.self) }

@_cdecl("re_sim_fault_run_seed")
public func re_sim_fault_run_seed(_ seed: UInt64, _ options: UnsafePointer<re_sim_fault_options>?,
                                  _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return fail(.einval, "out is NULL") }
    let made = readCFaultOptions(options).flatMap(faultRunnerOptions)
    guard case .success(let (o, slot)) = made else {
        if case .failure(let f) = made { return fail(f.status, f.message) }
        return fail(.einval, "bad options")
    }
    let b = SimFaultRunBox(seed: seed, options: o, slot: slot)
    out.pointee = OpaquePointer(Unmanaged.passRetained(b).toOpaque())
    return 0
}

@_cdecl("re_sim_fault_run_free")
public func re_sim_fault_run_free(_ run: OpaquePointer?) {
    guard let run else { return }
    Unmanaged<SimFaultRunBox>.fromOpaque(UnsafeRawPointer(run)).release()
}

@_cdecl("re_sim_fault_run_turns")
public func re_sim_fault_run_turns(_ run: OpaquePointer?) -> Int { faultRunBox(run)?.run.turns ?? 0 }

@_cdecl("re_sim_fault_run_committed")
public func re_sim_fault_run_committed(_ run: OpaquePointer?) -> UInt64 { faultRunBox(run)?.report.committed ?? 0 }

@_cdecl("re_sim_fault_run_violation_count")
public func re_sim_fault_run_violation_count(_ run: OpaquePointer?) -> Int { faultRunBox(run)?.violations.count ?? 0 }

@_cdecl("re_sim_fault_run_violation")
public func re_sim_fault_run_violation(_ run: OpaquePointer?, _ i: Int, _ property: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                       _ message: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                       _ step: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let b = faultRunBox(run) else { return fail(.einval, "run is NULL") }
    guard i < b.violations.count else { return fail(.enotfound, "the run has \(b.violations.count) violations, no violation \(i)") }
    let v = b.violations[i]
    property?.pointee = UnsafePointer(v.property)
    message?.pointee = UnsafePointer(v.message)
    step?.pointee = UInt64(v.step)
    return 0
}

@_cdecl("re_sim_fault_run_action_count")
public func re_sim_fault_run_action_count(_ run: OpaquePointer?) -> Int { faultRunBox(run)?.run.actionLog.count ?? 0 }

@_cdecl("re_sim_fault_run_action")
public func re_sim_fault_run_action(_ run: OpaquePointer?, _ i: Int, _ turn: UnsafeMutablePointer<Int>?,
                                    _ step: UnsafeMutablePointer<UInt64>?, _ kind: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                    _ node: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let b = faultRunBox(run) else { return fail(.einval, "run is NULL") }
    let log = b.run.actionLog
    guard i < log.count else { return fail(.enotfound, "the run took \(log.count) actions, no action \(i)") }
    let a = log[i]
    turn?.pointee = a.turn
    step?.pointee = UInt64(a.step)
    kind?.pointee = b.kindName(a.kind)
    node?.pointee = b.sim.number(a.node)
    return 0
}

@_cdecl("re_sim_fault_run_sim")
public func re_sim_fault_run_sim(_ run: OpaquePointer?) -> OpaquePointer? {
    guard let b = faultRunBox(run) else { return nil }
    return OpaquePointer(Unmanaged.passUnretained(b.sim).toOpaque())
}

@_cdecl("re_sim_fault_sweep_with")
public func re_sim_fault_sweep_with(_ firstSeed: UInt64, _ count: UInt64, _ nodeCounts: UnsafePointer<Int32>?, _ nCounts: Int,
                                    _ options: UnsafePointer<re_sim_fault_options>?, _ stopAtFailure: Int32,
                                    _ seedsRun: UnsafeMutablePointer<UInt64>?, _ firstFailing: UnsafeMutablePointer<UInt64>?,
                                    _ violation: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard firstSeed >= 1 else { return fail(.einval, "first_seed must be at least 1 (0 means no failing seed)") }
    guard count >= 1, firstSeed <= UInt64.max - (count - 1) else { return fail(.einval, "count \(count) is 0 or runs past the last seed") }
    let made = readCFaultOptions(options).flatMap(faultRunnerOptions)
    guard case .success(let (o, slot)) = made else {
        if case .failure(let f) = made { return fail(f.status, f.message) }
        return fail(.einval, "bad options")
    }
    var sizes = [o.nodeCount]
    if let nodeCounts, nCounts > 0 {
        sizes = (0..<nCounts).map { Int(nodeCounts[$0]) }
        guard sizes.allSatisfy({ (1...15).contains($0) }) else { return fail(.einval, "node counts must lie in 1 to 15") }
    }
    // FaultRunner.sweep's loop, each seed with its box in the slot for the C invariants.
    var run: UInt64 = 0
    var failed: FaultRunner.Report?
    for seed in firstSeed...(firstSeed + count - 1) {
        var seedOptions = o
        seedOptions.nodeCount = FaultRunner.nodeCount(for: seed, among: sizes)
        let report = SimFaultRunBox(seed: seed, options: seedOptions, slot: slot).report
        run += 1
        if !report.ok {
            if failed == nil { failed = report }
            if stopAtFailure != 0 { break }
        }
    }
    seedsRun?.pointee = run
    firstFailing?.pointee = failed?.seed ?? 0
    if let violation {
        violation.pointee = failed.flatMap { f in
            mallocString("seed \(f.seed) (\(f.nodeCount) nodes): " + f.violations.joined(separator: "\n"))
        }
    }
    return 0
}
