import CRaftEngineABI
import RaftCore
import RaftSim

// The C simulator's per-link faults and its selective delivery: thin calls into SimCluster.

/// The longest link delay: a day of virtual time (keeps ms * 1e6 far from overflow).
let simMaxDelayMs: UInt64 = 86_400_000

@_cdecl("re_sim_set_link_fault")
public func re_sim_set_link_fault(_ sim: OpaquePointer?, _ from: Int32, _ to: Int32, _ loss: Double,
                                  _ delayMs: UInt64) -> Int32 {
    guard loss >= 0, loss <= 1 else { return fail(.einval, "loss \(loss) is outside 0 to 1") }
    guard delayMs <= simMaxDelayMs else { return fail(.einval, "delay_ms \(delayMs) is above \(simMaxDelayMs)") }
    return withSimLink(sim, from, to) { b, x, y in
        let fault = loss == 0 && delayMs == 0 ? nil : SimCluster.LinkFault(loss: loss, delay: delayMs * nanosPerMs)
        b.cluster.setLinkFault(from: x, to: y, fault)
    }
}

@_cdecl("re_sim_clear_link_faults")
public func re_sim_clear_link_faults(_ sim: OpaquePointer?) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    b.cluster.clearLinkFaults()
    return 0
}

@_cdecl("re_sim_in_flight_count")
public func re_sim_in_flight_count(_ sim: OpaquePointer?) -> Int { simBox(sim)?.cluster.inFlight.count ?? 0 }

@_cdecl("re_sim_lost_count")
public func re_sim_lost_count(_ sim: OpaquePointer?) -> Int { simBox(sim)?.cluster.lost.count ?? 0 }

@_cdecl("re_sim_deliver_between")
public func re_sim_deliver_between(_ sim: OpaquePointer?, _ a: Int32, _ b: Int32, _ maxSteps: Int,
                                   _ steps: UnsafeMutablePointer<Int>?) -> Int32 {
    withSimLink(sim, a, b) { box, x, y in
        let n = box.cluster.deliverAll(between: x, and: y, maxSteps: maxSteps)
        steps?.pointee = n
    }
}

@_cdecl("re_sim_deliver_count")
public func re_sim_deliver_count(_ sim: OpaquePointer?, _ count: Int, _ handled: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    let n = b.cluster.deliver(count)
    handled?.pointee = n
    return 0
}

@_cdecl("re_sim_release_held_in_order")
public func re_sim_release_held_in_order(_ sim: OpaquePointer?, _ from: Int32, _ to: Int32, _ limit: Int, _ order: Int32,
                                         _ released: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    guard let rule = linkRule(b, from, to) else { return fail(.einval, "link \(from) -> \(to) names no node") }
    let held: SimCluster.HeldOrder
    switch UInt32(bitPattern: order) {
    case RE_SIM_OLDEST_FIRST.rawValue: held = .oldestFirst
    case RE_SIM_NEWEST_FIRST.rawValue: held = .newestFirst
    default: return fail(.einval, "order \(order) is not an re_sim_held_order")
    }
    let n = b.cluster.releaseHeld(where: { rule.matches($0, in: b.cluster) }, limit: limit, order: held)
    released?.pointee = n
    return 0
}
