import CLibUV

/// A repeating timer on a host's loop; `body` runs on the loop thread. Keep the timer while
/// it should run; `cancel()` (or deinit) stops it.
public final class HostTimer {
    private let loop: UVLoop
    private var timer: UnsafeMutablePointer<uv_timer_t>?
    private let body: () -> Void

    public init(host: UVHost, everyMs: UInt64, _ body: @escaping () -> Void) throws {
        loop = host.loop
        self.body = body
        let ok: Bool? = loop.sync { [self] in
            let t = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
            uv_timer_init(loop.loop, t)
            t.pointee.data = Unmanaged.passUnretained(self).toOpaque()
            uv_timer_start(t, { t in
                guard let t, let data = t.pointee.data else { return }
                Unmanaged<HostTimer>.fromOpaque(data).takeUnretainedValue().body()
            }, everyMs, everyMs)
            timer = t
            return true
        }
        guard ok == true else { throw StartError.hostStopped }
    }

    public func cancel() {
        let stop = { [self] in
            guard let t = timer else { return }
            timer = nil
            uv_timer_stop(t)
            t.pointee.data = nil
            uv_close(UnsafeMutableRawPointer(t).assumingMemoryBound(to: uv_handle_t.self)) { h in h?.deallocate() }
        }
        if loop.isLoopThread { stop() } else { _ = loop.sync(stop) }
    }

    deinit { cancel() }
}

extension UVHost {
    /// Runs `body` on the loop thread once per loop turn, after the turn's I/O callbacks and
    /// before the loop waits again. By default it runs after the nodes' pump (the point to
    /// write replies whose commands it completed); with `beforePump` before it (the point to
    /// propose what the turn gathered, so the pump sends it at once). Hooks of one kind run in
    /// the order added. The hook stays until `removeTurnHook(key)`.
    public func addTurnHook(_ key: ObjectIdentifier, beforePump: Bool = false, _ body: @escaping () -> Void) {
        let install = { [self] in loop.setHook(key, order: beforePump ? -1 : 1, body) }
        if loop.isLoopThread { install() } else { _ = loop.sync(install) }
    }

    public func removeTurnHook(_ key: ObjectIdentifier) {
        let remove = { [self] in loop.setHook(key, nil) }
        if loop.isLoopThread { remove() } else { _ = loop.sync(remove) }
    }

    /// Asks for another loop turn without waiting for I/O (a hook that left work behind).
    public func requestAnotherTurn() {
        if loop.isLoopThread { loop.requestAnotherTurn() }
    }
}
