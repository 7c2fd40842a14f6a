import RaftCore
import RaftKV
import RaftUV

/// Executes Redis commands against the replicated store: writes go through the Raft log,
/// reads are served after a ReadIndex leadership check, so no read is ever stale.
/// Runs on the host's loop thread (where the state machine also applies).
final class KVServer {
    let node: HostedNode
    let machine: KVStateMachine
    let maxRequestBytes: Int
    let clientAddress: String

    init(node: HostedNode, machine: KVStateMachine, maxRequestBytes: Int, clientAddress: String) {
        self.node = node
        self.machine = machine
        self.maxRequestBytes = maxRequestBytes
        self.clientAddress = clientAddress
    }

    typealias Reply = ([UInt8]) -> Void

    func execute(_ args: [[UInt8]], reply: @escaping Reply) {
        let name = String(decoding: args[0], as: UTF8.self).uppercased()
        let a = Array(args.dropFirst())
        func arity(_ ok: Bool) -> Bool {
            if !ok { reply(RESPValue.error("ERR wrong number of arguments for '\(name.lowercased())' command").encoded) }
            return ok
        }
        switch name {
        case "PING":
            guard arity(a.count <= 1) else { return }
            reply(a.isEmpty ? RESPValue.simple("PONG").encoded : RESPValue.bulk(a[0]).encoded)
        case "ECHO":
            guard arity(a.count == 1) else { return }
            reply(RESPValue.bulk(a[0]).encoded)
        case "SET":
            guard arity(a.count >= 2) else { return }
            guard a.count == 2 else { return reply(RESPValue.error("ERR syntax error (SET options are not supported)").encoded) }
            write(.set(key: a[0], value: a[1]), reply)
        case "DEL":
            guard arity(a.count >= 1) else { return }
            write(.delete(keys: a), reply)
        case "INCR", "DECR":
            guard arity(a.count == 1) else { return }
            write(.incrementBy(key: a[0], delta: name == "INCR" ? 1 : -1), reply)
        case "INCRBY", "DECRBY":
            guard arity(a.count == 2) else { return }
            guard let n = Int64(String(decoding: a[1], as: UTF8.self)) else {
                return reply(RESPValue.error("ERR value is not an integer or out of range").encoded)
            }
            write(.incrementBy(key: a[0], delta: name == "INCRBY" ? n : -n), reply)
        case "GET":
            guard arity(a.count == 1) else { return }
            read(reply) { m in RESPValue.bulk(m.get(a[0])) }
        case "EXISTS":
            guard arity(a.count >= 1) else { return }
            read(reply) { m in RESPValue.integer(Int64(a.filter { m.get($0) != nil }.count)) }
        case "MGET":
            guard arity(a.count >= 1) else { return }
            read(reply) { m in RESPValue.array(a.map { RESPValue.bulk(m.get($0)) }) }
        case "DBSIZE":
            guard arity(a.isEmpty) else { return }
            read(reply) { m in RESPValue.integer(Int64(m.count)) }
        case "INFO":
            reply(RESPValue.bulk(info()).encoded)
        case "RAFT.STATUS":
            reply(RESPValue.array(statusFields().flatMap { [RESPValue.bulk($0.0), RESPValue.bulk($0.1)] }).encoded)
        case "RAFT.ADD":
            guard arity(a.count == 3) else { return }
            let id = String(decoding: a[0], as: UTF8.self)
            let address = String(decoding: a[1], as: UTF8.self) + "," + String(decoding: a[2], as: UTF8.self)
            node.addServer(id: id, address: address, asVoter: true) { reply(self.encode($0)) }
        case "RAFT.REMOVE":
            guard arity(a.count == 1) else { return }
            node.removeServer(id: String(decoding: a[0], as: UTF8.self)) { reply(self.encode($0)) }
        case "RAFT.TRANSFER":
            guard arity(a.count == 1) else { return }
            node.transferLeadership(to: String(decoding: a[0], as: UTF8.self)) { reply(self.encode($0)) }
        case "RAFT.SNAPSHOT":
            guard arity(a.isEmpty) else { return }
            node.takeSnapshot { reply(self.encode($0)) }
        case "COMMAND", "CONFIG":
            // redis-cli and redis-benchmark ask these at start; an empty answer is enough.
            reply(RESPValue.array([]).encoded)
        case "SELECT":
            reply(a.first == Array("0".utf8) ? RESPValue.ok.encoded : RESPValue.error("ERR DB index is out of range").encoded)
        case "CLIENT":
            reply(RESPValue.ok.encoded)
        default:
            let shown = String(decoding: args[0].prefix(64), as: UTF8.self)
            reply(RESPValue.error("ERR unknown command '\(shown)'").encoded)
        }
    }

