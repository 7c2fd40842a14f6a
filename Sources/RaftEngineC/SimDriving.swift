import CRaftEngineABI
import RaftCore
import RaftSim

// The C simulator's messages, faults, time and elections: each a thin call into SimCluster.

@_cdecl("re_sim_transmit")
public func re_sim_transmit(_ sim: OpaquePointer?, _ node: Int32) -> Int32 {
    if node == 0 {
        guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
        for id in b.cluster.ids { b.cluster.transmit(id) }
        return 0
    }
    return withSimNode(sim, node) { b, id in
        b.cluster.transmit(id)
        return 0
    }
}

@_cdecl("re_sim_deliver")
public func re_sim_deliver(_ sim: OpaquePointer?, _ node: Int32, _ position: Int) -> Int32 {
    withSimNode(sim, node) { b, id in b.cluster.handle(id, at: position) ? 1 : 0 }
}

@_cdecl("re_sim_deliver_all")
public func re_sim_deliver_all(_ sim: OpaquePointer?, _ maxSteps: Int, _ steps: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    let n = b.cluster.deliverAll(maxSteps: maxSteps)
    steps?.pointee = n
    let quiet = b.cluster.ids.allSatisfy { id in
        let node = b.cluster.node(id)
        return node.outbox.isEmpty && (node.inbox.isEmpty || !node.isUp)
    }
    return quiet ? 1 : 0
}

@_cdecl("re_sim_deliver_until")
public func re_sim_deliver_until(_ sim: OpaquePointer?, _ until: (@convention(c) (UnsafeMutableRawPointer?) -> Int32)?,
                                 _ user: UnsafeMutableRawPointer?, _ maxSteps: Int) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    guard let until else { return fail(.einval, "until is NULL") }
    return b.cluster.deliverUntil(maxSteps: maxSteps) { until(user) != 0 } ? 1 : 0
}

@_cdecl("re_sim_inbox_count")
public func re_sim_inbox_count(_ sim: OpaquePointer?, _ node: Int32) -> Int {
    guard let b = simBox(sim), let id = b.id(node) else { return 0 }
    return b.cluster.node(id).inbox.count
}

@_cdecl("re_sim_drop")
public func re_sim_drop(_ sim: OpaquePointer?, _ node: Int32, _ position: Int) -> Int32 {
    withSimNode(sim, node) { b, id in
        guard position < b.cluster.node(id).inbox.count else { return fail(.enotfound, "node \(node)'s inbox has no message \(position)") }
        b.cluster.dropInbox(id, at: position)
        return 0
    }
}

@_cdecl("re_sim_duplicate")
public func re_sim_duplicate(_ sim: OpaquePointer?, _ node: Int32, _ position: Int) -> Int32 {
    withSimNode(sim, node) { b, id in
        guard position < b.cluster.node(id).inbox.count else { return fail(.enotfound, "node \(node)'s inbox has no message \(position)") }
        b.cluster.duplicateInbox(id, at: position)
        return 0
    }
}

/// Checks a from/to pair of node numbers where 0 means any node.
func linkRule(_ b: SimBox, _ from: Int32, _ to: Int32) -> SimLinkRule? {
    let n = Int32(b.cluster.ids.count)
    guard (0...n).contains(from), (0...n).contains(to) else { return nil }
    return SimLinkRule(from: from, to: to)
}

@_cdecl("re_sim_hold")
public func re_sim_hold(_ sim: OpaquePointer?, _ from: Int32, _ to: Int32, _ hold: Int32) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    guard let rule = linkRule(b, from, to) else { return fail(.einval, "link \(from) -> \(to) names no node") }
    if hold != 0 { b.holds.insert(rule) } else { b.holds.remove(rule) }
    return 0
}

@_cdecl("re_sim_held_count")
public func re_sim_held_count(_ sim: OpaquePointer?) -> Int { simBox(sim)?.cluster.held.count ?? 0 }

@_cdecl("re_sim_release_held")
public func re_sim_release_held(_ sim: OpaquePointer?, _ from: Int32, _ to: Int32, _ limit: Int,
                                _ released: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    guard let rule = linkRule(b, from, to) else { return fail(.einval, "link \(from) -> \(to) names no node") }
    let n = b.cluster.releaseHeld(where: { rule.matches($0, in: b.cluster) }, limit: limit)
    released?.pointee = n
    return 0
}

