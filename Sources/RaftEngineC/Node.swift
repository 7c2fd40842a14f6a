#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import Foundation
import RaftCore
import RaftUV

/// The C `re_host`.
final class HostBox {
    let host: UVHost
    init(_ host: UVHost) { self.host = host }
}

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

private func box<T: AnyObject>(_ p: OpaquePointer?, _: T.Type) -> T? {
    guard let p else { return nil }
    return Unmanaged<T>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

// MARK: - Outcomes and events as C values

/// The status code for a core outcome.
func status(of outcome: CommandOutcome) -> REStatus {
    switch outcome {
    case .applied: return .ok
    case .redirect: return .enotleader
    case .retry: return .eretry
    case .timeout: return .etimeout
    case .applyError: return .eapply
    case .stopped: return .estopped
    case .rejected(let why):
        if why == RaftError.changeInProgress.description { return .ebusy }
        if why.hasPrefix("unknown node") { return .enotfound }
        if why.contains("exceeds the maximum") { return .etoobig }
        return .erejected
    }
}

/// Calls `body` with a `re_result` describing `outcome`; its pointers live for the call only.
func withCResult(_ outcome: CommandOutcome, _ body: (UnsafePointer<re_result>) -> Void) {
    var data: [UInt8] = []
    var leader: String?
    var address: String?
    var message = ""
    switch outcome {
    case .applied(let bytes): data = bytes
    case .redirect(let l, let a): leader = l; address = a.isEmpty ? nil : a; message = "not the leader"
    case .applyError(let why): message = why
    case .rejected(let why): message = why
    case .retry: message = "no leader available; retry later"
    case .timeout: message = "timed out"
    case .stopped: message = "node stopped"
    }
    func cString(_ s: String?, _ f: (UnsafePointer<CChar>?) -> Void) {
        if let s { s.withCString { f($0) } } else { f(nil) }
    }
    data.withUnsafeBufferPointer { buf in
        cString(leader) { l in
            cString(address) { a in
                message.withCString { m in
                    var r = re_result(status: status(of: outcome).rawValue, result: buf.count > 0 ? buf.baseAddress : nil,
                                      result_len: buf.count, leader_id: l, leader_address: a, message: m)
                    withUnsafePointer(to: &r) { body($0) }
                }
            }
        }
    }
}

func deliver(_ done: re_done_fn?, _ user: UnsafeMutableRawPointer?, _ outcome: CommandOutcome) {
    guard let done else { return }
    withCResult(outcome) { done(user, $0) }
}

/// Calls the host's event callback with a `re_event` (strings live for the call only).
func deliver(_ event: RaftEvent, to callback: re_event_fn, user: UnsafeMutableRawPointer?) {
    var kind = RE_EVENT_ERROR
    var value: String?
    var node: String?
    var detail: String?
    var number: UInt64 = 0
    switch event {
    case .roleChanged(let r): kind = RE_EVENT_ROLE; value = r.description
    case .termChanged(let t): kind = RE_EVENT_TERM; number = t
    case .leaderChanged(let l): kind = RE_EVENT_LEADER; value = l
    case .election(let s): kind = RE_EVENT_ELECTION; value = s.rawValue
    case .resync(let s, let peer): kind = RE_EVENT_RESYNC; value = s.rawValue; node = peer
    case .membershipChangeComplete(let op, let n): kind = RE_EVENT_MEMBERSHIP_DONE; value = op.description; node = n
    case .membershipChangeAborted(let op, let n, let why): kind = RE_EVENT_MEMBERSHIP_ABORTED; value = op.description; node = n; detail = why
    case .settingsChanged: kind = RE_EVENT_SETTINGS
    case .snapshotTaken(let i): kind = RE_EVENT_SNAPSHOT; value = "TAKEN"; number = i
    case .snapshotInstalled(let i): kind = RE_EVENT_SNAPSHOT; value = "INSTALLED"; number = i
    case .applyFailed(let index, let why, let policy): kind = RE_EVENT_APPLY_FAILED; number = index; value = policy.description; detail = why
    case .stopCommanded(let why): kind = RE_EVENT_STOPPED; value = why.code; detail = why.description
    case .error(let why): kind = RE_EVENT_ERROR; detail = why
    }
    func c(_ s: String?, _ f: (UnsafePointer<CChar>?) -> Void) {
        if let s { s.withCString { f($0) } } else { f(nil) }
    }
    c(value) { v in c(node) { n in c(detail) { d in
        var e = re_event(kind: Int32(kind.rawValue), value: v, node: n, detail: d, number: number)
        withUnsafePointer(to: &e) { callback(user, $0) }
    } } }
}

// MARK: - Hosts

@_cdecl("re_host_new")
public func re_host_new(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return REStatus.einval.rawValue }
    guard let host = try? UVHost() else { return REStatus.enomem.rawValue }
    out.pointee = OpaquePointer(Unmanaged.passRetained(HostBox(host)).toOpaque())
    return 0
}