    private func write(_ cmd: KVCommand, _ reply: @escaping Reply) {
        node.submit(cmd.encoded) { reply(self.encode($0)) }
    }

    /// Serves a read once this node is confirmed leader and has applied up to the read index.
    private func read(_ reply: @escaping Reply, _ body: @escaping (KVStateMachine) -> RESPValue) {
        node.linearizableRead { outcome in
            if case .applied = outcome {
                reply(body(self.machine).encoded)
            } else {
                reply(self.encode(outcome))
            }
        }
    }

    func encode(_ outcome: CommandOutcome) -> [UInt8] {
        switch outcome {
        case .applied(let bytes):
            return bytes.isEmpty ? RESPValue.ok.encoded : bytes
        case .redirect(_, let address):
            if let client = Self.clientPart(of: address) { return RESPValue.error("MOVED 0 \(client)").encoded }
            return RESPValue.error("TRYAGAIN no leader").encoded
        case .retry:
            return RESPValue.error("TRYAGAIN no leader").encoded
        case .timeout:
            return RESPValue.error("TIMEOUT command timed out; it may still commit").encoded
        case .applyError(let why):
            return RESPValue.error("ERR apply failed: \(why)").encoded
        case .stopped:
            return RESPValue.error("ERR node is stopped").encoded
        case .rejected(let why):
            return RESPValue.error("ERR \(why)").encoded
        }
    }

    /// Member addresses are "raftHost:port,clientHost:port".
    static func clientPart(of address: String) -> String? {
        let parts = address.split(separator: ",", maxSplits: 1)
        return parts.count == 2 ? String(parts[1]) : nil
    }

    func statusFields() -> [(String, String)] {
        guard let s = node.status() else { return [("role", "stopped")] }
        let leaderAddr = s.leaderID.flatMap { s.config.member($0)?.address }.flatMap { Self.clientPart(of: $0) } ?? ""
        let members = s.config.members.map { m in
            "\(m.id)=\(m.address)\(m.isVoter ? "" : "(learner)")"
        }.joined(separator: " ")
        return [("id", s.id), ("role", s.role.description.lowercased()), ("term", String(s.term)),
                ("leader", s.leaderID ?? ""), ("leader_client_address", leaderAddr),
                ("commit_index", String(s.commitIndex)), ("applied_index", String(s.appliedIndex)),
                ("last_index", String(s.lastIndex)), ("first_index", String(s.firstIndex)),
                ("members", members)]
    }

    private func info() -> String {
        var out = "# Server\r\nraftengine_version:0.1.0\r\nclient_address:\(clientAddress)\r\n\r\n# Raft\r\n"
        for (k, v) in statusFields() { out += "\(k):\(v)\r\n" }
        let t = node.transportStats
        out += "\r\n# Transport\r\nframes_received:\(t.framesReceived)\r\nframes_sent:\(t.framesSent)\r\n"
        out += "malformed_frames:\(t.malformed)\r\nunknown_sender:\(t.unknownSender)\r\nwrong_cluster:\(t.wrongCluster)\r\n"
        out += "auth_failed:\(t.authFailed)\r\nspoofed_sender:\(t.spoofedSender)\r\npeer_auth:\(node.config.secrets == nil ? "off" : "on")\r\n"
        return out
    }
}
