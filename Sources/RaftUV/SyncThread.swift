#if canImport(Glibc)
import Glibc
#endif

/// A node's sync thread: runs jobs (fdatasyncs, HostedNode+Sync) one after another in the
/// order given, off the loop thread, which learns of each end through `UVLoop.post`. A job
/// handed over while another runs starts the moment that one ends, with no wake-up of the
/// loop in between. Started at the node's first such sync, stopped by the node's shutdown,
/// which waits for a job in flight to end and drops those not started.
final class SyncThread {
    private let lock = Lock()
    private let wake = Semaphore()
    private let exited = Semaphore()
    private var jobs: [() -> Void] = []
    private var stopping = false

    init(name: String = "raftengine-sync") {
        // The thread keeps this object until `stop`.
        startThread(name: name) { [self] in
            while true {
                wake.wait()
                lock.lock()
                if stopping {
                    jobs.removeAll()
                    lock.unlock()
                    break
                }
                let next = jobs.isEmpty ? nil : jobs.removeFirst()
                lock.unlock()
                next?()
            }
            exited.signal()
        }
    }

    /// Runs `work` on the thread after the jobs given before it.
    func submit(_ work: @escaping () -> Void) {
        lock.lock()
        precondition(!stopping, "no sync after stop")
        jobs.append(work)
        lock.unlock()
        wake.signal()
    }

    /// Lets a job in flight finish, drops the rest, ends the thread and waits for it.
    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        wake.signal()
        exited.wait()
    }
}
