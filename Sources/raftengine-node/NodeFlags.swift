/// raftengine-node's command line: a table of flags, parsed by hand so every refusal is one
/// clear line naming the flag and what was wrong (and the binary links no Foundation).
struct NodeFlags {
    struct Spec {
        let name: String
        let value: String?   // placeholder; nil for a switch
        let help: String
        var repeatable = false
    }

    /// A refusal: one line, exit status 2.
    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    static let specs: [Spec] = [
        Spec(name: "id", value: "ID", help: "Node id (stored in the data dir on first start)."),
        Spec(name: "data-dir", value: "PATH", help: "Data directory (default ./data/ID)."),
        Spec(name: "raft-addr", value: "HOST:PORT", help: "Where other nodes reach this one."),
        Spec(name: "client-addr", value: "HOST:PORT", help: "Where Redis-protocol clients connect."),
        Spec(name: "peer", value: "ID=RAFT,CLIENT", help: "Another member of a new cluster: its id, raft address and client address (repeat for each).", repeatable: true),
        Spec(name: "join", value: "HOST:PORT[,...]", help: "Raft addresses of members of a running cluster to join (a new, empty node)."),
        Spec(name: "cluster-id", value: "NAME", help: "Cluster id; traffic from other clusters is refused (default raftengine)."),
        Spec(name: "cluster-secret-file", value: "PATH", help: "Mode-600 file whose first line is the cluster secret peers must prove; further lines are secrets also accepted while rotating."),
        Spec(name: "heartbeat-ms", value: "MS", help: "Heartbeat period (default 50)."),
        Spec(name: "election-timeout-ms", value: "MIN-MAX", help: "Election timeout range (default 300-600)."),
        Spec(name: "snapshot-every", value: "N", help: "Snapshot after N applied entries; 0 only on RAFT.SNAPSHOT (default 100000)."),
        Spec(name: "max-request-bytes", value: "BYTES", help: "Largest client request accepted (default 1048576)."),
        Spec(name: "requirepass", value: "PASSWORD", help: "Clients must AUTH with this password before any other command (put it in the --config file rather than on the command line, where ps shows it)."),
        Spec(name: "metrics-addr", value: "HOST:PORT", help: "Serve Prometheus metrics at http://HOST:PORT/metrics (default off)."),
        Spec(name: "log-level", value: "LEVEL", help: "error, warn, info or debug (default info)."),
        Spec(name: "config", value: "PATH", help: "File of `flag = value` lines; flags on the command line win."),
        Spec(name: "clear-broken", value: nil, help: "Repair, then exit: clear the broken mark of the stopped node in --data-dir (see docs/operations.md)."),
        Spec(name: "force-sole-voter", value: nil, help: "Repair after losing a quorum for good, then exit: make the stopped node in --data-dir the only voter (unsafe; see docs/operations.md)."),
        Spec(name: "help", value: nil, help: "Show this help."),
        Spec(name: "version", value: nil, help: "Show the version."),
    ]

    /// The values given, by flag name (repeatable flags in order).
    private(set) var values: [String: [String]] = [:]

    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func has(_ name: String) -> Bool { values[name] != nil }

    /// `--flag VALUE` or `--flag=VALUE`; a value may start with "-" only in the `=` form or when
    /// it is a number (so "--heartbeat-ms -5" is refused as negative, not as a missing value).
    init(arguments: [String]) throws(UsageError) {
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            guard arg.hasPrefix("--"), arg.count > 2 else {
                throw UsageError(description: "unexpected argument \"\(arg)\" (flags start with --; see --help)")
            }
            var name = String(arg.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let spec = Self.specs.first(where: { $0.name == name }) else {
                throw UsageError(description: "unknown flag --\(name) (see --help)")
            }
            let v: String
            if spec.value == nil {
                guard inline == nil else { throw UsageError(description: "--\(name) takes no value") }
                v = ""
            } else if let inline {
                v = inline
            } else {
                guard i < arguments.count, !arguments[i].hasPrefix("--") else {
                    throw UsageError(description: "--\(name) needs a value: --\(name) \(spec.value!)")
                }
                v = arguments[i]
                i += 1
            }
            try set(spec, v, from: "--\(name)")
        }
    }

    private mutating func set(_ spec: Spec, _ v: String, from origin: String) throws(UsageError) {
        if values[spec.name] != nil && !spec.repeatable {
            throw UsageError(description: "\(origin) is given twice")
        }
        values[spec.name, default: []].append(v)
    }

    /// Adds a config file's `flag = value` lines for flags the command line left unset
    /// (repeatable ones add up).
    mutating func merge(configFile path: String, text: String) throws(UsageError) {
        var fromFile = NodeFlags.empty
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmed
            if line.isEmpty || line.hasPrefix("#") { continue }
            let kv = line.split(separator: "=", maxSplits: 1).map { String($0.trimmed) }
            guard kv.count == 2, !kv[0].isEmpty else {
                throw UsageError(description: "\(path):\(n + 1): not `flag = value`: \(line)")
            }
            guard let spec = Self.specs.first(where: { $0.name == kv[0] }), spec.value != nil, spec.name != "config" else {
                throw UsageError(description: "\(path):\(n + 1): unknown setting \(kv[0])")
            }
            try fromFile.set(spec, kv[1], from: "\(path):\(n + 1): \(kv[0])")
        }
        for (name, vs) in fromFile.values {
            let repeatable = Self.specs.first { $0.name == name }?.repeatable ?? false
            if values[name] == nil { values[name] = vs } else if repeatable { values[name]! += vs }
        }
    }

    private static let empty = NodeFlags()
    private init() {}

    /// Help text: each flag with its value, the description wrapped at 100 columns, and
    /// examples on lines of their own, so no example breaks inside an argument.
    static func help(version: String) -> String {
        var out = """
        raftengine-node \(version): a replicated key-value server for Redis clients, built on RaftEngine.

        Usage: raftengine-node [flags]

        A new three-node cluster (run each line in its own terminal):
          raftengine-node --id n1 --raft-addr 127.0.0.1:7001 --client-addr 127.0.0.1:6001 \\
            --peer n2=127.0.0.1:7002,127.0.0.1:6002 \\
            --peer n3=127.0.0.1:7003,127.0.0.1:6003
          (n2 and n3 likewise, each listing the other two)
        Talk to it:
          redis-cli -c -p 6001 SET greeting hello
        Restart a node (its identity and membership are in its data dir):
          raftengine-node --data-dir ./data/n1
        Metrics for Prometheus, and a password for clients:
          raftengine-node --data-dir ./data/n1 --metrics-addr 127.0.0.1:9101 \\
            --config ./n1.conf        (a line in n1.conf: requirepass = s3cret)
        Add a node to a running cluster:
          raftengine-node --id n4 --raft-addr 127.0.0.1:7004 --client-addr 127.0.0.1:6004 \\
            --join 127.0.0.1:7001

        Flags:

        """
        for s in specs {
            let head = "  --\(s.name)" + (s.value.map { " \($0)" } ?? "")
            out += head + "\n"
            var line = "      "
            for word in s.help.split(separator: " ") {
                if line.count + word.count + 1 > 100 {
                    out += line + "\n"
                    line = "      "
                }
                line += (line.count > 6 ? " " : "") + word
            }
            out += line + "\n"
        }
        return out
    }
}
