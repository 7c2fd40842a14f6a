import CLibUV
#if canImport(Glibc)
import Glibc
#endif
import RaftCore

/// The node's TCP side: a listener for inbound connections (each starts with a handshake) and
/// one outbound `PeerLink` per peer.
extension HostedNode {
    func listen() throws {
        guard let (h, p) = splitHostPort(config.listenAddress), var addr = socketAddress(host: h, port: p) else {
            throw StartError.invalidAddress(config.listenAddress)
        }
        let server = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop.loop, server)
        server.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        let bound = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_bind(server, $0, 0) }
        }
        let stream = UnsafeMutableRawPointer(server).assumingMemoryBound(to: uv_stream_t.self)
        let rc = bound == 0 ? uv_listen(stream, 128, { server, status in
            guard status == 0, let server, let data = server.pointee.data else { return }
            Unmanaged<HostedNode>.fromOpaque(data).takeUnretainedValue().accept(server)
        }) : bound
        guard rc == 0 else {
            uv_close(UnsafeMutableRawPointer(server).assumingMemoryBound(to: uv_handle_t.self)) { $0?.deallocate() }
            throw StartError.addressInUse("\(config.listenAddress): \(String(cString: uv_strerror(rc)))")
        }
        var name = sockaddr_storage()
        var len = Int32(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &name) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = uv_tcp_getsockname(server, $0, &len) }
        }
        listenPort = withUnsafePointer(to: &name) { p in
            p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        listener = server
    }

    private func accept(_ server: UnsafeMutablePointer<uv_stream_t>) {
        let conn = TCPConnection(loop: loop.loop, maxFrameSize: config.maxFrameSize)
        guard uv_accept(server, conn.stream) == 0 else {
            conn.close()
            return
        }
        inbound[ObjectIdentifier(conn)] = conn
        conn.setPeerTimeouts(userTimeoutMs: peerUserTimeoutMs)
        var peer: NodeID?
        var pending: PendingAuth?
        conn.onClose = { [weak self] c in
            // A caller that hangs up between our challenge and its proof is not counted: a
            // genuine peer does so when its handshake deadline passes on a loaded machine (a
            // valgrind run of test_auth.c once counted one in a correctly secured cluster). A
            // peer that refuses our proof says so with a proof that does not verify (admit).
            self?.inbound[ObjectIdentifier(c)] = nil
        }
        conn.onTooLarge = { [weak self] in self?.count(.oversized) }
        conn.onFrame = { [weak self, unowned conn] frame in
            guard let self else { return }
            guard let from = peer else {
                switch self.admit(frame, pending: &pending, conn: conn) {
                case .admitted(let id): peer = id
                case .waiting: break
                case .refused: conn.close()
                }
                return
            }
            if !self.handleMessageFrame(frame, connectionPeer: from) { conn.close() }
        }
        conn.startReading()
    }

    /// Decodes and delivers one message frame. False when the frame is malformed (the caller
    /// closes the connection).
    @discardableResult
    func handleMessageFrame(_ frame: [UInt8], connectionPeer: NodeID?) -> Bool {
        guard !stopped, let raft else { return true }
        let decoded: Message
        do { decoded = try MessageCodec.decode(frame) } catch {
            count(.malformed)
            return false
        }
        count(.received)
        let m0 = decoded
        if let connectionPeer, m0.from != connectionPeer {
            // Only the id the handshake named may speak on this connection.
            count(.spoofedSender)
            return false
        }
        var m = m0
        if case .membershipChange = m.body, m.to != id {
            // A joiner may address us by address only ("@host:port").
            m.to = id
        }
        guard m.to == id else {
            count(.unknownSender)
            return true
        }
        if case .membershipChange(let mc) = m.body {
            // A joining node is not a member yet: remember where to answer it.
            if !mc.member.address.isEmpty { addressBook[m.from] = mc.member.address }
        } else if !isKnown(m.from) {
            count(.unknownSender)
            return true
        }
        raft.receive(m, now: UVLoop.now)
        dirty = true
        // A commit made outcomes (an acknowledgement reached the leader): hand them over now,
        // not after the turn's other reads, proposals and fsync, so answers leave at once. A
        // follower waits for the turn's end, so its appends share one fsync.
        if raft.hasCompletions || (raft.role == .leader && raft.hasEntriesToApply) { pump() }
        return true
    }

    /// A node with no configuration yet is joining: it hears from whoever leads the cluster
    /// (the handshake already checked the cluster id).
    func isKnown(_ node: NodeID) -> Bool {
        raft.config.members.isEmpty || raft.config.contains(node) || config.peers[node] != nil || addressBook[node] != nil || raft.leaderID == node
    }

    /// The raft address of `node`. A member address may carry more after a comma (the example
    /// node appends its client address); the transport uses the part before it.
    func address(of node: NodeID) -> String? {
        // "@HOST:PORT" names a node by address alone (joining through a leader whose id we do
        // not know yet).
        if node.hasPrefix("@") { return String(node.dropFirst()) }
        let full: String?
        if let a = raft.config.member(node)?.address, !a.isEmpty { full = a } else { full = addressBook[node] ?? config.peers[node] }
        return full.map { String($0.split(separator: ",", maxSplits: 1).first ?? Substring($0)) }
    }

    func send(_ m: Message) {
        let payload = MessageCodec.encode(m)
        if let customSend {
            count(.sent)
            customSend(m.to, payload)
            return
        }
        if let link = links[m.to] {
            link.send(frame: payload)
            return
        }
        guard let addr = address(of: m.to) else {
            count(.droppedWhileDisconnected)
            return
        }
        let auth = config.secrets.map { OutboundAuth(secrets: $0, clusterID: config.clusterID, selfID: id, address: advertisedAddress) }
        let link = PeerLink(peerID: m.to, address: addr, loop: loop.loop,
                            handshake: Handshake(clusterID: config.clusterID, nodeID: id, address: advertisedAddress).encoded,
                            auth: auth, maxFrameSize: config.maxFrameSize, userTimeoutMs: peerUserTimeoutMs)
        link.stats = { [weak self] c in self?.count(c) }
        links[m.to] = link
        link.send(frame: payload)
    }

    /// How long a peer connection may leave data unacknowledged before it is given up: two
    /// election timeouts (at least a second), so a healed link is back within one of them.
    var peerUserTimeoutMs: UInt32 {
        UInt32(max(1000, 2 * raft.settings.electionTimeoutMax / 1_000_000))
    }

    func closeNetwork() {
        for link in links.values { link.close() }
        links.removeAll()
        for conn in inbound.values { conn.close() }
        inbound.removeAll()
        if let server = listener {
            listener = nil
            uv_close(UnsafeMutableRawPointer(server).assumingMemoryBound(to: uv_handle_t.self)) { $0?.deallocate() }
        }
    }
}
