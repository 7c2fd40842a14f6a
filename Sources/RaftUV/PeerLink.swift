import CLibUV
#if canImport(Glibc)
import Glibc
#endif
import RaftCore

/// What an outbound link needs to authenticate itself in a secured cluster.
struct OutboundAuth {
    var secrets: ClusterSecrets
    var clusterID: String
    var selfID: NodeID
    var address: String
}

/// The outbound connection to one peer: connects (and reconnects with exponential backoff),
/// sends the handshake first, and writes queued frames in one batch per loop turn. Frames
/// queued while disconnected are kept up to a bound; Raft resends whatever is lost. In a
/// secured cluster nothing but the handshake is written until the peer has proved itself and
/// been sent our proof.
final class PeerLink {
    let peerID: String
    var address: String
    private let loop: UnsafeMutablePointer<uv_loop_t>
    private let handshake: [UInt8]
    private let auth: OutboundAuth?
    /// Our nonce while we wait for the peer's challenge.
    private var clientNonce: [UInt8]?
    private let maxFrameSize: Int
    private var conn: TCPConnection?
    private(set) var connected = false
    private var connecting = false
    private var pending: [UInt8] = []
    private var retryTimer: UnsafeMutablePointer<uv_timer_t>?
    /// Closes a connection that is not usable (connected and, when secured, authenticated)
    /// within `userTimeoutMs`: a SYN or a handshake answer lost in a partition.
    private var connectTimer: UnsafeMutablePointer<uv_timer_t>?
    let userTimeoutMs: UInt32
    private var backoffMs: UInt64 = 0
    private(set) var closed = false
    var stats: (TransportStats.Counter) -> Void = { _ in }
    static let maxPendingBytes = 64 << 20

    init(peerID: String, address: String, loop: UnsafeMutablePointer<uv_loop_t>, handshake: [UInt8],
         auth: OutboundAuth? = nil, maxFrameSize: Int, userTimeoutMs: UInt32 = 2000) {
        self.userTimeoutMs = userTimeoutMs
        self.peerID = peerID
        self.address = address
        self.loop = loop
        self.handshake = handshake
        self.auth = auth
        self.maxFrameSize = maxFrameSize
    }

    func send(frame payload: [UInt8]) {
        guard !closed else { return }
        if pending.count + payload.count > Self.maxPendingBytes {
            pending.removeAll()
            stats(.droppedWhileDisconnected)
        }
        Frame.append(payload, to: &pending)
        stats(.sent)
        if !connected && !connecting && retryTimer == nil { connect() }
    }

    /// Writes everything queued (once per loop turn).
    func flush() {
        guard connected, let c = conn, !pending.isEmpty else { return }
        c.write(pending)
        pending.removeAll(keepingCapacity: true)
    }