@_cdecl("re_sim_drop_held")
public func re_sim_drop_held(_ sim: OpaquePointer?, _ from: Int32, _ to: Int32) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    guard let rule = linkRule(b, from, to) else { return fail(.einval, "link \(from) -> \(to) names no node") }
    b.cluster.dropHeld { rule.matches($0, in: b.cluster) }
    return 0
}

// MARK: Faults

@_cdecl("re_sim_partition")
public func re_sim_partition(_ sim: OpaquePointer?, _ groups: UnsafePointer<Int32>?, _ count: Int) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    guard let groups, count == b.cluster.ids.count else {
        return fail(.einval, "groups must name the group of each of the \(b.cluster.ids.count) nodes")
    }
    var byGroup: [Int32: [NodeID]] = [:]
    var order: [Int32] = []
    for i in 0..<count {
        if byGroup[groups[i]] == nil { order.append(groups[i]) }
        byGroup[groups[i], default: []].append(b.cluster.ids[i])
    }
    b.cluster.partition(order.map { byGroup[$0]! })
    return 0
}

@_cdecl("re_sim_heal")
public func re_sim_heal(_ sim: OpaquePointer?) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    b.cluster.heal()
    return 0
}

/// Runs `body` on two distinct nodes' ids.
func withSimLink(_ sim: OpaquePointer?, _ from: Int32, _ to: Int32, _ body: (SimBox, NodeID, NodeID) -> Void) -> Int32 {
    withSimNode(sim, from) { b, a in
        guard let c = b.id(to), c != a else { return fail(.einval, "to \(to) is no other node") }
        body(b, a, c)
        return 0
    }
}

@_cdecl("re_sim_cut")
public func re_sim_cut(_ sim: OpaquePointer?, _ from: Int32, _ to: Int32) -> Int32 {
    withSimLink(sim, from, to) { b, x, y in b.cluster.cut(from: x, to: y) }
}

@_cdecl("re_sim_uncut")
public func re_sim_uncut(_ sim: OpaquePointer?, _ from: Int32, _ to: Int32) -> Int32 {
    withSimLink(sim, from, to) { b, x, y in b.cluster.uncut(from: x, to: y) }
}

@_cdecl("re_sim_crash")
public func re_sim_crash(_ sim: OpaquePointer?, _ node: Int32) -> Int32 {
    withSimNode(sim, node) { b, id in
        b.cluster.crash(id)
        return 0
    }
}

@_cdecl("re_sim_restart")
public func re_sim_restart(_ sim: OpaquePointer?, _ node: Int32) -> Int32 {
    withSimNode(sim, node) { b, id in
        b.cluster.restart(id)
        return b.cluster.node(id).isUp ? 0 : fail(.eio, "node \(node) did not start again")
    }
}

// MARK: Time and elections

let nanosPerMs: UInt64 = 1_000_000

@_cdecl("re_sim_advance")
public func re_sim_advance(_ sim: OpaquePointer?, _ ms: UInt64) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    b.cluster.advance(by: ms * nanosPerMs)
    return 0
}

@_cdecl("re_sim_advance_node")
public func re_sim_advance_node(_ sim: OpaquePointer?, _ node: Int32, _ ms: UInt64) -> Int32 {
    withSimNode(sim, node) { b, id in
        b.cluster.advanceClock(of: id, by: ms * nanosPerMs)
        return 0
    }
}

@_cdecl("re_sim_enable_timers")
public func re_sim_enable_timers(_ sim: OpaquePointer?, _ enabled: Int32) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    b.cluster.enableTimers(enabled != 0)
    return 0
}

@_cdecl("re_sim_run")
public func re_sim_run(_ sim: OpaquePointer?, _ ms: UInt64) -> Int32 {
    guard let b = simBox(sim) else { return fail(.einval, "sim is NULL") }
    b.cluster.run(for: ms * nanosPerMs)
    return 0
}

@_cdecl("re_sim_campaign")
public func re_sim_campaign(_ sim: OpaquePointer?, _ node: Int32) -> Int32 {
    withLiveSimNode(sim, node) { b, id in
        b.cluster.campaign(id)
        return 0
    }
}

@_cdecl("re_sim_elect")
public func re_sim_elect(_ sim: OpaquePointer?, _ node: Int32) -> Int32 {
    withLiveSimNode(sim, node) { b, id in
        b.cluster.elect(id)
        return 0
    }
}

@_cdecl("re_sim_heartbeat")
public func re_sim_heartbeat(_ sim: OpaquePointer?, _ node: Int32) -> Int32 {
    withLiveSimNode(sim, node) { b, id in
        b.cluster.heartbeat(id)
        return 0
    }
}
