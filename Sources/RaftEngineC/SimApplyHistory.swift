#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftSim

// The C simulator's apply history: what each node's machines took in, over its lifetimes.

@_cdecl("re_sim_apply_history")
public func re_sim_apply_history(_ sim: OpaquePointer?, _ node: Int32,
                                 _ records: UnsafeMutablePointer<UnsafeMutablePointer<re_sim_apply_record>?>?,
                                 _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    withSimNode(sim, node) { b, id in
        guard let records, let count else { return fail(.einval, "records or count is NULL") }
        let history = b.cluster.node(id).history.records
        records.pointee = nil
        count.pointee = 0
        guard !history.isEmpty else { return 0 }
        // One block: the records, then every command's bytes, so one free() releases it all.
        let head = history.count * MemoryLayout<re_sim_apply_record>.stride
        let bytes = history.reduce(0) { $0 + ($1.command?.count ?? 0) }
        guard let block = malloc(head + bytes) else { return fail(.enomem, "cannot allocate \(head + bytes) bytes") }
        let out = block.bindMemory(to: re_sim_apply_record.self, capacity: history.count)
        var data = (block + head).assumingMemoryBound(to: UInt8.self)
        for (i, r) in history.enumerated() {
            var c = re_sim_apply_record()
            c.lifetime = Int32(r.lifetime)
            c.index = r.index
            if let command = r.command {
                c.kind = Int32(RE_SIM_APPLY_COMMAND.rawValue)
                command.withUnsafeBufferPointer { if let p = $0.baseAddress { data.initialize(from: p, count: $0.count) } }
                c.command = UnsafePointer(data)
                c.command_len = command.count
                data += command.count
            } else {
                c.kind = Int32(RE_SIM_APPLY_SNAPSHOT.rawValue)
            }
            (out + i).initialize(to: c)
        }
        records.pointee = out
        count.pointee = history.count
        return 0
    }
}

@_cdecl("re_sim_reapplied_indexes")
public func re_sim_reapplied_indexes(_ sim: OpaquePointer?, _ node: Int32, _ machineSurvivesRestart: Int32,
                                     _ indexes: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>?>?,
                                     _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    withSimNode(sim, node) { b, id in
        guard let indexes, let count else { return fail(.einval, "indexes or count is NULL") }
        let twice = b.cluster.node(id).history.reappliedIndexes(machineSurvivesRestart: machineSurvivesRestart != 0)
        indexes.pointee = nil
        count.pointee = 0
        guard !twice.isEmpty else { return 0 }
        guard let p = malloc(twice.count * MemoryLayout<UInt64>.stride)?.bindMemory(to: UInt64.self, capacity: twice.count) else {
            return fail(.enomem, "cannot allocate \(twice.count) indexes")
        }
        twice.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: $0.count) }
        indexes.pointee = p
        count.pointee = twice.count
        return 0
    }
}

@_cdecl("re_sim_lifetime")
public func re_sim_lifetime(_ sim: OpaquePointer?, _ node: Int32) -> Int32 {
    Int32(simNode(sim, node)?.lifetime ?? 0)
}
