import RaftCore

/// What a config's host transport and host storage change in re_node_start: what goes to
/// `UVHost.startNode` instead of TCP and FileLog, which settings are then not needed, and which
/// do not go with them.
struct HostIO {
    /// The node's sends, for the runtime; nil: TCP.
    var send: ((NodeID, [UInt8]) -> Void)?
    /// Makes the node's log, for the runtime; nil: FileLog in the data dir.
    var log: (() throws -> RaftLog)?
    /// Why the config cannot start as it is, if it cannot.
    var conflict: String?

    init(_ c: NodeConfigBox) {
        log = c.storage?.makeLog
        if let t = c.transport {
            send = t.customSend
            // Both belong to the TCP transport's handshake and dialling.
            if c.secret != nil || !c.acceptedSecrets.isEmpty {
                conflict = "a cluster secret authenticates the TCP transport; a host transport authenticates its peers itself"
            } else if !c.join.isEmpty {
                conflict = "join addresses are dialled over TCP; with a host transport, join with re_node_join (the leader by id)"
            }
        }
    }

    /// A host transport binds nothing, so the listen address is optional.
    var needsNoListenAddress: Bool { send != nil }
    /// Host storage replaces the data dir.
    var needsNoDataDir: Bool { log != nil }
}
