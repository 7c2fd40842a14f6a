import RaftCore
import RaftKV

/// The connection and server commands real clients send with their defaults: HELLO, AUTH,
/// CLIENT, COMMAND, QUIT, SELECT, CONFIG, INFO, READONLY/READWRITE, PING, ECHO, TIME.
extension KVServer {
    func serverCommand(_ name: String, _ args: [[UInt8]], _ s: ClientSession, _ reply: @escaping Respond) -> Bool {
        let a = Array(args.dropFirst())
        func text(_ i: Int) -> String { String(decoding: a[i], as: UTF8.self) }
        switch name {
        case "PING":
            guard a.count <= 1 else { reply(Self.arityError(name)); return true }
            reply(a.isEmpty ? RESPValue.simple("PONG").encoded : RESPValue.bulk(a[0]).encoded)
        case "ECHO":
            guard a.count == 1 else { reply(Self.arityError(name)); return true }
            reply(RESPValue.bulk(a[0]).encoded)
        case "TIME":
            let ms = wallClockMs()
            reply(RESPValue.array([.bulk(String(ms / 1000)), .bulk(String((ms % 1000) * 1000))]).encoded)
        case "QUIT":
            s.closeAfterReply = true
            reply(RESPValue.ok.encoded)
        case "SELECT":
            guard a.count == 1 else { reply(Self.arityError(name)); return true }
            reply(a[0] == Array("0".utf8) ? RESPValue.ok.encoded : RESPValue.error("ERR DB index is out of range").encoded)
        case "READONLY", "READWRITE":
            // Reads stay linearizable at the leader either way; followers answer MOVED.
            s.readOnly = name == "READONLY"
            reply(RESPValue.ok.encoded)
        case "AUTH":
            guard a.count == 1 || a.count == 2 else { reply(Self.arityError(name)); return true }
            reply(authenticate(s, user: a.count == 2 ? text(0) : "default", password: text(a.count - 1)))
        case "HELLO":
            hello(a, s, reply)
        case "CLIENT":
            reply(client(a, s))
        case "COMMAND":
            reply(command(a))
        case "CONFIG":
            reply(config(a, s))
        case "INFO":
            let sections = a.map { String(decoding: $0, as: UTF8.self).lowercased() }
            reply(RESPValue.bulk(info(sections)).encoded)
        default:
            return false
        }
        return true
    }

    private func authenticate(_ s: ClientSession, user: String, password given: String) -> [UInt8] {
        guard let password else {
            return RESPValue.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?").encoded
        }
        guard user == "default", given == password else {
            return RESPValue.error("WRONGPASS invalid username-password pair or user is disabled.").encoded
        }
        s.authenticated = true
        return RESPValue.ok.encoded
    }

