import Glibc
import Synchronization

/// A loopback TCP proxy for fault tests: it listens on a port of its own and forwards every
/// connection to 127.0.0.1:`targetPort`, both ways, doing to the traffic what `mode` says.
/// The mode can change at any time and applies to open connections too. One thread polls
/// every socket; `stop()` (or deinit) ends it and closes every socket.
///
/// The proxy writes with MSG_NOSIGNAL, so it never raises SIGPIPE in the process under test:
/// a test of the library's own SIGPIPE handling must see only the library's writes.
public final class FaultProxy: Sendable {
    /// What happens to the bytes. New faults (one-way delivery, delays) belong here.
    public enum Mode: Equatable, Sendable {
        /// Bytes pass both ways.
        case forward
        /// Each connection forwards for `after` (from its accept, or from the switch to this
        /// mode for one already open), then both of its sides are reset mid-stream: a FIN,
        /// then SO_LINGER {1, 0} and close, so each peer gets an RST right behind the FIN.
        /// The time, not the traffic, ends a connection, so the RST lands at any point of the
        /// peers' work, as a partition's would.
        case reset(after: Duration)
        /// Connections are accepted and stay open, but nothing is read or forwarded either
        /// way (the senders' kernel buffers fill, as on a partitioned network). Switching
        /// back to `forward` delivers what was held, in order.
        case blackhole
    }

    public struct Counts: Equatable, Sendable {
        /// Client connections accepted.
        public var accepted = 0
        /// Connection pairs reset by `reset` mode.
        public var resets = 0
    }

    /// The port to connect to instead of the target's.
    public let port: UInt16
    public let targetPort: UInt16
    private let engine: ProxyEngine
    private let thread: Mutex<pthread_t?>

    /// Listens on 127.0.0.1:`port` (0: any free port, see `port`).
    public init(port listenPort: UInt16 = 0, targetPort: UInt16, mode: Mode = .forward) throws(ProxyError) {
        self.targetPort = targetPort
        let listener = try ProxySocket.listenLoopback(port: listenPort)
        var wake: [Int32] = [-1, -1]
        guard pipe(&wake) == 0 else {
            let e = errno
            close(listener.fd)
            throw ProxyError.system("pipe", e)
        }
        ProxySocket.makeNonBlocking(wake[0])
        ProxySocket.makeNonBlocking(wake[1])
        port = listener.port
        engine = ProxyEngine(listener: listener.fd, wake: (wake[0], wake[1]), targetPort: targetPort, mode: mode)
        var tid = pthread_t()
        let context = Unmanaged.passRetained(engine).toOpaque()
        let rc = pthread_create(&tid, nil, { arg in
            let engine = Unmanaged<ProxyEngine>.fromOpaque(arg!).takeRetainedValue()
            engine.run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<ProxyEngine>.fromOpaque(context).release()
            engine.closeAll()
            throw ProxyError.system("pthread_create", rc)
        }
        thread = Mutex(tid)
    }

    public var mode: Mode {
        get { engine.shared.withLock { $0.mode } }
        set {
            engine.shared.withLock {
                $0.mode = newValue
                $0.generation &+= 1
            }
            engine.wake()
        }
    }

    public var counts: Counts { engine.shared.withLock { $0.counts } }

    /// Closes every connection and the listener and ends the thread. Idempotent.
    public func stop() {
        guard let tid = thread.withLock({ t -> pthread_t? in defer { t = nil }; return t }) else { return }
        engine.shared.withLock { $0.stopping = true }
        engine.wake()
        pthread_join(tid, nil)
    }

    deinit { stop() }
}

public enum ProxyError: Error, Equatable {
    case system(String, Int32)
}

/// State shared between the proxy's owner and its thread.
struct ProxyShared {
    var mode: FaultProxy.Mode
    var generation: UInt64 = 0
    var counts = FaultProxy.Counts()
    var stopping = false
}

/// One proxied connection: the accepted client side, the side connected to the target, and
/// bytes read from one side that the other has not taken yet.
final class ProxyPair {
    let client: Int32
    let upstream: Int32
    var toUpstream: [UInt8] = []
    var toClient: [UInt8] = []
    /// When `reset` mode ends this pair (monotonic nanoseconds).
    var deadline: UInt64 = 0
    var done = false

