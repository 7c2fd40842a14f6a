#if canImport(Glibc)
import Glibc
#endif
import RaftCore
import RaftKV
import RaftUV

/// Starts the node and its Redis-protocol server, then waits for a signal or for the node to
/// stop itself. Returns the process's exit status.
enum NodeRunner {
    static func run(_ launch: NodeLaunch) throws -> Int32 {
        // A write to a peer that reset its connection must fail with EPIPE, never kill us.
        signal(SIGPIPE, SIG_IGN)
        let logger = Logger(level: launch.logLevel)
        let settings = try launch.clusterSettings()
        // Checked before anything is written to the data dir.
        if let id = launch.id { _ = try launch.checkedPeers(selfID: id) }
        let joinAddresses = try launch.joinAddresses()
        let secrets = try launch.secrets()
        let identity = try NodeIdentity.resolve(id: launch.id, dataDir: launch.dataDir, raftAddr: launch.raftAddr,
                                                clientAddr: launch.clientAddr)
        let peerMap = try launch.checkedPeers(selfID: identity.id)
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
                                       peers: peerMap, bootstrap: launch.join == nil, clusterID: launch.clusterID,
                                       settings: settings, maxCommandSize: launch.maxRequestBytes + 1024,
                                       commandTimeout: 5_000_000_000, snapshotThreshold: launch.snapshotEvery)
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
            return 2
        }
        let server = KVServer(node: node, machine: machine, maxRequestBytes: launch.maxRequestBytes,
                              clientAddress: identity.clientAddr, version: version, password: launch.requirePass,
                              snapshotEvery: launch.snapshotEvery)
        server.install(on: host)
        let clients: StreamServer
        let metrics: MetricsServer?
        let sweeper: HostTimer
        do {
            clients = try StreamServer(host: host, address: identity.clientAddr) { stream in
                _ = RESPSession(stream: stream, server: server).retained(by: stream)
            }
        } catch {
            logger.error("cannot serve clients on \(identity.clientAddr): \(error)")
            node.stop()
            host.shutdown()
            return 2
        }
        do {
            metrics = try launch.metricsAddr.map { addr in
                try MetricsServer(host: host, address: addr) {
                    NodeMetrics.render(node: node, version: version, clients: server.clientCounts,
                                       keys: machine.dbSize, expiringKeys: machine.expiringCount)
                }
            }
            sweeper = try HostTimer(host: host, everyMs: 100) { server.sweepExpired() }
        } catch {
            logger.error("cannot serve metrics on \(launch.metricsAddr ?? ""): \(error)")
            clients.close()
            node.stop()
            host.shutdown()
            return 2
        }
        logger.info("node \(identity.id) raft \(identity.raftAddr) clients \(identity.clientAddr) data \(identity.dataDir)"
                    + (metrics.map { "; metrics http://\(launch.metricsAddr!)/metrics (port \($0.port))" } ?? ""))
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
        sweeper.cancel()
        metrics?.close()
        clients.close()
        node.stop()
        server.uninstall(from: host)
        host.shutdown()
        logger.info("stopped")
        switch reason {
        case nil, .removed?:
            // Removed from the cluster is a finished job, not a failure to restart from.
            return 0
        default:
            return 1
        }
    }
}
