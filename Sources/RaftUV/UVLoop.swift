import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// One libuv loop on a thread of its own. Other threads hand it work with `post`, which wakes
/// the loop through a uv_async handle; turn hooks (`setHook`) run once per loop turn, just before
/// the loop waits for I/O (the runtime's group commit point).
final class UVLoop {
    let loop: UnsafeMutablePointer<uv_loop_t>
    private let wakeup: UnsafeMutablePointer<uv_async_t>
    private let prepare: UnsafeMutablePointer<uv_prepare_t>
    /// Active only when a hook left work for the next turn: an active idle handle makes the
    /// loop poll without blocking.
    private let idle: UnsafeMutablePointer<uv_idle_t>
    private let lock = Lock()
    private var queue: [() -> Void] = []
    private var threadID: pthread_t?
    private let started = Semaphore()
    private let finished = Semaphore()
    private var closing = false
    /// Run every loop turn before polling, by `order` and then in the order installed: the
    /// host's pump is order 0, so a hook that proposes runs before it (negative) and one that
    /// writes what the pump completed runs after it (positive). A dictionary here once ran them
    /// in a per-process random order, leaving some turns' replies for the next wake-up.
    /// Loop thread only: change it from `post`/`sync`.
    private var hooks: [(key: ObjectIdentifier, order: Int, body: () -> Void)] = []

    /// Installs (or, with nil, removes) the turn hook for `key`. Loop thread only.
    func setHook(_ key: ObjectIdentifier, order: Int = 0, _ body: (() -> Void)?) {
        assertOnLoopThread()
        hooks.removeAll { $0.key == key }
        guard let body else { return }
        let at = hooks.firstIndex { $0.order > order } ?? hooks.count
        hooks.insert((key, order, body), at: at)
    }

    init() throws {
        loop = .allocate(capacity: 1)
        wakeup = .allocate(capacity: 1)
        prepare = .allocate(capacity: 1)
        idle = .allocate(capacity: 1)
        let rc = uv_loop_init(loop)
        guard rc == 0 else {
            loop.deallocate(); wakeup.deallocate(); prepare.deallocate(); idle.deallocate()
            throw RuntimeError.libuv("uv_loop_init", rc)
        }
        loop.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv_async_init(loop, wakeup) { handle in
            guard let h = handle, let me = UVLoop.from(h.pointee.loop) else { return }
            me.drainQueue()
        }
        uv_idle_init(loop, idle)
        uv_prepare_init(loop, prepare)
        uv_prepare_start(prepare) { handle in
            guard let h = handle, let me = UVLoop.from(h.pointee.loop) else { return }
            uv_idle_stop(me.idle)
            for hook in me.hooks { hook.body() }
        }
        startThread(name: "raftengine-loop") { [unowned self] in
            UVLoop.blockSIGPIPE()
            self.threadID = pthread_self()
            self.started.signal()
            uv_run(self.loop, UV_RUN_DEFAULT)
            self.finished.signal()
        }
        started.wait()
    }

    /// Every socket write of the library happens on a loop thread (libuv's writev, which has
    /// no MSG_NOSIGNAL). A write to a peer that reset the connection raises SIGPIPE, whose
    /// default action kills the whole process; blocked here, the write fails with EPIPE and
    /// the connection closes and reconnects. Only this thread's mask changes: the host's
    /// process-wide disposition is its own. A SIGPIPE raised while blocked stays pending on
    /// this thread (one at most: standard signals do not queue) and goes away with it; that
    /// is harmless because the thread never unblocks it (nor waits in a way it would wake).
    private static func blockSIGPIPE() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    static func from(_ loop: UnsafeMutablePointer<uv_loop_t>?) -> UVLoop? {
        guard let data = loop?.pointee.data else { return nil }
        return Unmanaged<UVLoop>.fromOpaque(data).takeUnretainedValue()
    }

    var isLoopThread: Bool {
        guard let id = threadID else { return false }
        return pthread_equal(pthread_self(), id) != 0
    }

    /// The loop-thread rule every type here documents, checked: a debug build stops at once
    /// when a loop-only function runs on another thread (where it would race the loop). An
    /// `assert`, so release builds compile it away, the test of the thread included.
    @inline(__always)
    func assertOnLoopThread(_ function: StaticString = #function, file: StaticString = #fileID, line: UInt = #line) {
        assert(isLoopThread, "\(function) runs on the loop thread only", file: file, line: line)
    }

    /// Makes the coming poll return at once, so the `beforePoll` hooks run again next turn
    /// after reading whatever I/O is ready. Loop thread only.
    func requestAnotherTurn() {
        assertOnLoopThread()
        uv_idle_start(idle) { _ in }
    }

    /// Runs `work` on the loop thread (soon; in order). Returns false once the loop is closing.
    @discardableResult
    func post(_ work: @escaping () -> Void) -> Bool {
        lock.lock()
        guard !closing else { lock.unlock(); return false }
        queue.append(work)
        lock.unlock()
        uv_async_send(wakeup)
        return true
    }

    /// Runs `work` on the loop thread and waits for its result. Never call on the loop thread.
    func sync<T>(_ work: @escaping () -> T) -> T? {
        if isLoopThread { return work() }
        let done = Semaphore()
        var result: T?
        guard post({ result = work(); done.signal() }) else { return nil }
        done.wait()
        return result
    }

    private func drainQueue() {
        lock.lock()
        let work = queue
        queue.removeAll()
        lock.unlock()
        for w in work { w() }
    }

    /// Closes the loop's own handles once every other handle is closed, then ends the thread.
    /// Call from any thread but the loop's; `closeAll` runs on the loop first.
    func shutdown(closeAll: @escaping () -> Void) {
        let posted = post { [unowned self] in
            closeAll()
            self.lock.lock()
            self.closing = true
            let rest = self.queue
            self.queue.removeAll()
            self.lock.unlock()
            for w in rest { w() }
            self.hooks.removeAll()
            uv_close(UnsafeMutableRawPointer(self.wakeup).assumingMemoryBound(to: uv_handle_t.self), nil)
            uv_prepare_stop(self.prepare)
            uv_close(UnsafeMutableRawPointer(self.prepare).assumingMemoryBound(to: uv_handle_t.self), nil)
            uv_idle_stop(self.idle)
            uv_close(UnsafeMutableRawPointer(self.idle).assumingMemoryBound(to: uv_handle_t.self), nil)
        }
        if posted { finished.wait() }
        uv_loop_close(loop)
        loop.deallocate()
        wakeup.deallocate()
        prepare.deallocate()
        idle.deallocate()
    }

    /// Monotonic time in nanoseconds (the core's clock).
    static var now: UInt64 { uv_hrtime() }
}

/// A libuv call that failed where no `StartError` applies (creating a loop). Starting a node
/// reports its own failures as `StartError`.
public enum RuntimeError: Error, Equatable, CustomStringConvertible {
    case libuv(String, Int32)

    public var description: String {
        switch self {
        case .libuv(let call, let rc): return "\(call) failed: \(String(cString: uv_strerror(rc)))"
        }
    }
}
