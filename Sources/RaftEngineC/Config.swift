import CRaftEngineABI
import RaftCore
import RaftUV

/// The C `re_config`: plain settings collected by setters, validated as they arrive so a bad
/// value is reported by the call that set it.
final class NodeConfigBox {
    var id: String?
    var dataDir: String?
    var listen: HostPort?
    var peers = PeerList()
    var join: [HostPort] = []
    var secret: [UInt8]?
    var acceptedSecrets: [[UInt8]] = []
    var clusterID = "raftengine"
    var settings = ClusterSettings()
    var maxCommandSize = 1 << 20
    var maxFrameSize = 16 << 20
    var commandTimeoutMs: UInt32 = 5000
    var snapshotThreshold: UInt64 = 0
    var snapshotTrailing: UInt64 = 1000
    var apply: re_apply_fn?
    var applyBatch: re_apply_batch_fn?
    var snapshot: re_snapshot_fn?
    var restore: re_restore_fn?
    var machineUser: UnsafeMutableRawPointer?
    var events: re_event_fn?
    var eventsUser: UnsafeMutableRawPointer?
    /// The host's own transport (HostTransport.swift); nil: TCP.
    var transport: HostTransport?
    /// The host's own storage (HostStorage.swift); nil: FileLog in the data dir.
    var storage: HostStorage?
    /// What the last call on this config (a setter, or re_node_start with it) found wrong, as
    /// re_config_errmsg returns it; empty after a call that succeeded.
    private var lastError: [CChar] = [0]

    init() {}

    func setError(_ message: String) { lastError = Array(message.utf8CString) }
    func clearError() { if lastError.count > 1 { lastError = [0] } }
    var errorMessage: UnsafePointer<CChar> { lastError.withUnsafeBufferPointer { $0.baseAddress! } }

    func copy() -> NodeConfigBox {
        let c = NodeConfigBox()
        c.id = id; c.dataDir = dataDir; c.listen = listen; c.peers = peers; c.join = join; c.clusterID = clusterID
        c.secret = secret; c.acceptedSecrets = acceptedSecrets
        c.settings = settings; c.maxCommandSize = maxCommandSize; c.maxFrameSize = maxFrameSize
        c.commandTimeoutMs = commandTimeoutMs; c.snapshotThreshold = snapshotThreshold
        c.snapshotTrailing = snapshotTrailing
        c.apply = apply; c.snapshot = snapshot; c.restore = restore; c.machineUser = machineUser
        c.applyBatch = applyBatch
        c.events = events; c.eventsUser = eventsUser
        c.transport = transport; c.storage = storage
        return c
    }
}

func configBox(_ p: OpaquePointer?) -> NodeConfigBox? {
    guard let p else { return nil }
    return Unmanaged<NodeConfigBox>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

/// A non-empty C string, or nil.
func nonEmpty(_ s: UnsafePointer<CChar>?) -> String? {
    guard let s else { return nil }
    let v = String(cString: s)
    return v.isEmpty ? nil : v
}

@_cdecl("re_config_new")
public func re_config_new(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return fail(.einval, "out is NULL") }
    out.pointee = OpaquePointer(Unmanaged.passRetained(NodeConfigBox()).toOpaque())
    return 0
}

@_cdecl("re_config_free")
public func re_config_free(_ config: OpaquePointer?) {
    guard let config else { return }
    Unmanaged<NodeConfigBox>.fromOpaque(UnsafeRawPointer(config)).release()
}

/// A setter's refusal: the status and the sentence re_config_errmsg gives.
struct ConfigRefusal: Error {
    var status: REStatus
    var message: String
    init(_ status: REStatus, _ message: String) {
        self.status = status
        self.message = message
    }
    init(_ e: MemberListError) {
        status = e.status
        message = e.description
    }
}

/// Runs a setter on a config, recording its refusal for re_config_errmsg; a nil config is
/// RE_EINVAL.
func withConfig(_ p: OpaquePointer?, _ body: (NodeConfigBox) throws(ConfigRefusal) -> Void) -> Int32 {
    guard let c = configBox(p) else { return fail(.einval, "config is NULL") }
    do {
        try body(c)
        c.clearError()
        return REStatus.ok.rawValue
    } catch {
        c.setError(error.message)
        return fail(error.status, error.message)
    }
}

/// The text setters' shared part: a config and a non-empty string named `what`, or RE_EINVAL.
private func withConfigText(_ p: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ what: String,
                            _ body: (NodeConfigBox, String) throws(ConfigRefusal) -> Void) -> Int32 {
    withConfig(p) { c throws(ConfigRefusal) in
        guard let v = nonEmpty(text) else { throw ConfigRefusal(.einval, "\(what) must be a non-empty string") }
        try body(c, v)
    }
}

