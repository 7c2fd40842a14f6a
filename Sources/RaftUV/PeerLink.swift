import CLibUV
import Foundation

/// The outbound connection to one peer: connects (and reconnects with exponential backoff),
/// sends the handshake first, and writes queued frames in one batch per loop turn. Frames
/// queued while disconnected are kept up to a bound; Raft resends whatever is lost.
final class PeerLink {
    let peerID: String
    var address: String
    private let loop: UnsafeMutablePointer<uv_loop_t>
    private let handshake: [UInt8]
    private let maxFrameSize: Int
    private var conn: TCPConnection?
    private var connected = false
    private var connecting = false
    private var pending: [UInt8] = []
    private var retryTimer: UnsafeMutablePointer<uv_timer_t>?
    private var backoffMs: UInt64 = 0
    private(set) var closed = false
    var stats: (TransportStats.Counter) -> Void = { _ in }
    static let maxPendingBytes = 64 << 20

    init(peerID: String, address: String, loop: UnsafeMutablePointer<uv_loop_t>, handshake: [UInt8], maxFrameSize: Int) {
        self.peerID = peerID
        self.address = address
        self.loop = loop
        self.handshake = handshake
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
        }
    }

    private func connectFinished(status: Int32) {
        connecting = false
        guard !closed, let c = conn, !c.isClosed else { return }
        guard status == 0 else {
            stats(.connectFailed)
            c.close()
            return
        }
        connected = true
        backoffMs = 0
        // Reads only detect the peer closing; nothing arrives on an outbound link.
        c.onFrame = { _ in }
        c.startReading()
        var hello: [UInt8] = []
        Frame.append(handshake, to: &hello)
        c.write(hello)
        flush()
    }

    private func lost(_ c: TCPConnection) {
        guard conn === c else { return }
        conn = nil
        connected = false
        connecting = false
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
        conn?.close()
        conn = nil
    }
}

extension TransportStats {
    enum Counter { case received, sent, unknownSender, wrongCluster, malformed, oversized, connectFailed, droppedWhileDisconnected }

    mutating func count(_ c: Counter) {
        switch c {
        case .received: framesReceived += 1
        case .sent: framesSent += 1
        case .unknownSender: unknownSender += 1
        case .wrongCluster: wrongCluster += 1
        case .malformed: malformed += 1
        case .oversized: oversized += 1
        case .connectFailed: connectsFailed += 1
        case .droppedWhileDisconnected: droppedWhileDisconnected += 1
        }
    }
}