    /// HELLO [protover [AUTH username password] [SETNAME clientname]]
    private func hello(_ a: [[UInt8]], _ s: ClientSession, _ reply: Respond) {
        var proto = s.proto
        var i = 0
        if !a.isEmpty {
            guard let v = Int(String(decoding: a[0], as: UTF8.self)) else {
                return reply(RESPValue.error("ERR Protocol version is not an integer or out of range").encoded)
            }
            guard v == 2 || v == 3 else { return reply(RESPValue.error("NOPROTO unsupported protocol version").encoded) }
            proto = v
            i = 1
        }
        while i < a.count {
            let opt = String(decoding: a[i], as: UTF8.self).uppercased()
            if opt == "AUTH", i + 2 < a.count {
                let r = authenticate(s, user: String(decoding: a[i + 1], as: UTF8.self), password: String(decoding: a[i + 2], as: UTF8.self))
                if r.first == UInt8(ascii: "-") { return reply(r) }
                i += 3
            } else if opt == "SETNAME", i + 1 < a.count {
                s.name = String(decoding: a[i + 1], as: UTF8.self)
                i += 2
            } else {
                return reply(RESPValue.error("ERR Syntax error in HELLO option '\(opt.lowercased())'").encoded)
            }
        }
        guard s.authenticated else { return reply(RESPValue.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time").encoded) }
        s.proto = proto
        let role = node.status()?.role == .leader ? "master" : "replica"
        let m: Reply = .map([("server", .bulk("redis")), ("version", .bulk(Self.redisVersion)), ("proto", .int(proto)),
                             ("id", .value(.integer(s.id))), ("mode", .bulk("cluster")), ("role", .bulk(role)),
                             ("modules", .value(.array([])))])
        // The session already speaks `proto`: the upgrade in execute must not touch this reply.
        reply(m.encoded(proto))
    }

    /// The Redis version clients are told (the command set and replies follow Redis 7).
    static let redisVersion = "7.0.0"

    private func client(_ a: [[UInt8]], _ s: ClientSession) -> [UInt8] {
        guard let sub = a.first.map({ String(decoding: $0, as: UTF8.self).uppercased() }) else {
            return Self.arityError("client")
        }
        switch sub {
        case "SETNAME":
            guard a.count == 2 else { return Self.arityError("client|setname") }
            let n = String(decoding: a[1], as: UTF8.self)
            guard !n.contains(" "), !n.contains("\n") else {
                return RESPValue.error("ERR Client names cannot contain spaces, newlines or special characters.").encoded
            }
            s.name = n
            return RESPValue.ok.encoded
        case "GETNAME":
            return RESPValue.bulk(s.name.isEmpty ? nil : Array(s.name.utf8)).encoded
        case "ID":
            return RESPValue.integer(s.id).encoded
        case "SETINFO":
            guard a.count == 3 else { return Self.arityError("client|setinfo") }
            let attr = String(decoding: a[1], as: UTF8.self).uppercased()
            let v = String(decoding: a[2], as: UTF8.self)
            switch attr {
            case "LIB-NAME": s.libName = v
            case "LIB-VER": s.libVersion = v
            default: return RESPValue.error("ERR Unrecognized option '\(attr)'").encoded
            }
            return RESPValue.ok.encoded
        case "INFO":
            return RESPValue.bulk(clientLine(s) + "\n").encoded
        case "LIST":
            return RESPValue.bulk(sessions.values.sorted { $0.id < $1.id }.map { clientLine($0) + "\n" }.joined()).encoded
        case "NO-EVICT", "NO-TOUCH", "REPLY":
            return RESPValue.ok.encoded
        default:
            return RESPValue.error("ERR unknown subcommand '\(sub.lowercased())'. Try CLIENT HELP.").encoded
        }
    }

    private func clientLine(_ s: ClientSession) -> String {
        let age = (monotonicMs() - s.connectedAt) / 1000
        return "id=\(s.id) addr=\(s.address) laddr=\(clientAddress) name=\(s.name) age=\(age) db=0 " +
            "multi=\(s.queued.map { String($0.count) } ?? "-1") resp=\(s.proto) lib-name=\(s.libName) lib-ver=\(s.libVersion) cmd=\(s.lastCommand)"
    }

    private func command(_ a: [[UInt8]]) -> [UInt8] {
        func entry(_ c: CommandInfo) -> RESPValue {
            .array([.bulk(c.name), .integer(Int64(c.arity)), .array(c.flags.map { .simple($0) }),
                    .integer(Int64(c.firstKey)), .integer(Int64(c.lastKey)), .integer(Int64(c.step)),
                    .array([]), .array([]), .array([]), .array([])])
        }
        guard let sub = a.first.map({ String(decoding: $0, as: UTF8.self).uppercased() }) else {
            return RESPValue.array(CommandTable.all.map(entry)).encoded
        }
        switch sub {
        case "COUNT":
            return RESPValue.integer(Int64(CommandTable.all.count)).encoded
        case "INFO":
            let names = a.dropFirst().map { String(decoding: $0, as: UTF8.self).lowercased() }
            let list = names.isEmpty ? CommandTable.all.map(entry) : names.map { CommandTable.byName[$0].map(entry) ?? .array(nil) }
            return RESPValue.array(list).encoded
        case "DOCS":
            return RESPValue.array([]).encoded
        case "LIST":
            return RESPValue.array(CommandTable.all.map { .bulk($0.name) }).encoded
        case "GETKEYS":
            guard a.count >= 2, let c = CommandTable.byName[String(decoding: a[1], as: UTF8.self).lowercased()] else {
                return RESPValue.error("ERR Invalid command specified").encoded
            }
            let cmd = Array(a.dropFirst())
            return RESPValue.array(Self.keys(of: cmd, c).map { .bulk($0) }).encoded
        default:
            return RESPValue.error("ERR unknown subcommand '\(sub.lowercased())'. Try COMMAND HELP.").encoded
        }
    }

    /// The key arguments of `args` (args[0] is the command name).
    static func keys(of args: [[UInt8]], _ c: CommandInfo) -> [[UInt8]] {
        guard c.firstKey > 0, c.firstKey < args.count else { return [] }
        let last = c.lastKey < 0 ? args.count + c.lastKey : min(c.lastKey, args.count - 1)
        return stride(from: c.firstKey, through: last, by: max(1, c.step)).map { args[$0] }
    }

    private func config(_ a: [[UInt8]], _ s: ClientSession) -> [UInt8] {
        guard let sub = a.first.map({ String(decoding: $0, as: UTF8.self).uppercased() }) else { return Self.arityError("config") }
        switch sub {
        case "GET":
            guard a.count >= 2 else { return Self.arityError("config|get") }
            let port = clientAddress.split(separator: ":").last.map(String.init) ?? ""
            let values: [(String, String)] = [
                ("appendonly", "yes"), ("appendfsync", "always"), ("save", ""), ("databases", "1"),
                ("port", port), ("bind", String(clientAddress.split(separator: ":").dropLast().joined(separator: ":"))),
                ("cluster-enabled", "yes"), ("maxmemory", "0"), ("maxmemory-policy", "noeviction"),
                ("timeout", "0"), ("maxclients", "10000"), ("proto-max-bulk-len", String(maxRequestBytes)),
                ("dir", node.config.dataDir), ("requirepass", password == nil ? "" : "(set)"),
            ]
            var out: [RESPValue] = []
            for pattern in a.dropFirst().map({ String(decoding: $0, as: UTF8.self).lowercased() }) {
                for (k, v) in values where globMatch(pattern, k) && !out.contains(.bulk(k)) {
                    out.append(.bulk(k))
                    out.append(.bulk(v))
                }
            }
            return RESPValue.array(out).encoded
        case "RESETSTAT":
            commandsProcessed = 0
            return RESPValue.ok.encoded
        case "SET":
            return RESPValue.error("ERR CONFIG SET is not supported: the node's settings come from its flags and the cluster's log").encoded
        default:
            return RESPValue.error("ERR unknown subcommand '\(sub.lowercased())'. Try CONFIG HELP.").encoded
        }
    }
}

/// `*` and `?` glob matching (CONFIG GET patterns).
func globMatch(_ pattern: String, _ text: String) -> Bool {
    let p = Array(pattern), t = Array(text)
    func m(_ i: Int, _ j: Int) -> Bool {
        if i == p.count { return j == t.count }
        if p[i] == "*" { return (j...t.count).contains { m(i + 1, $0) } }
        guard j < t.count, p[i] == "?" || p[i] == t[j] else { return false }
        return m(i + 1, j + 1)
    }
    return m(0, 0)
}
