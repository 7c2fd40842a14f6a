import RaftCore
import RaftUV

/// The node's settings, typed and checked, from the command line and its config file. Every
/// refusal names the flag and what is wrong with the value.
struct NodeLaunch {
    var id: String?
    var dataDir: String?
    var raftAddr: String?
    var clientAddr: String?
    var peers: [String]
    var join: String?
    var clusterID: String
    var secretFile: String?
    var heartbeatMs: UInt64
    var electionTimeoutMs: (min: UInt64, max: UInt64)
    var snapshotEvery: UInt64
    var maxRequestBytes: Int
    var logLevel: LogLevel
    var requirePass: String?
    var metricsAddr: String?

    typealias UsageError = NodeFlags.UsageError

    init(_ f: NodeFlags) throws(UsageError) {
        id = f.value("id")
        dataDir = f.value("data-dir")
        raftAddr = f.value("raft-addr")
        clientAddr = f.value("client-addr")
        peers = f.all("peer")
        join = f.value("join")
        clusterID = f.value("cluster-id") ?? "raftengine"
        if clusterID.isEmpty { throw UsageError(description: "--cluster-id must not be empty") }
        secretFile = f.value("cluster-secret-file")
        heartbeatMs = try Self.number("heartbeat-ms", f.value("heartbeat-ms"), default: 50, 1...60_000)
        electionTimeoutMs = try Self.range("election-timeout-ms", f.value("election-timeout-ms") ?? "300-600")
        snapshotEvery = try Self.number("snapshot-every", f.value("snapshot-every"), default: 100_000, 0...(1 << 40))
        maxRequestBytes = Int(try Self.number("max-request-bytes", f.value("max-request-bytes"), default: 1 << 20, 1...(64 << 20)))
        let level = f.value("log-level") ?? "info"
        guard let l = LogLevel(rawValue: level) else {
            throw UsageError(description: "--log-level \(level): must be error, warn, info or debug")
        }
        logLevel = l
        requirePass = f.value("requirepass")
        if let m = f.value("metrics-addr") {
            do { metricsAddr = try HostPort.parse(m).text } catch {
                throw UsageError(description: "--metrics-addr \(m): \(error)")
            }
        }
        for (flag, v) in [("requirepass", requirePass), ("data-dir", dataDir), ("id", id), ("cluster-secret-file", secretFile)] where v?.isEmpty == true {
            throw UsageError(description: "--\(flag) must not be empty")
        }
    }

    /// A decimal number in `range`; negative numbers and words are named as such.
    static func number(_ flag: String, _ text: String?, default d: UInt64, _ range: ClosedRange<UInt64>) throws(UsageError) -> UInt64 {
        guard let text else { return d }
        if text.hasPrefix("-"), Int64(text) != nil {
            throw UsageError(description: "--\(flag) \(text): must not be negative")
        }
        guard let v = UInt64(text) else { throw UsageError(description: "--\(flag) \(text): not a whole number") }
        guard range.contains(v) else {
            throw UsageError(description: "--\(flag) \(text): must be \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }

    static func range(_ flag: String, _ text: String) throws(UsageError) -> (min: UInt64, max: UInt64) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let lo = UInt64(parts[0]), let hi = UInt64(parts[1]) else {
            throw UsageError(description: "--\(flag) \(text): must be MIN-MAX in milliseconds, e.g. 300-600")
        }
        guard lo >= 1, hi >= lo, hi <= 600_000 else {
            throw UsageError(description: "--\(flag) \(text): needs 1 <= MIN <= MAX <= 600000")
        }
        return (lo, hi)
    }

    func clusterSettings() throws(UsageError) -> ClusterSettings {
        var s = ClusterSettings()
        s.heartbeatPeriod = heartbeatMs * 1_000_000
        s.electionTimeoutMin = electionTimeoutMs.min * 1_000_000
        s.electionTimeoutMax = electionTimeoutMs.max * 1_000_000
        if let why = s.validationError() {
            throw UsageError(description: "--heartbeat-ms \(heartbeatMs) with --election-timeout-ms \(electionTimeoutMs.min)-\(electionTimeoutMs.max): \(why)")
        }
        return s
    }

    /// The peers as given, refused with the library's words when they cannot make a cluster.
    func checkedPeers(selfID: NodeID) throws(UsageError) -> [NodeID: String] {
        var list = PeerList()
        var map: [NodeID: String] = [:]
        for p in peers {
            let parts = p.split(separator: "=", maxSplits: 1).map(String.init)
            let addresses = parts.count == 2 ? parts[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init) : []
            guard parts.count == 2, addresses.count == 2 else {
                throw UsageError(description: "--peer \(p): expected ID=RAFTHOST:PORT,CLIENTHOST:PORT")
            }
            do {
                try list.add(id: parts[0], address: addresses[0], selfID: selfID)
                _ = try HostPort.parse(addresses[1])
            } catch {
                throw UsageError(description: "--peer \(p): \(error)")
            }
            map[parts[0]] = parts[1]
        }
        return map
    }

    /// The join addresses, checked; empty when not joining.
    func joinAddresses() throws(UsageError) -> [String] {
        guard let join else { return [] }
        guard peers.isEmpty else { throw UsageError(description: MemberListError.joinWithPeers.description) }
        var out: [String] = []
        for part in join.split(separator: ",", omittingEmptySubsequences: false) {
            do { out.append(try HostPort.parse(String(part)).text) } catch {
                throw UsageError(description: "--join \(join): \(error)")
            }
        }
        return out
    }

    func secrets() throws(UsageError) -> ClusterSecrets? {
        guard let path = secretFile else { return nil }
        do { return try ClusterSecrets(file: path) } catch {
            throw UsageError(description: "--cluster-secret-file: \(error)")
        }
    }
}
