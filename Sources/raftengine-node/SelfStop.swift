#if canImport(Glibc)
import Glibc
#endif
import RaftCore
import RaftKV
import RaftUV

/// The reason the node stopped itself, handed from the loop thread to the main thread (which
/// waits in sigwait and is woken with SIGUSR1).
final class SelfStop: @unchecked Sendable {
    private let lock = NodeLock()
    private var stored: StopReason?

    func record(_ r: StopReason) {
        lock.lock()
        let first = stored == nil
        if first { stored = r }
        lock.unlock()
        if first { kill(getpid(), SIGUSR1) }
    }

    var reason: StopReason? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

extension RESPSession {
    /// Keeps the session alive as long as its stream's callbacks reference it.
    func retained(by stream: ClientStream) -> RESPSession {
        let keep = self
        stream.onClose = { _ = keep }
        return self
    }
}

/// A mutex for the node's own threads (the runtime's lock is internal to RaftUV).
final class NodeLock {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func lock() { pthread_mutex_lock(&mutex) }
    func unlock() { pthread_mutex_unlock(&mutex) }
}