/// Refuses a number outside `range`, naming the setting. Sizes and counts arrive unsigned, so
/// a negative number from a careless cast shows as a huge one: say so.
private func inRange<T: FixedWidthInteger>(_ what: String, _ v: T, _ range: ClosedRange<T>) throws(ConfigRefusal) {
    guard range.contains(v) else {
        let hint = v > range.upperBound && v >= T.max / 2 ? " (a negative number cast to unsigned?)" : ""
        let side = v < range.lowerBound ? "below the minimum of \(range.lowerBound)" : "above the maximum of \(range.upperBound)"
        throw ConfigRefusal(.einval, "\(what) \(v) is \(side)\(hint)")
    }
}

/// Converts a member-list check into a setter refusal.
private func checked<T>(_ body: () throws(MemberListError) -> T) throws(ConfigRefusal) -> T {
    do { return try body() } catch { throw ConfigRefusal(error) }
}

@_cdecl("re_config_errmsg")
public func re_config_errmsg(_ config: OpaquePointer?) -> UnsafePointer<CChar> {
    guard let c = configBox(config) else {
        let s: StaticString = "no config (NULL)"
        return UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
    }
    return c.errorMessage
}

@_cdecl("re_config_set_id")
public func re_config_set_id(_ config: OpaquePointer?, _ id: UnsafePointer<CChar>?) -> Int32 {
    withConfigText(config, id, "id") { c, v throws(ConfigRefusal) in
        try checked { () throws(MemberListError) in try c.peers.checkSelf(v) }
        c.id = v
    }
}

@_cdecl("re_config_set_data_dir")
public func re_config_set_data_dir(_ config: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    withConfigText(config, path, "data_dir") { c, v in c.dataDir = v }
}

@_cdecl("re_config_set_listen_address")
public func re_config_set_listen_address(_ config: OpaquePointer?, _ address: UnsafePointer<CChar>?) -> Int32 {
    withConfigText(config, address, "listen address") { c, v throws(ConfigRefusal) in
        c.listen = try checked { () throws(MemberListError) in try HostPort.parse(v, allowPortZero: true) }
    }
}

@_cdecl("re_config_add_peer")
public func re_config_add_peer(_ config: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ address: UnsafePointer<CChar>?) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        guard let pid = nonEmpty(id) else { throw ConfigRefusal(.einval, "peer id must be a non-empty string") }
        guard let a = nonEmpty(address) else { throw ConfigRefusal(.einval, "peer \(pid): address must be a non-empty string") }
        if !c.join.isEmpty { throw ConfigRefusal(.joinWithPeers) }
        try checked { () throws(MemberListError) in try c.peers.add(id: pid, address: a, selfID: c.id) }
    }
}

@_cdecl("re_config_set_join")
public func re_config_set_join(_ config: OpaquePointer?, _ addresses: UnsafePointer<CChar>?) -> Int32 {
    withConfigText(config, addresses, "join addresses") { c, v throws(ConfigRefusal) in
        if !c.peers.peers.isEmpty { throw ConfigRefusal(.joinWithPeers) }
        var list: [HostPort] = []
        for part in v.split(separator: ",", omittingEmptySubsequences: false) {
            list.append(try checked { () throws(MemberListError) in try HostPort.parse(String(part)) })
        }
        c.join = list
    }
}

/// A secret's bytes, refused unless ClusterSecrets would take them.
private func secretBytes(_ p: UnsafePointer<UInt8>?, _ len: Int) throws(ConfigRefusal) -> [UInt8] {
    guard let p, len > 0 else { throw ConfigRefusal(.einval, "the cluster secret must not be empty") }
    let bytes = Array(UnsafeBufferPointer(start: p, count: len))
    do { _ = try ClusterSecrets(current: bytes) } catch { throw ConfigRefusal(.einval, error.description) }
    return bytes
}

@_cdecl("re_config_set_cluster_secret")
public func re_config_set_cluster_secret(_ config: OpaquePointer?, _ secret: UnsafePointer<UInt8>?, _ len: Int) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in c.secret = try secretBytes(secret, len) }
}

@_cdecl("re_config_accept_cluster_secret")
public func re_config_accept_cluster_secret(_ config: OpaquePointer?, _ secret: UnsafePointer<UInt8>?, _ len: Int) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in c.acceptedSecrets.append(try secretBytes(secret, len)) }
}

@_cdecl("re_config_set_cluster_id")
public func re_config_set_cluster_id(_ config: OpaquePointer?, _ clusterID: UnsafePointer<CChar>?) -> Int32 {
    withConfigText(config, clusterID, "cluster id") { c, v in c.clusterID = v }
}

@_cdecl("re_config_set_heartbeat_ms")
public func re_config_set_heartbeat_ms(_ config: OpaquePointer?, _ ms: UInt32) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        try inRange("heartbeat_ms", ms, 1...60_000)
        c.settings.heartbeatPeriod = UInt64(ms) * 1_000_000
    }
}

