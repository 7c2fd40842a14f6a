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

    @Option(name: .customLong("join"), help: "RAFTHOST:PORT of the leader of a running cluster to join (new, empty node).")
    var join: String?

    @Option(name: .customLong("cluster-id"), help: "Cluster id; nodes refuse traffic from other clusters.")
    var clusterID: String = "raftengine"

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

    mutating func run() throws {
        // This process is the host: a client or peer that resets its connection must cost a
        // failed write (EPIPE), never the process. The library's loop threads block SIGPIPE
        // already; ignoring it covers every other thread too.
        signal(SIGPIPE, SIG_IGN)
        if let file = configFile { try applyConfigFile(file) }
        let logger = Logger(level: logLevel)
        let identity = try NodeIdentity.resolve(id: id, dataDir: dataDir, raftAddr: raftAddr, clientAddr: clientAddr)
        let settings = try clusterSettings()

        var peerMap: [NodeID: String] = [:]
        for p in peers {
            let parts = p.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[1].split(separator: ",").count == 2 else {
                throw ValidationError("--peer must look like ID=RAFTHOST:PORT,CLIENTHOST:PORT, got \(p)")
            }
            peerMap[String(parts[0])] = String(parts[1])
        }
        // Signals are handled by the main thread only, so block them before threads start.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let host = try UVHost()
        let machine = KVStateMachine()
        var config = RuntimeNodeConfig(id: identity.id, dataDir: identity.dataDir, listenAddress: identity.raftAddr,
                                       peers: peerMap, bootstrap: join == nil, clusterID: clusterID, settings: settings,
                                       maxCommandSize: maxRequestBytes + 1024, commandTimeout: 5_000_000_000,
                                       snapshotThreshold: snapshotEvery)
        config.addressExtra = identity.clientAddr
        let node: HostedNode
        do {
            node = try host.startNode(config, stateMachine: machine) { event in logger.log(event, node: identity.id) }
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
        if let target = join {
            joinCluster(node: node, leaderAddress: target, logger: logger)
        }

        var caught: Int32 = 0
        sigwait(&signals, &caught)
        logger.info("signal \(caught): stopping")
        clients.close()
        node.stop()
        host.shutdown()
        logger.info("stopped")
    }

    /// Asks the leader at `leaderAddress` to add this node, retrying while the cluster elects.
    private func joinCluster(node: HostedNode, leaderAddress: String, logger: Logger) {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let outcome = node.waitFor(timeout: 60) { (done: @escaping (CommandOutcome) -> Void) in
                node.join(leaderID: "@" + leaderAddress, leaderAddress: leaderAddress, completion: done)
            }
            switch outcome {
            case .applied?:
                logger.info("joined the cluster through \(leaderAddress)")
                return
            case .rejected(let why)?:
                logger.warn("join refused: \(why); retrying")
            default:
                logger.warn("join did not complete (\(String(describing: outcome))); retrying")
            }
            Thread.sleep(forTimeInterval: 1)
        }
        logger.error("could not join through \(leaderAddress)")
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
            case "heartbeat-ms": heartbeatMs = UInt64(v) ?? heartbeatMs
            case "election-timeout-ms": electionTimeout = v
            case "snapshot-every": snapshotEvery = UInt64(v) ?? snapshotEvery
            case "log-level": logLevel = LogLevel(rawValue: v) ?? logLevel
            default: throw ValidationError("unknown setting \(k) in \(path)")
            }
        }
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
