import CRaftEngineABI
import RaftCore
import RaftUV

/// A host's own transport (re_config_set_transport): its send callback and user pointer.
struct HostTransport {
    let send: re_send_fn
    let user: UnsafeMutableRawPointer?

    /// The node's sends as the runtime calls them (loop thread). The id and frame live for the
    /// call only, as the header promises; the host copies.
    var customSend: (NodeID, [UInt8]) -> Void {
        let send = self.send
        let user = self.user
        return { to, frame in
            to.withCString { id in frame.withUnsafeBufferPointer { send(user, id, $0.baseAddress, $0.count) } }
        }
    }
}

@_cdecl("re_config_set_transport")
public func re_config_set_transport(_ config: OpaquePointer?, _ send: re_send_fn?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        guard let send else { throw ConfigRefusal(.einval, "the transport needs a send callback") }
        c.transport = HostTransport(send: send, user: user)
    }
}

@_cdecl("re_node_deliver")
public func re_node_deliver(_ node: OpaquePointer?, _ from: UnsafePointer<CChar>?, _ frame: UnsafePointer<UInt8>?,
                            _ len: Int) -> Int32 {
    guard let node else { return fail(.einval, "node is NULL") }
    guard let sender = nonEmpty(from) else { return fail(.einval, "from_id must be a non-empty string") }
    guard frame != nil || len == 0 else { return fail(.einval, "frame is NULL but its length is \(len)") }
    let n = Unmanaged<NodeBox>.fromOpaque(UnsafeRawPointer(node)).takeUnretainedValue().node
    // A TCP node's frames come through its authenticated connections only.
    guard n.usesHostTransport else { return fail(.estate, "this node uses TCP, not a host transport") }
    let bytes = len > 0 ? Array(UnsafeBufferPointer(start: frame, count: len)) : []
    switch n.deliver(frame: bytes, from: sender) {
    case .queued: return 0
    case .tooLarge: return fail(.etoobig, "a frame of \(len) bytes is above the maximum frame size")
    case .stopped: return fail(.estopped, RaftError.stopped.description)
    }
}