    init(client: Int32, upstream: Int32) {
        self.client = client
        self.upstream = upstream
    }
}

/// The proxy thread's side: everything but `shared` is touched by that thread only (and by
/// `closeAll` once it has ended).
final class ProxyEngine: @unchecked Sendable {
    let shared: Mutex<ProxyShared>
    private let listener: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let targetPort: UInt16
    private var pairs: [ProxyPair] = []
    private var seenGeneration: UInt64 = .max

    init(listener: Int32, wake: (Int32, Int32), targetPort: UInt16, mode: FaultProxy.Mode) {
        self.listener = listener
        wakeRead = wake.0
        wakeWrite = wake.1
        self.targetPort = targetPort
        shared = Mutex(ProxyShared(mode: mode))
    }

    /// From any thread. A full pipe already holds a wake-up, so a failed write loses nothing;
    /// the read end stays open until the thread has ended, so this cannot raise SIGPIPE.
    func wake() {
        var b: UInt8 = 1
        _ = write(wakeWrite, &b, 1)
    }

    func run() {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while let before = currentMode() {
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            let moving = before != .blackhole
            for p in pairs {
                fds.append(pollfd(fd: p.client, events: events(read: moving && p.toUpstream.isEmpty, write: moving && !p.toClient.isEmpty), revents: 0))
                fds.append(pollfd(fd: p.upstream, events: events(read: moving && p.toClient.isEmpty, write: moving && !p.toUpstream.isEmpty), revents: 0))
            }
            guard poll(&fds, nfds_t(fds.count), timeoutMs(before)) >= 0 || errno == EINTR else { break }
            if fds[0].revents != 0 { drainWake() }
            // Read again: bytes sent after a mode change returned must see the new mode.
            guard let mode = currentMode() else { break }
            for (i, p) in pairs.enumerated() where !p.done {
                let c = fds[2 + 2 * i].revents, u = fds[3 + 2 * i].revents
                if c != 0 { service(p, from: p.client, to: p.upstream, into: \.toUpstream, out: \.toClient, revents: c, mode: mode, buffer: &buffer) }
                if u != 0 && !p.done { service(p, from: p.upstream, to: p.client, into: \.toClient, out: \.toUpstream, revents: u, mode: mode, buffer: &buffer) }
            }
            if case .reset = mode {
                let now = monotonicNanos()
                for p in pairs where !p.done && p.deadline <= now { reset(p) }
            }
            pairs.removeAll { $0.done }
            if fds[1].revents & Int16(POLLIN) != 0 { accept(mode: mode) }
        }
        closeAll()
    }

    /// The mode now (nil once stopping). A switch to `reset` starts every open pair's clock.
    private func currentMode() -> FaultProxy.Mode? {
        let (mode, generation, stopping) = shared.withLock { ($0.mode, $0.generation, $0.stopping) }
        if stopping { return nil }
        if generation != seenGeneration {
            seenGeneration = generation
            if case .reset(let after) = mode { for p in pairs { p.deadline = monotonicNanos() + nanos(after) } }
        }
        return mode
    }

    /// Until the next `reset` deadline; forever in other modes.
    private func timeoutMs(_ mode: FaultProxy.Mode) -> Int32 {
        guard case .reset = mode, let next = pairs.map(\.deadline).min() else { return -1 }
        let now = monotonicNanos()
        return next <= now ? 0 : Int32((next - now + 999_999) / 1_000_000)
    }

    private func events(read: Bool, write: Bool) -> Int16 {
        Int16((read ? POLLIN : 0) | (write ? POLLOUT : 0))
    }

    private func drainWake() {
        var b = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &b, b.count) > 0 {}
    }

