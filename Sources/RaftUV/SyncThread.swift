#if canImport(Glibc)
import Glibc
#endif

/// A node's sync thread: runs one job at a time (an fdatasync, HostedNode+Sync) off the loop
/// thread, which learns of the end through `UVLoop.post`. Started at the node's first such
/// sync, stopped by the node's shutdown, which waits for a job in flight to end.
final class SyncThread {
    private let lock = Lock()
    private let wake = Semaphore()
    private let exited = Semaphore()
    private var job: (() -> Void)?
    private var stopping = false

    init() {
        // The thread keeps this object until `stop`.
        startThread(name: "raftengine-sync") { [self] in
            while true {
                wake.wait()
                lock.lock()
                let next = job
                job = nil
                let done = stopping
                lock.unlock()
                next?()
                if done { break }
            }
            exited.signal()
        }
    }

    /// Runs `work` on the thread. At most one job at a time: the node waits for the end of
    /// one before it hands over the next.
    func submit(_ work: @escaping () -> Void) {
        lock.lock()
        precondition(job == nil && !stopping, "one sync at a time, none after stop")
        job = work
        lock.unlock()
        wake.signal()
    }

    /// Lets a job in flight finish, then ends the thread and waits for it.
    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        wake.signal()
        exited.wait()
    }
}