@_cdecl("re_host_free")
public func re_host_free(_ host: OpaquePointer?) {
    guard let host else { return }
    let b = Unmanaged<HostBox>.fromOpaque(UnsafeRawPointer(host))
    b.takeUnretainedValue().host.shutdown()
    b.release()
}

// MARK: - Nodes

@_cdecl("re_node_start")
public func re_node_start(_ host: OpaquePointer?, _ config: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let h = box(host, HostBox.self), let src = configBox(config), let out else { return REStatus.einval.rawValue }
    func refuse(_ status: REStatus, _ message: String) -> Int32 {
        src.setError(message)
        return status.rawValue
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
                               snapshotThreshold: c.snapshotThreshold)
    rc.joinAddresses = c.join.map(\.text)
    if !c.acceptedSecrets.isEmpty && c.secret == nil {
        return refuse(.einval, "accepted cluster secrets were given without a cluster secret to prove with")
    }
    if let secret = c.secret { rc.secrets = try? ClusterSecrets(current: secret, alsoAccepted: c.acceptedSecrets) }
    let machine = CStateMachine(apply: apply, snapshot: snapshot, restore: restore, user: c.machineUser)
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
        switch e {
        case .invalidConfig: return refuse(.einval, e.description)
        case .invalidAddress, .addressInUse: return refuse(.eaddr, e.description)
        case .duplicateNode: return refuse(.eduplicate, e.description)
        case .dataDirLocked: return refuse(.elocked, e.description)
        case .storage: return refuse(.eio, e.description)
        case .corrupt: return refuse(.ecorrupt, e.description)
        case .logBroken: return refuse(.ebroken, e.description)
        case .hostStopped: return refuse(.estopped, e.description)
        }
    } catch {
        return refuse(.eio, "\(error)")
    }
}

@_cdecl("re_node_stop")
public func re_node_stop(_ node: OpaquePointer?) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return REStatus.einval.rawValue }
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
    guard let n = box(node, NodeBox.self), let port else { return REStatus.einval.rawValue }
    port.pointee = n.node.listenPort
    return 0
}

/// Validates a command buffer and the node before it is queued.
private func checkCommand(_ n: NodeBox, _ data: UnsafePointer<UInt8>?, _ len: Int) -> REStatus {
    if data == nil && len > 0 { return .einval }
    if len > n.maxCommandSize { return .etoobig }
    if n.node.isStopped { return .estopped }
    return .ok
}

@_cdecl("re_node_submit")
public func re_node_submit(_ node: OpaquePointer?, _ data: UnsafePointer<UInt8>?, _ len: Int,
                           _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return REStatus.einval.rawValue }
    let check = checkCommand(n, data, len)
    guard check == .ok else { return check.rawValue }
    let bytes = len > 0 ? Array(UnsafeBufferPointer(start: data, count: len)) : []
    let queued = n.node.submit(bytes) { outcome in deliver(done, user, outcome) }
    return queued ? 0 : REStatus.estopped.rawValue
}

