import CRaftEngineABI
import RaftCore
import RaftUV

/// The C `re_config`: plain settings collected by setters, validated as they arrive so a bad
/// value is reported by the call that set it.
final class NodeConfigBox {
    var id: String?
    var dataDir: String?
    var listen: HostPort?
    var peers: [(id: String, address: HostPort)] = []
    var clusterID = "raftengine"
    var settings = ClusterSettings()
    var maxCommandSize = 1 << 20
    var maxFrameSize = 16 << 20
    var commandTimeoutMs: UInt32 = 5000
    var snapshotThreshold: UInt64 = 0
    var apply: re_apply_fn?
    var snapshot: re_snapshot_fn?
    var restore: re_restore_fn?
    var machineUser: UnsafeMutableRawPointer?
    var events: re_event_fn?
    var eventsUser: UnsafeMutableRawPointer?

    init() {}

    func copy() -> NodeConfigBox {
        let c = NodeConfigBox()
        c.id = id; c.dataDir = dataDir; c.listen = listen; c.peers = peers; c.clusterID = clusterID
        c.settings = settings; c.maxCommandSize = maxCommandSize; c.maxFrameSize = maxFrameSize
        c.commandTimeoutMs = commandTimeoutMs; c.snapshotThreshold = snapshotThreshold
        c.apply = apply; c.snapshot = snapshot; c.restore = restore; c.machineUser = machineUser
        c.events = events; c.eventsUser = eventsUser
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
    guard let out else { return REStatus.einval.rawValue }
    out.pointee = OpaquePointer(Unmanaged.passRetained(NodeConfigBox()).toOpaque())
    return 0
}

@_cdecl("re_config_free")
public func re_config_free(_ config: OpaquePointer?) {
    guard let config else { return }
    Unmanaged<NodeConfigBox>.fromOpaque(UnsafeRawPointer(config)).release()
}

/// Runs a setter on a config, mapping a nil config to RE_EINVAL.
private func withConfig(_ p: OpaquePointer?, _ body: (NodeConfigBox) -> REStatus) -> Int32 {
    guard let c = configBox(p) else { return REStatus.einval.rawValue }
    return body(c).rawValue
}

/// The text setters' shared part: a config and a non-empty string, or RE_EINVAL.
private func withConfigText(_ p: OpaquePointer?, _ text: UnsafePointer<CChar>?,
                            _ body: (NodeConfigBox, String) -> REStatus) -> Int32 {
    withConfig(p) { c in
        guard let v = nonEmpty(text) else { return .einval }
        return body(c, v)
    }
}

@_cdecl("re_config_set_id")
public func re_config_set_id(_ config: OpaquePointer?, _ id: UnsafePointer<CChar>?) -> Int32 {
    withConfigText(config, id) { c, v in
        if c.peers.contains(where: { $0.id == v }) { return .eduplicate }
        c.id = v
        return .ok
    }
}

@_cdecl("re_config_set_data_dir")
public func re_config_set_data_dir(_ config: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    withConfigText(config, path) { c, v in
        c.dataDir = v
        return .ok
    }
}

@_cdecl("re_config_set_listen_address")
public func re_config_set_listen_address(_ config: OpaquePointer?, _ address: UnsafePointer<CChar>?) -> Int32 {
    withConfigText(config, address) { c, v in
        guard let hp = HostPort(v) else { return .eaddr }
        c.listen = hp
        return .ok
    }
}

@_cdecl("re_config_add_peer")
public func re_config_add_peer(_ config: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ address: UnsafePointer<CChar>?) -> Int32 {
    withConfig(config) { c in
        guard let pid = nonEmpty(id), let a = nonEmpty(address) else { return .einval }
        guard let hp = HostPort(a) else { return .eaddr }
        if pid == c.id || c.peers.contains(where: { $0.id == pid }) { return .eduplicate }
        c.peers.append((pid, hp))
        return .ok
    }
}

@_cdecl("re_config_set_cluster_id")
public func re_config_set_cluster_id(_ config: OpaquePointer?, _ clusterID: UnsafePointer<CChar>?) -> Int32 {
    withConfigText(config, clusterID) { c, v in
        c.clusterID = v
        return .ok
    }
}

@_cdecl("re_config_set_heartbeat_ms")
public func re_config_set_heartbeat_ms(_ config: OpaquePointer?, _ ms: UInt32) -> Int32 {
    withConfig(config) { c in
        guard ms > 0 else { return .einval }
        c.settings.heartbeatPeriod = UInt64(ms) * 1_000_000
        return .ok
    }
}

@_cdecl("re_config_set_election_timeout_ms")
public func re_config_set_election_timeout_ms(_ config: OpaquePointer?, _ minMs: UInt32, _ maxMs: UInt32) -> Int32 {
    withConfig(config) { c in
        guard minMs > 0, maxMs >= minMs else { return .einval }
        c.settings.electionTimeoutMin = UInt64(minMs) * 1_000_000
        c.settings.electionTimeoutMax = UInt64(maxMs) * 1_000_000
        return .ok
    }
}

@_cdecl("re_config_set_pre_vote")
public func re_config_set_pre_vote(_ config: OpaquePointer?, _ on: Int32) -> Int32 {
    withConfig(config) { c in c.settings.preVote = on != 0; return .ok }
}

@_cdecl("re_config_set_check_quorum")
public func re_config_set_check_quorum(_ config: OpaquePointer?, _ on: Int32) -> Int32 {
    withConfig(config) { c in c.settings.checkQuorum = on != 0; return .ok }
}

@_cdecl("re_config_set_commands_idempotent")
public func re_config_set_commands_idempotent(_ config: OpaquePointer?, _ on: Int32) -> Int32 {
    withConfig(config) { c in c.settings.commandsIdempotent = on != 0; return .ok }
}

@_cdecl("re_config_set_max_entries_per_message")
public func re_config_set_max_entries_per_message(_ config: OpaquePointer?, _ count: UInt32) -> Int32 {
    withConfig(config) { c in
        guard count > 0 else { return .einval }
        c.settings.maxEntriesPerMessage = count
        return .ok
    }
}

@_cdecl("re_config_set_max_command_size")
public func re_config_set_max_command_size(_ config: OpaquePointer?, _ bytes: Int) -> Int32 {
    withConfig(config) { c in
        guard bytes > 0, bytes <= 64 << 20 else { return .einval }
        c.maxCommandSize = bytes
        return .ok
    }
}

@_cdecl("re_config_set_max_frame_size")
public func re_config_set_max_frame_size(_ config: OpaquePointer?, _ bytes: Int) -> Int32 {
    withConfig(config) { c in
        guard bytes >= 4096, bytes <= 1 << 30 else { return .einval }
        c.maxFrameSize = bytes
        return .ok
    }
}

@_cdecl("re_config_set_command_timeout_ms")
public func re_config_set_command_timeout_ms(_ config: OpaquePointer?, _ ms: UInt32) -> Int32 {
    withConfig(config) { c in
        guard ms > 0 else { return .einval }
        c.commandTimeoutMs = ms
        return .ok
    }
}

@_cdecl("re_config_set_snapshot_threshold")
public func re_config_set_snapshot_threshold(_ config: OpaquePointer?, _ entries: UInt64) -> Int32 {
    withConfig(config) { c in c.snapshotThreshold = entries; return .ok }
}

@_cdecl("re_config_set_state_machine")
public func re_config_set_state_machine(_ config: OpaquePointer?, _ apply: re_apply_fn?, _ snapshot: re_snapshot_fn?,
                                        _ restore: re_restore_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    withConfig(config) { c in
        guard let apply, let snapshot, let restore else { return .einval }
        c.apply = apply; c.snapshot = snapshot; c.restore = restore; c.machineUser = user
        return .ok
    }
}

@_cdecl("re_config_set_event_callback")
public func re_config_set_event_callback(_ config: OpaquePointer?, _ callback: re_event_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    withConfig(config) { c in
        c.events = callback
        c.eventsUser = user
        return .ok
    }
}
