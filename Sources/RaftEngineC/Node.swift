#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftUV

/// The C `re_node`: the running node plus what the C side needs to answer calls without
/// touching the loop (limits, the stopped flag).
final class NodeBox {
    let node: HostedNode
    let maxCommandSize: Int
    init(node: HostedNode, maxCommandSize: Int) {
        self.node = node
        self.maxCommandSize = maxCommandSize
    }
}

func box<T: AnyObject>(_ p: OpaquePointer?, _: T.Type) -> T? {
    guard let p else { return nil }
    return Unmanaged<T>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

// MARK: - Nodes

@_cdecl("re_node_start")
public func re_node_start(_ host: OpaquePointer?, _ config: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let h = box(host, HostBox.self) else { return fail(.einval, "host is NULL") }
    guard let src = configBox(config) else { return fail(.einval, "config is NULL") }
    guard let out else { return fail(.einval, "out is NULL") }
    func refuse(_ status: REStatus, _ message: String) -> Int32 {
        src.setError(message)
        return fail(status, message)
    }
    let c = src.copy()
    let io = HostIO(c)
    let missing = [("id", c.id == nil), ("data dir", c.dataDir == nil && !io.needsNoDataDir), ("listen address", c.listen == nil && !io.needsNoListenAddress),
                   ("state machine", c.apply == nil)].filter(\.1).map(\.0)
    guard missing.isEmpty, let id = c.id, let apply = c.apply,
          let snapshot = c.snapshot, let restore = c.restore else {
        return refuse(.estate, "the config has no " + missing.joined(separator: ", "))
    }
    if let why = c.settings.validationError() ?? io.conflict { return refuse(.einval, why) }
    var peers: [NodeID: String] = [:]
    for p in c.peers.peers { peers[p.id] = p.address.text }
    var rc = RuntimeNodeConfig(id: id, dataDir: c.dataDir ?? "", listenAddress: c.listen?.text ?? "", peers: peers, bootstrap: c.join.isEmpty,
                               clusterID: c.clusterID, settings: c.settings, maxFrameSize: c.maxFrameSize,
                               maxCommandSize: c.maxCommandSize, commandTimeout: UInt64(c.commandTimeoutMs) * 1_000_000,
                               snapshotThreshold: c.snapshotThreshold, snapshotTrailing: c.snapshotTrailing)
    rc.joinAddresses = c.join.map(\.text)
    if !c.acceptedSecrets.isEmpty && c.secret == nil {
        return refuse(.einval, "accepted cluster secrets were given without a cluster secret to prove with")
    }
    if let secret = c.secret { rc.secrets = try? ClusterSecrets(current: secret, alsoAccepted: c.acceptedSecrets) }
    let machine: CStateMachine = c.applyBatch.map {
        CBatchStateMachine(apply: apply, applyBatch: $0, snapshot: snapshot, restore: restore, user: c.machineUser)
    } ?? CStateMachine(apply: apply, snapshot: snapshot, restore: restore, user: c.machineUser)
    let events = c.events
    let eventsUser = c.eventsUser
    do {
        let node = try h.host.startNode(rc, stateMachine: machine, log: io.log, customSend: io.send) { event in
            if let events { deliver(event, to: events, user: eventsUser) }
        }
        out.pointee = OpaquePointer(Unmanaged.passRetained(NodeBox(node: node, maxCommandSize: c.maxCommandSize)).toOpaque())
        src.clearError()
        return 0
    } catch let e as StartError {
        return refuse(e.status, e.description)
    } catch {
        return refuse(.eio, "\(error)")
    }
}

@_cdecl("re_node_stop")
public func re_node_stop(_ node: OpaquePointer?) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return fail(.einval, "node is NULL") }
    n.node.stop()
    return 0
}

@_cdecl("re_node_free")
public func re_node_free(_ node: OpaquePointer?) {
    guard let node else { return }
    let b = Unmanaged<NodeBox>.fromOpaque(UnsafeRawPointer(node))
    b.takeUnretainedValue().node.stop()
    b.release()
}

@_cdecl("re_node_listen_port")
public func re_node_listen_port(_ node: OpaquePointer?, _ port: UnsafeMutablePointer<UInt16>?) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return fail(.einval, "node is NULL") }
    guard let port else { return fail(.einval, "port is NULL") }
    port.pointee = n.node.listenPort
    return 0
}