@_cdecl("re_config_set_election_timeout_ms")
public func re_config_set_election_timeout_ms(_ config: OpaquePointer?, _ minMs: UInt32, _ maxMs: UInt32) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        try inRange("election timeout minimum", minMs, 1...600_000)
        try inRange("election timeout maximum", maxMs, 1...600_000)
        guard maxMs >= minMs else {
            throw ConfigRefusal(.einval, "election timeout maximum \(maxMs) ms is below its minimum \(minMs) ms")
        }
        c.settings.electionTimeoutMin = UInt64(minMs) * 1_000_000
        c.settings.electionTimeoutMax = UInt64(maxMs) * 1_000_000
    }
}

@_cdecl("re_config_set_pre_vote")
public func re_config_set_pre_vote(_ config: OpaquePointer?, _ on: Int32) -> Int32 {
    withConfig(config) { c in c.settings.preVote = on != 0 }
}

@_cdecl("re_config_set_check_quorum")
public func re_config_set_check_quorum(_ config: OpaquePointer?, _ on: Int32) -> Int32 {
    withConfig(config) { c in c.settings.checkQuorum = on != 0 }
}

@_cdecl("re_config_set_apply_policy")
public func re_config_set_apply_policy(_ config: OpaquePointer?, _ policy: Int32) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        guard let raw = UInt8(exactly: policy), let p = ApplyPolicy(rawValue: raw) else {
            throw ConfigRefusal(.einval, "apply policy \(policy) is none of RE_APPLY_REJECT, RE_APPLY_RETRY, RE_APPLY_HALT")
        }
        c.settings.applyPolicy = p
    }
}

@_cdecl("re_config_set_max_entries_per_message")
public func re_config_set_max_entries_per_message(_ config: OpaquePointer?, _ count: UInt32) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        try inRange("max entries per message", count, 1...100_000)
        c.settings.maxEntriesPerMessage = count
    }
}

@_cdecl("re_config_set_max_inflight")
public func re_config_set_max_inflight(_ config: OpaquePointer?, _ messages: UInt32) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        try inRange("max inflight", messages, 1...100_000)
        c.settings.maxInflight = messages
    }
}

@_cdecl("re_config_set_max_inflight_bytes")
public func re_config_set_max_inflight_bytes(_ config: OpaquePointer?, _ bytes: UInt64) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        try inRange("max inflight bytes", bytes, 1...(1 << 40))
        c.settings.maxInflightBytes = bytes
    }
}

@_cdecl("re_config_set_max_command_size")
public func re_config_set_max_command_size(_ config: OpaquePointer?, _ bytes: Int) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        try inRange("max command size", bytes, 1...(64 << 20))
        c.maxCommandSize = bytes
    }
}

@_cdecl("re_config_set_max_frame_size")
public func re_config_set_max_frame_size(_ config: OpaquePointer?, _ bytes: Int) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        try inRange("max frame size", bytes, 4096...(1 << 30))
        c.maxFrameSize = bytes
    }
}

@_cdecl("re_config_set_command_timeout_ms")
public func re_config_set_command_timeout_ms(_ config: OpaquePointer?, _ ms: UInt32) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        try inRange("command timeout", ms, 1...3_600_000)
        c.commandTimeoutMs = ms
    }
}

@_cdecl("re_config_set_snapshot_threshold")
public func re_config_set_snapshot_threshold(_ config: OpaquePointer?, _ entries: UInt64) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        try inRange("snapshot threshold", entries, 0...(1 << 40))
        c.snapshotThreshold = entries
    }
}

@_cdecl("re_config_set_snapshot_trailing")
public func re_config_set_snapshot_trailing(_ config: OpaquePointer?, _ entries: UInt64) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        try inRange("snapshot trailing", entries, 0...(1 << 40))
        c.snapshotTrailing = entries
    }
}

@_cdecl("re_config_set_state_machine")
public func re_config_set_state_machine(_ config: OpaquePointer?, _ apply: re_apply_fn?, _ snapshot: re_snapshot_fn?,
                                        _ restore: re_restore_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        guard let apply, let snapshot, let restore else {
            throw ConfigRefusal(.einval, "the state machine needs apply, snapshot and restore callbacks")
        }
        c.apply = apply; c.snapshot = snapshot; c.restore = restore; c.machineUser = user
    }
}

@_cdecl("re_config_set_apply_batch")
public func re_config_set_apply_batch(_ config: OpaquePointer?, _ applyBatch: re_apply_batch_fn?) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        guard let applyBatch else { throw ConfigRefusal(.einval, "apply_batch is NULL") }
        c.applyBatch = applyBatch
    }
}

@_cdecl("re_config_set_event_callback")
public func re_config_set_event_callback(_ config: OpaquePointer?, _ callback: re_event_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    withConfig(config) { c in
        c.events = callback
        c.eventsUser = user
    }
}
