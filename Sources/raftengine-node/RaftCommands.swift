import RaftCore
import RaftKV

/// The admin commands: RAFT.STATUS, RAFT.ADD, RAFT.REMOVE, RAFT.TRANSFER, RAFT.SNAPSHOT.
extension KVServer {
    func raftCommand(_ name: String, _ args: [[UInt8]], _ s: ClientSession, _ reply: @escaping Respond) -> Bool {
        let a = Array(args.dropFirst())
        func text(_ i: Int) -> String { String(decoding: a[i], as: UTF8.self) }
        switch name {
        case "RAFT.STATUS":
            reply(Reply.map(statusFields().map { ($0.0, Reply.bulk($0.1)) }).encoded(s.proto))
        case "RAFT.ADD":
            guard a.count == 3 else { reply(Self.arityError(name)); return true }
            node.addServer(id: text(0), address: text(1) + "," + text(2), asVoter: true) { reply(self.encode($0)) }
        case "RAFT.REMOVE":
            guard a.count == 1 else { reply(Self.arityError(name)); return true }
            node.removeServer(id: text(0)) { reply(self.encode($0)) }
        case "RAFT.TRANSFER":
            guard a.count == 1 else { reply(Self.arityError(name)); return true }
            node.transferLeadership(to: text(0)) { reply(self.encode($0)) }
        case "RAFT.SNAPSHOT":
            guard a.isEmpty else { reply(Self.arityError(name)); return true }
            node.takeSnapshot { reply(self.encode($0)) }
        default:
            return false
        }
        return true
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
        return [("id", s.id), ("role", s.stopped ? "stopped" : s.role.description.lowercased()), ("term", String(s.term)),
                ("leader", s.leaderID ?? ""), ("leader_client_address", leaderAddr),
                ("commit_index", String(s.commitIndex)), ("applied_index", String(s.appliedIndex)),
                ("last_index", String(s.lastIndex)), ("first_index", String(s.firstIndex)),
                ("members", members)]
    }

    /// The reply for an outcome that is not the state machine's own answer.
    func encode(_ outcome: CommandOutcome, key: [UInt8]? = nil) -> [UInt8] {
        switch outcome {
        case .applied(let bytes):
            return bytes.isEmpty ? RESPValue.ok.encoded : bytes
        case .redirect(_, let address), .rejected(.notLeader(_?, let address)):
            if let client = Self.clientPart(of: address) {
                return RESPValue.error("MOVED \(key.map { machine.keySlot($0) } ?? 0) \(client)").encoded
            }
            return RESPValue.error("TRYAGAIN no leader").encoded
        case .retry, .rejected(.notLeader(nil, _)):
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
}
