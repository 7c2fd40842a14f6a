import RaftUV

/// Who this node is: given by flags on first start and stored in the data dir, so a restart
/// needs only `--data-dir`.
struct NodeIdentity {
    var id: String
    var dataDir: String
    var raftAddr: String
    var clientAddr: String

    static let fileName = "node.conf"

    static func resolve(id: String?, dataDir: String?, raftAddr: String?, clientAddr: String?) throws -> NodeIdentity {
        guard let dir = dataDir ?? id.map({ "./data/\($0)" }) else {
            throw NodeFlags.UsageError(description: "give --id (and addresses) for a new node, or --data-dir of an existing one")
        }
        let path = dir + "/" + fileName
        if let text = try NodeFiles.readText(path) {
            var stored: [String: String] = [:]
            for line in text.split(separator: "\n") {
                let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2 { stored[kv[0]] = kv[1] }
            }
            guard let sid = stored["id"], let sraft = stored["raft-addr"], let sclient = stored["client-addr"] else {
                throw NodeFlags.UsageError(description: "\(path) is incomplete")
            }
            if let id, id != sid { throw NodeFlags.UsageError(description: "--id \(id) does not match the data dir's node \(sid)") }
            return NodeIdentity(id: sid, dataDir: dir, raftAddr: raftAddr ?? sraft, clientAddr: clientAddr ?? sclient)
        }
        guard let id, !id.isEmpty else { throw NodeFlags.UsageError(description: "--id is required for a new data dir") }
        guard let raftAddr else { throw NodeFlags.UsageError(description: "--raft-addr is required for a new node") }
        guard let clientAddr else { throw NodeFlags.UsageError(description: "--client-addr is required for a new node") }
        for (flag, a) in [("--raft-addr", raftAddr), ("--client-addr", clientAddr)] {
            do { _ = try HostPort.parse(a) } catch { throw NodeFlags.UsageError(description: "\(flag): \(error)") }
        }
        do {
            try NodeFiles.makeDirectories(dir)
            try NodeFiles.writeAtomically("id=\(id)\nraft-addr=\(raftAddr)\nclient-addr=\(clientAddr)\n", to: path)
        } catch {
            throw NodeFlags.UsageError(description: "--data-dir: \(error)")
        }
        return NodeIdentity(id: id, dataDir: dir, raftAddr: raftAddr, clientAddr: clientAddr)
    }
}
