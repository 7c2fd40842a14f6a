import ArgumentParser
import Foundation
import RaftCore
import RaftKV
import RaftUV

@main
struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raftengine-node",
        abstract: "A replicated key-value server speaking the Redis protocol, built on RaftEngine.",
        discussion: """
        Start three nodes, then talk to any of them with `redis-cli -c -p <client port>`:
          raftengine-node --id n1 --raft-addr 127.0.0.1:7001 --client-addr 127.0.0.1:6001 \\
              --peer n2=127.0.0.1:7002,127.0.0.1:6002 --peer n3=127.0.0.1:7003,127.0.0.1:6003
        A node restarted with the same --data-dir needs no other flag: its identity is stored
        there and its membership comes from its log.
        """)

    @Option(name: .long, help: "Node id (stored in the data dir on first start).")
    var id: String?

    @Option(name: .customLong("data-dir"), help: "Data directory (default ./data/<id>).")
    var dataDir: String?

    @Option(name: .customLong("raft-addr"), help: "HOST:PORT for Raft traffic between nodes.")
    var raftAddr: String?

    @Option(name: .customLong("client-addr"), help: "HOST:PORT for Redis-protocol clients.")
    var clientAddr: String?

    @Option(name: .customLong("peer"), help: "Another member of a new cluster: ID=RAFTHOST:PORT,CLIENTHOST:PORT (repeatable).")
    var peers: [String] = []

    @Option(name: .customLong("join"), help: "RAFTHOST:PORT of members of a running cluster to join, comma-separated (new, empty node).")
    var join: String?

    @Option(name: .customLong("cluster-id"), help: "Cluster id; nodes refuse traffic from other clusters.")
    var clusterID: String = "raftengine"

    @Option(name: .customLong("cluster-secret-file"),
            help: "File (mode 600) whose first line is the cluster secret: peers must prove they know it. Further lines: secrets also accepted while rotating.")
    var clusterSecretFile: String?

    @Option(name: .customLong("heartbeat-ms"), help: "Heartbeat period in milliseconds.")
    var heartbeatMs: UInt64 = 50

    @Option(name: .customLong("election-timeout-ms"), help: "Election timeout range MIN-MAX in milliseconds.")
    var electionTimeout: String = "300-600"

    @Option(name: .customLong("snapshot-every"), help: "Take a snapshot every N applied entries (0 = only on RAFT.SNAPSHOT).")
    var snapshotEvery: UInt64 = 100_000

    @Option(name: .customLong("max-request-bytes"), help: "Largest accepted client request.")
    var maxRequestBytes: Int = 1 << 20

    @Option(name: .customLong("log-level"), help: "error, warn, info or debug.")
    var logLevel: LogLevel = .info

    @Option(name: .customLong("config"), help: "File of `flag = value` lines (flags given on the command line win).")
    var configFile: String?

    /// Input the node refuses is one line on stderr and exit status 2, not a usage dump.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let e as ValidationError {
            fputs("raftengine-node: \(e.message)\n", stderr)
            Glibc.exit(2)
        } catch {
            exit(withError: error)
        }
    }

    mutating func run() throws {
        // A write to a peer that reset its connection must fail with EPIPE, never kill us.
        signal(SIGPIPE, SIG_IGN)
        if let file = configFile { try applyConfigFile(file) }
        let logger = Logger(level: logLevel)
        let settings = try clusterSettings()
        // Checked before anything is written to the data dir.
        if let id { _ = try checkedPeers(selfID: id) }
        var joinAddresses: [String] = []
        if let join {
            guard peers.isEmpty else { throw ValidationError(MemberListError.joinWithPeers.description) }
            for part in join.split(separator: ",", omittingEmptySubsequences: false) {
                do { joinAddresses.append(try HostPort.parse(String(part)).text) } catch {
                    throw ValidationError("--join \(join): \(error)")
                }
            }
        }
        var secrets: ClusterSecrets?
        if let path = clusterSecretFile {
            do { secrets = try ClusterSecrets(file: path) } catch { throw ValidationError("--cluster-secret-file: \(error)") }
        }
        let identity = try NodeIdentity.resolve(id: id, dataDir: dataDir, raftAddr: raftAddr, clientAddr: clientAddr)
        let peerMap = try checkedPeers(selfID: identity.id)
        // Signals are handled by the main thread only, so block them before threads start.
        // SIGUSR1 is the loop thread telling the main thread that the node stopped itself.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGUSR1)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let host = try UVHost()
        let machine = KVStateMachine()
        var config = RuntimeNodeConfig(id: identity.id, dataDir: identity.dataDir, listenAddress: identity.raftAddr,
                                       peers: peerMap, bootstrap: join == nil, clusterID: clusterID, settings: settings,
                                       maxCommandSize: maxRequestBytes + 1024, commandTimeout: 5_000_000_000,
                                       snapshotThreshold: snapshotEvery)
        config.addressExtra = identity.clientAddr
        config.joinAddresses = joinAddresses
        config.secrets = secrets
        let stop = SelfStop()
        let node: HostedNode
        do {
            node = try host.startNode(config, stateMachine: machine) { event in
                logger.log(event, node: identity.id)
                if case .stopCommanded(let reason) = event { stop.record(reason) }
            }
        } catch {
            logger.error("cannot start: \(error)")
            host.shutdown()
            throw ExitCode(2)
        }
        let server = KVServer(node: node, machine: machine, maxRequestBytes: maxRequestBytes, clientAddress: identity.clientAddr)
        let clients: StreamServer
        do {
            clients = try StreamServer(host: host, address: identity.clientAddr) { stream in
                _ = RESPSession(stream: stream, server: server).retained(by: stream)
            }
        } catch {
            logger.error("cannot serve clients on \(identity.clientAddr): \(error)")
            node.stop()
            host.shutdown()
            throw ExitCode(2)
        }
        logger.info("node \(identity.id) raft \(identity.raftAddr) clients \(identity.clientAddr) data \(identity.dataDir)")
        if !joinAddresses.isEmpty && node.status()?.config.contains(identity.id) != true {
            logger.info("joining the cluster through \(joinAddresses.joined(separator: ", "))")
        }

        var caught: Int32 = 0
        sigwait(&signals, &caught)
        let reason = stop.reason
        if let reason {
            logger.info("node stopped itself (\(reason)): exiting")
        } else {
            logger.info("signal \(caught): stopping")
        }
        clients.close()
        node.stop()
        host.shutdown()
        logger.info("stopped")
        switch reason {
        case nil, .removed?:
            // Removed from the cluster is a finished job, not a failure to restart from.
            return
        default:
            throw ExitCode(1)
        }
    }

    /// The peers as given, refused with the library's words when they cannot make a cluster.
    private func checkedPeers(selfID: NodeID) throws -> [NodeID: String] {
        var list = PeerList()
        var map: [NodeID: String] = [:]
        for p in peers {
            let parts = p.split(separator: "=", maxSplits: 1).map(String.init)
            let addresses = parts.count == 2 ? parts[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init) : []
            guard parts.count == 2, addresses.count == 2 else {
                throw ValidationError("--peer \(p): expected ID=RAFTHOST:PORT,CLIENTHOST:PORT")
            }
            do {
                try list.add(id: parts[0], address: addresses[0], selfID: selfID)
                _ = try HostPort.parse(addresses[1])
            } catch {
                throw ValidationError("--peer \(p): \(error)")
            }
            map[parts[0]] = parts[1]
        }
        return map
    }

    private func clusterSettings() throws -> ClusterSettings {
        let parts = electionTimeout.split(separator: "-").compactMap { UInt64($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] >= parts[0] else {
            throw ValidationError("--election-timeout-ms must be MIN-MAX, e.g. 300-600")
        }
        var s = ClusterSettings()
        s.heartbeatPeriod = heartbeatMs * 1_000_000
        s.electionTimeoutMin = parts[0] * 1_000_000
        s.electionTimeoutMax = parts[1] * 1_000_000
        if let why = s.validationError() { throw ValidationError(why) }
        return s
    }

    /// Reads `flag = value` lines into flags the command line left unset.
    private mutating func applyConfigFile(_ path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read config file \(path)")
        }
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let kv = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { throw ValidationError("config file line is not `flag = value`: \(line)") }
            let (k, v) = (kv[0], kv[1])
            switch k {
            case "id": id = id ?? v
            case "data-dir": dataDir = dataDir ?? v
            case "raft-addr": raftAddr = raftAddr ?? v
            case "client-addr": clientAddr = clientAddr ?? v
            case "peer": peers.append(v)
            case "join": join = join ?? v
            case "cluster-id": clusterID = v
            case "cluster-secret-file": clusterSecretFile = clusterSecretFile ?? v
            case "heartbeat-ms": heartbeatMs = UInt64(v) ?? heartbeatMs
            case "election-timeout-ms": electionTimeout = v
            case "snapshot-every": snapshotEvery = UInt64(v) ?? snapshotEvery
            case "log-level": logLevel = LogLevel(rawValue: v) ?? logLevel
            default: throw ValidationError("unknown setting \(k) in \(path)")
            }
        }
    }
}

/// The reason the node stopped itself, handed from the loop thread to the main thread (which
/// waits in sigwait and is woken with SIGUSR1).
final class SelfStop: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: StopReason?

    func record(_ r: StopReason) {
        lock.lock()
        let first = stored == nil
        if first { stored = r }
        lock.unlock()
        if first { kill(getpid(), SIGUSR1) }
    }

    var reason: StopReason? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

extension RESPSession {
    /// Keeps the session alive as long as its stream's callbacks reference it.
    func retained(by stream: ClientStream) -> RESPSession {
        let keep = self
        stream.onClose = { _ = keep }
        return self
    }
}
