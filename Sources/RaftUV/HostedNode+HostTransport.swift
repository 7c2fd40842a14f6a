import RaftCore

/// What became of a frame handed to `HostedNode.deliver`.
public enum DeliveryOutcome: Equatable, Sendable {
    /// Queued for the loop thread, which decodes it there (a bad frame is counted, never fatal).
    case queued
    /// Larger than the node's maximum frame size: dropped and counted as oversized.
    case tooLarge
    /// The node has stopped.
    case stopped
}

/// The node's side of a host-provided transport: frames it sends go to the host's `customSend`
/// (see `UVHost.startNode`), frames for it come back through `deliver`.
extension HostedNode {
    /// True when the node sends through the host's transport instead of TCP.
    public var usesHostTransport: Bool { customSend != nil }

    /// Feeds a frame that node `sender` sent (any thread). With a sender, a frame whose own
    /// sender field names another node is dropped and counted as spoofed, as the TCP transport
    /// does for a connection speaking for an id its handshake did not name; nil skips that check
    /// (the host vouches for the frame).
    @discardableResult
    public func deliver(frame: [UInt8], from sender: NodeID? = nil) -> DeliveryOutcome {
        guard frame.count <= config.maxFrameSize else {
            count(.oversized)
            return .tooLarge
        }
        if isStopped { return .stopped }
        let posted = loop.post { [self] in
            // The result (false: malformed or spoofed, already counted) only matters to TCP,
            // which closes the connection; a host transport has none.
            _ = handleMessageFrame(frame, connectionPeer: sender)
        }
        return posted ? .queued : .stopped
    }
}