/// Copies `s` into a caller's buffer of `cap` bytes, NUL-terminated and truncated to fit.
private func copyOut(_ s: String, _ dst: UnsafeMutablePointer<CChar>?, _ cap: Int) {
    guard let dst, cap > 0 else { return }
    let bytes = Array(s.utf8.prefix(cap - 1))
    for (i, b) in bytes.enumerated() { dst[i] = CChar(bitPattern: b) }
    dst[bytes.count] = 0
}

@_cdecl("re_node_submit_sync")
public func re_node_submit_sync(_ node: OpaquePointer?, _ data: UnsafePointer<UInt8>?, _ len: Int, _ timeoutMs: UInt32,
                                _ result: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, _ resultLen: UnsafeMutablePointer<Int>?,
                                _ leaderID: UnsafeMutablePointer<CChar>?, _ leaderAddress: UnsafeMutablePointer<CChar>?,
                                _ leaderCap: Int) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return REStatus.einval.rawValue }
    result?.pointee = nil
    resultLen?.pointee = 0
    let check = checkCommand(n, data, len)
    guard check == .ok else { return check.rawValue }
    let bytes = len > 0 ? Array(UnsafeBufferPointer(start: data, count: len)) : []
    let outcome = n.node.submitSync(bytes, timeout: Double(timeoutMs) / 1000)
    if case .rejected(let why) = outcome, why == "cannot wait on the loop thread" { return REStatus.estate.rawValue }
    switch outcome {
    case .applied(let r):
        if let result, !r.isEmpty, let p = malloc(r.count)?.assumingMemoryBound(to: UInt8.self) {
            r.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: r.count) }
            result.pointee = p
            resultLen?.pointee = r.count
        }
    case .redirect(let l, let a):
        copyOut(l, leaderID, leaderCap)
        copyOut(a, leaderAddress, leaderCap)
    default:
        break
    }
    return status(of: outcome).rawValue
}