    private func accept(mode: FaultProxy.Mode) {
        let client = Glibc.accept(listener, nil, nil)
        guard client >= 0 else { return }
        ProxySocket.makeNonBlocking(client)
        var one: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        shared.withLock { $0.counts.accepted += 1 }
        guard let upstream = ProxySocket.connectLoopback(port: targetPort) else {
            // The target is down: the client sees what a refused connection looks like.
            ProxySocket.abort(client)
            return
        }
        let p = ProxyPair(client: client, upstream: upstream)
        if case .reset(let after) = mode { p.deadline = monotonicNanos() + nanos(after) }
        pairs.append(p)
    }

    /// Moves bytes readable on `from` into the pair's buffer for the other side and writes
    /// what `from` is owed (`out`).
    private func service(_ p: ProxyPair, from: Int32, to: Int32, into: ReferenceWritableKeyPath<ProxyPair, [UInt8]>,
                         out: ReferenceWritableKeyPath<ProxyPair, [UInt8]>, revents: Int16, mode: FaultProxy.Mode,
                         buffer: inout [UInt8]) {
        if revents & Int16(POLLOUT) != 0, !p[keyPath: out].isEmpty, mode != .blackhole {
            let n = p[keyPath: out].withUnsafeBytes { send(from, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { p[keyPath: out].removeFirst(n) } else if n < 0 && errno != EAGAIN && errno != EINTR { finish(p); return }
        }
        guard revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { return }
        guard p[keyPath: into].isEmpty, mode != .blackhole else {
            // Not reading now; a side that hung up or failed would be reported again at once.
            if revents & Int16(POLLHUP | POLLERR) != 0 { finish(p) }
            return
        }
        let n = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) {
            // One side ended or failed: end the other one too (normally, not with a reset).
            finish(p)
            return
        }
        guard n > 0 else { return }
        p[keyPath: into].append(contentsOf: buffer[0..<n])
        // Most writes complete at once; what is left waits for POLLOUT.
        let sent = p[keyPath: into].withUnsafeBytes { send(to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent > 0 { p[keyPath: into].removeFirst(sent) } else if sent < 0 && errno != EAGAIN && errno != EINTR { finish(p) }
    }

    private func finish(_ p: ProxyPair) {
        guard !p.done else { return }
        p.done = true
        close(p.client)
        close(p.upstream)
    }

    private func reset(_ p: ProxyPair) {
        guard !p.done else { return }
        p.done = true
        ProxySocket.abort(p.client)
        ProxySocket.abort(p.upstream)
        shared.withLock { $0.counts.resets += 1 }
    }

    /// The thread has ended (or never started): close everything it owned.
    func closeAll() {
        for p in pairs { finish(p) }
        pairs.removeAll()
        close(listener)
        close(wakeRead)
        close(wakeWrite)
    }
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func nanos(_ d: Duration) -> UInt64 {
    let c = d.components
    return UInt64(max(0, c.seconds)) * 1_000_000_000 + UInt64(max(0, c.attoseconds / 1_000_000_000))
}

/// The few socket calls the proxy makes, on Glibc alone.
enum ProxySocket {
    static func listenLoopback(port: UInt16) throws(ProxyError) -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProxyError.system("socket", errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = loopback(port: port)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
                guard bind(fd, sa, len) == 0, listen(fd, 128) == 0 else { return -1 }
                return getsockname(fd, sa, &len)
            }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw ProxyError.system("bind/listen", e)
        }
        return (fd, UInt16(bigEndian: addr.sin_port))
    }

    /// A non-blocking socket connected to 127.0.0.1:`port`. The connect itself blocks: on
    /// loopback it completes or is refused at once.
    static func connectLoopback(port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = loopback(port: port)
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            return nil
        }
        makeNonBlocking(fd)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    /// Non-blocking and close-on-exec (Glibc's Swift module has no accept4 or pipe2).
    static func makeNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    /// Sends a FIN, then closes with an RST. The FIN first matters: the RST then finds the
    /// peer's socket in CLOSE_WAIT, and Linux fails the peer's next write with EPIPE (and
    /// SIGPIPE); after an RST alone the first write fails with ECONNRESET and only a second
    /// one raises SIGPIPE. It is also what a peer that closed and refuses further data does.
    static func abort(_ fd: Int32) {
        shutdown(fd, Int32(SHUT_WR))
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        return addr
    }
}
