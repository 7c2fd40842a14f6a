import RaftCore
import RaftKV

/// Redis Cluster's view of the Raft cluster, so cluster-mode clients (redis-py's RedisCluster,
/// `redis-cli -c`) find the leader: one shard owning every slot (0-16383), the leader as its
/// primary and every other member as a replica. A write or read sent to a follower answers
/// `MOVED <the key's slot> <leader>`.
extension KVServer {
    struct ClusterMember {
        let raftID: NodeID
        let nodeID: String
        let host: String
        let port: Int
        let isLeader: Bool
        let isSelf: Bool
        let voter: Bool
    }

    /// Redis node ids are 40 hex digits: derived from the Raft id, stable across restarts.
    static func clusterNodeID(_ id: NodeID) -> String {
        var out = ""
        for seed: UInt64 in [0xcbf2_9ce4_8422_2325, 0x8422_2325_cbf2_9ce4, 0x9ce4_cbf2_2325_8422] {
            var h = seed
            for b in id.utf8 {
                h ^= UInt64(b)
                h = h &* 0x100_0000_01b3
            }
            let hex = String(h, radix: 16)
            out += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return String(out.prefix(40))
    }

    func clusterMembers() -> [ClusterMember] {
        guard let s = node.status(), !s.stopped else { return [] }
        return s.config.members.compactMap { m in
            guard let client = Self.clientPart(of: m.address), let hp = HostPortText(client) else { return nil }
            return ClusterMember(raftID: m.id, nodeID: Self.clusterNodeID(m.id), host: hp.host, port: hp.port,
                                 isLeader: m.id == s.leaderID, isSelf: m.id == s.id, voter: m.isVoter)
        }
    }

    func clusterCommand(_ name: String, _ args: [[UInt8]], _ s: ClientSession, _ reply: @escaping Respond) -> Bool {
        guard name == "CLUSTER" else { return false }
        let a = Array(args.dropFirst())
        guard let sub = a.first.map({ String(decoding: $0, as: UTF8.self).uppercased() }) else {
            reply(Self.arityError("cluster"))
            return true
        }
        clusterSubcommand(sub, a, s, reply)
        return true
    }

    private func clusterSubcommand(_ sub: String, _ a: [[UInt8]], _ s: ClientSession, _ reply: @escaping Respond) {
        let members = clusterMembers()
        let leader = members.first { $0.isLeader }
        let replicas = members.filter { !$0.isLeader }
        let term = node.status()?.term ?? 0
        switch sub {
        case "MYID":
            reply(RESPValue.bulk(Self.clusterNodeID(node.id)).encoded)
        case "SLOTS":
            guard let leader else { reply(RESPValue.array([]).encoded); return }
            func n(_ m: ClusterMember) -> RESPValue { .array([.bulk(m.host), .integer(Int64(m.port)), .bulk(m.nodeID)]) }
            reply(RESPValue.array([.array([.integer(0), .integer(16383), n(leader)] + replicas.map(n))]).encoded)
        case "SHARDS":
            guard let leader else { reply(RESPValue.array([]).encoded); return }
            let applied = node.status()?.appliedIndex ?? 0
            func n(_ m: ClusterMember) -> Reply {
                .map([("id", .bulk(m.nodeID)), ("port", .int(m.port)), ("ip", .bulk(m.host)), ("endpoint", .bulk(m.host)),
                      ("role", .bulk(m.isLeader ? "master" : "replica")),
                      ("replication-offset", .value(.integer(Int64(applied)))), ("health", .bulk("online"))])
            }
            // One shard: a map of its slots and its nodes, each node itself a map.
            var out = Array("*1\r\n".utf8)
            let head = s.proto == 3 ? "%2\r\n" : "*4\r\n"
            out += Array(head.utf8)
            RESPValue.bulk("slots").encode(into: &out)
            RESPValue.array([.integer(0), .integer(16383)]).encode(into: &out)
            RESPValue.bulk("nodes").encode(into: &out)
            let all = [leader] + replicas
            out += Array("*\(all.count)\r\n".utf8)
            for m in all { n(m).encode(into: &out, s.proto) }
            reply(out)
        case "NODES":
            var lines = ""
            for m in members {
                let flags = (m.isSelf ? "myself," : "") + (m.isLeader ? "master" : "slave")
                let master = m.isLeader ? "-" : (leader?.nodeID ?? "-")
                let slots = m.isLeader ? " 0-16383" : ""
                lines += "\(m.nodeID) \(m.host):\(m.port)@\(m.port + 10000) \(flags) \(master) 0 0 \(term) connected\(slots)\n"
            }
            reply(RESPValue.bulk(lines).encoded)
        case "INFO":
            let ok = leader != nil
            let text = "cluster_enabled:1\r\ncluster_state:\(ok ? "ok" : "fail")\r\ncluster_slots_assigned:16384\r\n" +
                "cluster_slots_ok:\(ok ? 16384 : 0)\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:\(ok ? 0 : 16384)\r\n" +
                "cluster_known_nodes:\(members.count)\r\ncluster_size:1\r\ncluster_current_epoch:\(term)\r\n" +
                "cluster_my_epoch:\(term)\r\n"
            reply(RESPValue.bulk(text).encoded)
        case "KEYSLOT":
            guard a.count == 2 else { reply(Self.arityError("cluster|keyslot")); return }
            reply(RESPValue.integer(Int64(machine.keySlot(a[1]))).encoded)
        case "COUNTKEYSINSLOT":
            guard a.count == 2 else { reply(Self.arityError("cluster|countkeysinslot")); return }
            guard let slot = Int(String(decoding: a[1], as: UTF8.self)), (0..<16384).contains(slot) else {
                reply(RESPValue.error("ERR Invalid slot").encoded); return
            }
            reply(RESPValue.integer(Int64(machine.keyCount(inSlot: slot))).encoded)
        default:
            reply(RESPValue.error("ERR unknown subcommand '\(sub.lowercased())'. Try CLUSTER HELP.").encoded)
        }
    }
}

/// "host:port" split for replies (the address was checked when the member joined).
struct HostPortText {
    let host: String
    let port: Int
    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let p = Int(text[text.index(after: colon)...]) else { return nil }
        var h = String(text[..<colon])
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        host = h
        port = p
    }
}
