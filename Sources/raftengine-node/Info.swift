#if canImport(Glibc)
import Glibc
#endif
import RaftCore
import RaftKV

/// INFO [section ...]: Redis's sections (server, clients, replication, keyspace, stats) and
/// the node's own (raft, transport). Sections are in an order that keeps the Raft `role`
/// (leader / follower) after Redis's replication `role` (master / slave) for tools that read
/// the text into one dictionary.
extension KVServer {
    func info(_ asked: [String]) -> String {
        let all = ["server", "clients", "replication", "raft", "keyspace", "stats", "transport"]
        let wanted: [String]
        if asked.isEmpty || asked.contains(where: { ["all", "everything", "default"].contains($0) }) {
            wanted = all
        } else {
            wanted = all.filter { asked.contains($0) }
        }
        var out = ""
        for section in wanted {
            if !out.isEmpty { out += "\r\n" }
            out += "# \(section.prefix(1).uppercased() + section.dropFirst())\r\n"
            for (k, v) in fields(section) { out += "\(k):\(v)\r\n" }
        }
        return out
    }

    private func fields(_ section: String) -> [(String, String)] {
        let status = node.status()
        switch section {
        case "server":
            let port = clientAddress.split(separator: ":").last.map(String.init) ?? ""
            return [("redis_version", Self.redisVersion), ("raftengine_version", version), ("redis_mode", "cluster"),
                    ("os", "Linux"), ("process_id", String(getpid())), ("tcp_port", port),
                    ("uptime_in_seconds", String((monotonicMs() - startedAt) / 1000))]
        case "clients":
            return [("connected_clients", String(sessions.count))]
        case "replication":
            guard let status, !status.stopped else { return [("role", "slave"), ("master_link_status", "down")] }
            if status.role == .leader {
                let (now, followers) = node.followerProgress()
                var out: [(String, String)] = [("role", "master"), ("connected_slaves", String(followers.count))]
                for (i, f) in followers.enumerated() {
                    let addr = status.config.member(f.id).flatMap { Self.clientPart(of: $0.address) }.flatMap(HostPortText.init)
                    let lag = f.lastContact.map { String((now &- $0) / 1_000_000_000) } ?? "-1"
                    let behind = status.lastIndex - min(status.lastIndex, f.match)
                    out.append(("slave\(i)", "ip=\(addr?.host ?? ""),port=\(addr?.port ?? 0),state=online,offset=\(f.match),lag=\(lag),raft_id=\(f.id),entries_behind=\(behind)"))
                }
                out.append(("master_repl_offset", String(status.lastIndex)))
                return out
            }
            let leader = status.leaderID.flatMap { status.config.member($0) }.flatMap { Self.clientPart(of: $0.address) }
                .flatMap(HostPortText.init)
            return [("role", "slave"), ("master_host", leader?.host ?? ""), ("master_port", String(leader?.port ?? 0)),
                    ("master_link_status", leader == nil ? "down" : "up"), ("slave_repl_offset", String(status.appliedIndex))]
        case "raft":
            return statusFields()
        case "keyspace":
            return machine.dbSize == 0 ? [] : [("db0", "keys=\(machine.dbSize),expires=\(machine.expiringCount),avg_ttl=0")]
        case "stats":
            return [("total_connections_received", String(connectionsReceived)),
                    ("total_commands_processed", String(commandsProcessed))]
        case "transport":
            let t = node.transportStats
            return [("frames_received", String(t.framesReceived)), ("frames_sent", String(t.framesSent)),
                    ("malformed_frames", String(t.malformed)), ("unknown_sender", String(t.unknownSender)),
                    ("wrong_cluster", String(t.wrongCluster)), ("auth_failed", String(t.authFailed)),
                    ("spoofed_sender", String(t.spoofedSender)), ("peer_auth", node.config.secrets == nil ? "off" : "on")]
        default:
            return []
        }
    }
}
