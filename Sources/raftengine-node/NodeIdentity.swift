import ArgumentParser
import Foundation
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
            throw ValidationError("give --id (and addresses) for a new node, or --data-dir of an existing one")
        }
        let path = dir + "/" + fileName
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            var stored: [String: String] = [:]
            for line in text.split(separator: "\n") {
                let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2 { stored[kv[0]] = kv[1] }
            }
            guard let sid = stored["id"], let sraft = stored["raft-addr"], let sclient = stored["client-addr"] else {
                throw ValidationError("\(path) is incomplete")
            }
            if let id, id != sid { throw ValidationError("--id \(id) does not match the data dir's node \(sid)") }
            return NodeIdentity(id: sid, dataDir: dir, raftAddr: raftAddr ?? sraft, clientAddr: clientAddr ?? sclient)
        }
        guard let id, !id.isEmpty else { throw ValidationError("--id is required for a new data dir") }
        guard let raftAddr else { throw ValidationError("--raft-addr is required for a new node") }
        guard let clientAddr else { throw ValidationError("--client-addr is required for a new node") }
        for a in [raftAddr, clientAddr] where HostPort(a) == nil {
            throw ValidationError("address \(a) is not HOST:PORT (an IPv4 literal, [IPv6] or localhost, and a port)")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "id=\(id)\nraft-addr=\(raftAddr)\nclient-addr=\(clientAddr)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return NodeIdentity(id: id, dataDir: dir, raftAddr: raftAddr, clientAddr: clientAddr)
    }
}