@_cdecl("re_node_status")
public func re_node_status(_ node: OpaquePointer?, _ info: UnsafeMutablePointer<re_status_info>?) -> Int32 {
    guard let n = box(node, NodeBox.self), let info else { return REStatus.einval.rawValue }
    var i = re_status_info()
    if let s = n.node.status() {
        i.role = Int32(s.role.rawValue)
        i.term = s.term
        i.commit_index = s.commitIndex
        i.applied_index = s.appliedIndex
        i.last_index = s.lastIndex
        i.stopped = s.stopped ? 1 : 0
        i.voters = UInt32(s.config.voterIDs.count)
        i.learners = UInt32(s.config.members.count - s.config.voterIDs.count)
        if let l = s.leaderID {
            withUnsafeMutableBytes(of: &i.leader_id) { copyOut(l, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
            let addr = s.config.member(l)?.address ?? ""
            withUnsafeMutableBytes(of: &i.leader_address) { copyOut(addr, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        }
    } else {
        i.stopped = 1
    }
    info.pointee = i
    return 0
}

/// Transport counters by name, so new ones never change a struct's layout.
@_cdecl("re_node_counter")
public func re_node_counter(_ node: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ value: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let n = box(node, NodeBox.self), let name, let value else { return REStatus.einval.rawValue }
    let t = n.node.transportStats
    let counters: [String: Int] = [
        "frames_received": t.framesReceived, "frames_sent": t.framesSent, "unknown_sender": t.unknownSender,
        "spoofed_sender": t.spoofedSender, "auth_failed": t.authFailed, "wrong_cluster": t.wrongCluster,
        "malformed_frames": t.malformed, "oversized_frames": t.oversized, "connects_failed": t.connectsFailed,
        "dropped_while_disconnected": t.droppedWhileDisconnected,
    ]
    guard let v = counters[String(cString: name)] else { return REStatus.enotfound.rawValue }
    value.pointee = UInt64(v)
    return 0
}

// MARK: - Cluster operations

/// Runs a cluster operation whose outcome goes to `done`; RE_ESTOPPED when the node stopped.
private func operation(_ node: OpaquePointer?, _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?,
                       _ start: (HostedNode, @escaping (CommandOutcome) -> Void) -> Void) -> Int32 {
    guard let n = box(node, NodeBox.self) else { return REStatus.einval.rawValue }
    if n.node.isStopped { return REStatus.estopped.rawValue }
    start(n.node) { outcome in deliver(done, user, outcome) }
    return 0
}

@_cdecl("re_node_add_server")
public func re_node_add_server(_ node: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ address: UnsafePointer<CChar>?,
                               _ asVoter: Int32, _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let nid = nonEmpty(id), let a = nonEmpty(address) else { return REStatus.einval.rawValue }
    guard let hp = HostPort(a) else { return REStatus.eaddr.rawValue }
    return operation(node, done, user) { n, cb in n.addServer(id: nid, address: hp.text, asVoter: asVoter != 0, completion: cb) }
}

@_cdecl("re_node_remove_server")
public func re_node_remove_server(_ node: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ done: re_done_fn?,
                                  _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let nid = nonEmpty(id) else { return REStatus.einval.rawValue }
    return operation(node, done, user) { n, cb in n.removeServer(id: nid, completion: cb) }
}

@_cdecl("re_node_join")
public func re_node_join(_ node: OpaquePointer?, _ leaderID: UnsafePointer<CChar>?, _ leaderAddress: UnsafePointer<CChar>?,
                         _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let lid = nonEmpty(leaderID), let a = nonEmpty(leaderAddress) else { return REStatus.einval.rawValue }
    guard let hp = HostPort(a) else { return REStatus.eaddr.rawValue }
    return operation(node, done, user) { n, cb in n.join(leaderID: lid, leaderAddress: hp.text, completion: cb) }
}

@_cdecl("re_node_exit")
public func re_node_exit(_ node: OpaquePointer?, _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    operation(node, done, user) { n, cb in n.exitCluster(completion: cb) }
}

@_cdecl("re_node_transfer_leadership")
public func re_node_transfer_leadership(_ node: OpaquePointer?, _ target: UnsafePointer<CChar>?, _ done: re_done_fn?,
                                        _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let t = nonEmpty(target) else { return REStatus.einval.rawValue }
    return operation(node, done, user) { n, cb in n.transferLeadership(to: t, completion: cb) }
}

@_cdecl("re_node_take_snapshot")
public func re_node_take_snapshot(_ node: OpaquePointer?, _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    operation(node, done, user) { n, cb in n.takeSnapshot(completion: cb) }
}

@_cdecl("re_node_update_settings")
public func re_node_update_settings(_ node: OpaquePointer?, _ heartbeatMs: UInt32, _ electionMinMs: UInt32, _ electionMaxMs: UInt32,
                                    _ maxEntries: UInt32, _ done: re_done_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    operation(node, done, user) { n, cb in
        n.updateSettings({ s in
            if heartbeatMs > 0 { s.heartbeatPeriod = UInt64(heartbeatMs) * 1_000_000 }
            if electionMinMs > 0 { s.electionTimeoutMin = UInt64(electionMinMs) * 1_000_000 }
            if electionMaxMs > 0 { s.electionTimeoutMax = UInt64(electionMaxMs) * 1_000_000 }
            if maxEntries > 0 { s.maxEntriesPerMessage = maxEntries }
        }, completion: cb)
    }
}

extension StopReason {
    /// RE_EVENT_STOPPED's value: which kind of stop, for hosts to branch on.
    var code: String {
        switch self {
        case .removed: return "REMOVED"
        case .applyHalted: return "APPLY_HALTED"
        case .storageFailed: return "STORAGE_FAILURE"
        }
    }
}