    private func connect() {
        guard !closed, let (host, port) = splitHostPort(address), var addr = socketAddress(host: host, port: port) else { return }
        connecting = true
        let c = TCPConnection(loop: loop, maxFrameSize: maxFrameSize)
        conn = c
        c.onClose = { [weak self] closedConn in self?.lost(closedConn) }
        let req = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        req.pointee.data = Unmanaged.passRetained(self).toOpaque()
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                uv_tcp_connect(req, c.handle, sa) { req, status in
                    guard let req else { return }
                    let me = Unmanaged<PeerLink>.fromOpaque(req.pointee.data!).takeRetainedValue()
                    req.deallocate()
                    me.connectFinished(status: status)
                }
            }
        }
        if rc != 0 {
            Unmanaged<PeerLink>.fromOpaque(req.pointee.data!).release()
            req.deallocate()
            connecting = false
            c.close()
            return
        }
        c.setPeerTimeouts(userTimeoutMs: userTimeoutMs)
        startConnectTimer()
    }

    private func startConnectTimer() {
        if connectTimer == nil {
            let t = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
            uv_timer_init(loop, t)
            t.pointee.data = Unmanaged.passUnretained(self).toOpaque()
            connectTimer = t
        }
        uv_timer_start(connectTimer, { t in
            guard let t, let data = t.pointee.data else { return }
            let me = Unmanaged<PeerLink>.fromOpaque(data).takeUnretainedValue()
            if !me.connected, let c = me.conn { c.close() }
        }, UInt64(userTimeoutMs), 0)
    }

    private func stopConnectTimer() {
        if let t = connectTimer { uv_timer_stop(t) }
    }

    private func connectFinished(status: Int32) {
        connecting = false
        guard !closed, let c = conn, !c.isClosed else { return }
        guard status == 0 else {
            stats(.connectFailed)
            c.close()
            return
        }
        if let auth {
            // Stay "connecting" until the peer has answered our challenge.
            connecting = true
            let nonce = PeerAuth.nonce()
            clientNonce = nonce
            c.onFrame = { [weak self] frame in self?.challengeReceived(frame, auth: auth) }
            c.startReading()
            var hello: [UInt8] = []
            Frame.append(AuthFrame.hello(clusterID: auth.clusterID, nodeID: auth.selfID, address: auth.address, nonce: nonce).encoded,
                         to: &hello)
            c.write(hello)
            return
        }
        connected = true
        stopConnectTimer()
        backoffMs = 0
        // Reads only detect the peer closing; nothing arrives on an outbound link.
        c.onFrame = { _ in }
        c.startReading()
        var hello: [UInt8] = []
        Frame.append(handshake, to: &hello)
        c.write(hello)
        flush()
    }

    /// The peer's answer to our hello: its id, nonce and proof. A peer that cannot prove it
    /// knows the secret, or is not the node we meant to reach, is hung up on (and retried).
    private func challengeReceived(_ frame: [UInt8], auth: OutboundAuth) {
        guard let c = conn, let nonce = clientNonce else { return }
        guard case .challenge(let serverID, let serverNonce, let proof)? = try? AuthFrame(decoding: frame),
              serverNonce.count == PeerAuth.nonceSize,
              peerID.hasPrefix("@") || serverID == peerID,
              PeerAuth.verify(proof, .server, secrets: auth.secrets, clusterID: auth.clusterID, clientID: auth.selfID,
                              serverID: serverID, clientNonce: nonce, serverNonce: serverNonce) else {
            stats(.authFailed)
            // Say so before hanging up (an empty proof, which never verifies): the server then
            // counts the refusal, and counts nothing for a peer that merely hangs up mid-way.
            var out: [UInt8] = []
            Frame.append(AuthFrame.proof([]).encoded, to: &out)
            c.write(out)
            c.closeAfterWrites()
            return
        }
        clientNonce = nil
        let mine = PeerAuth.proof(.client, secret: auth.secrets.current, clusterID: auth.clusterID, clientID: auth.selfID,
                                  serverID: serverID, clientNonce: nonce, serverNonce: serverNonce)
        var out: [UInt8] = []
        Frame.append(AuthFrame.proof(mine).encoded, to: &out)
        c.write(out)
        // Nothing more is read on an outbound link.
        c.onFrame = { _ in }
        connecting = false
        connected = true
        stopConnectTimer()
        backoffMs = 0
        flush()
    }

    private func lost(_ c: TCPConnection) {
        guard conn === c else { return }
        conn = nil
        connected = false
        connecting = false
        clientNonce = nil
        guard !closed else { return }
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        backoffMs = backoffMs == 0 ? 20 : min(backoffMs * 2, 1000)
        let t = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
        uv_timer_init(loop, t)
        t.pointee.data = Unmanaged.passRetained(self).toOpaque()
        retryTimer = t
        uv_timer_start(t, { t in
            guard let t else { return }
            let me = Unmanaged<PeerLink>.fromOpaque(t.pointee.data!).takeRetainedValue()
            me.retryTimer = nil
            PeerLink.closeTimer(t)
            if !me.closed && !me.pending.isEmpty { me.connect() }
        }, backoffMs, 0)
    }

    private static func closeTimer(_ t: UnsafeMutablePointer<uv_timer_t>) {
        uv_close(UnsafeMutableRawPointer(t).assumingMemoryBound(to: uv_handle_t.self)) { h in h?.deallocate() }
    }

    func close() {
        guard !closed else { return }
        closed = true
        pending.removeAll()
        if let t = retryTimer {
            retryTimer = nil
            uv_timer_stop(t)
            Unmanaged<PeerLink>.fromOpaque(t.pointee.data!).release()
            PeerLink.closeTimer(t)
        }
        if let t = connectTimer {
            connectTimer = nil
            uv_timer_stop(t)
            PeerLink.closeTimer(t)
        }
        conn?.close()
        conn = nil
    }
}

extension TransportStats {
    enum Counter { case received, sent, unknownSender, spoofedSender, authFailed, wrongCluster, malformed, oversized, connectFailed, droppedWhileDisconnected }

    mutating func count(_ c: Counter) {
        switch c {
        case .received: framesReceived += 1
        case .sent: framesSent += 1
        case .unknownSender: unknownSender += 1
        case .spoofedSender: spoofedSender += 1
        case .authFailed: authFailed += 1
        case .wrongCluster: wrongCluster += 1
        case .malformed: malformed += 1
        case .oversized: oversized += 1
        case .connectFailed: connectsFailed += 1
        case .droppedWhileDisconnected: droppedWhileDisconnected += 1
        }
    }
}
