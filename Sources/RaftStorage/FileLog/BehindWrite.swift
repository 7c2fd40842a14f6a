import Glibc
import Synchronization

/// A large flush's direct write (DirectWriter) run on another thread while the owner thread
/// goes on framing the next entries: for big commands the loop otherwise sat in pwrite for
/// ~1.5 ms per MiB with the CPU idle, then framed the next megabyte with the disk idle.
/// `FileLog.writeBehind` hands the job to a thread (RaftUV: the node's sync thread); nil
/// (the default) keeps every write on the owner thread.
///
/// Safety: the segment counts the bytes as written when it hands the job out, so every later
/// step that depends on them landing — an inline fdatasync, a buffered write, a read, a cut,
/// a trim, closing the file — first `run`s the newest job (running it right there if no thread
/// has begun it, else waiting for it); a split sync's `DataSync` does the same before its
/// fdatasync, so no sync ever claims bytes that were not yet written. A job first runs the one
/// handed out before it: the two share the block where one ends and the next begins, and the
/// later one's bytes there must land last. A failed write fails the log as a failed fdatasync
/// does: the owner's next step that settles the job throws, and so does the sync covering it.
///
/// Thread rule: `run` touches only the job's own buffer, the direct descriptor (closed only
/// after the owner has settled every job) and its state under `state`'s lock. Locks are taken
/// newest job first, so two threads running jobs of one chain cannot deadlock.
public final class BehindWrite: @unchecked Sendable {
    /// The bytes of the file the job writes (whole blocks).
    let range: Range<Int>
    private let fd: Int32
    private let fs: FileSystem
    /// Owned until the write has run (then back to `pool`); aligned for O_DIRECT.
    private var buffer: StagingBuffers.Buffer?
    private let pool: StagingBuffers
    /// The job that must land before this one (nil once it has).
    private var previous: BehindWrite?
    /// Taken for the whole run, so a second caller waits for a run on another thread to end.
    private let state = Mutex<Int32?>(nil)
    /// Set once the write has run, so the owner can look without waiting.
    private let finished = Atomic<Bool>(false)

    init(range: Range<Int>, buffer: StagingBuffers.Buffer, pool: StagingBuffers, fd: Int32, fs: FileSystem,
         previous: BehindWrite?) {
        self.range = range
        self.buffer = buffer
        self.pool = pool
        self.fd = fd
        self.fs = fs
        self.previous = previous
    }

    deinit { if let buffer { pool.give(buffer) } }

    /// Any thread, any number of times: writes the bytes once (after the job before it), then
    /// does nothing; waits while another thread runs it.
    public func run() {
        state.withLock { outcome in
            guard outcome == nil else { return }
            var failed: Int32 = 0
            if let p = previous {
                p.run()
                failed = p.outcome ?? 0
                previous = nil
            }
            if failed == 0 { failed = write() }
            if let buffer { pool.give(buffer) }
            buffer = nil
            outcome = failed
            finished.store(true, ordering: .releasing)
        }
    }

    /// Whether it has run (never waits).
    var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Once run: 0, or the errno of its write or of an earlier job's that failed.
    var outcome: Int32? { state.withLock { $0 } }

    private func write() -> Int32 {
        guard let buffer else { return EIO }
        var done = 0
        while done < range.count {
            let n = fs.pwrite(fd, UnsafeRawBufferPointer(start: buffer.base + done, count: range.count - done),
                              offset: range.lowerBound + done)
            if n == -Int(EINTR) { continue }
            if n < 0 { return Int32(-n) }
            if n == 0 { return EIO }
            done += n
        }
        return 0
    }
}

/// Aligned buffers for direct writes run elsewhere, handed back when written and kept for the
/// next ones: a fresh megabyte per write cost page faults to fill and a TLB shootdown to free.
final class StagingBuffers: @unchecked Sendable {
    struct Buffer: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let capacity: Int
    }
    /// Enough for the writes one sync can have out at 64 MiB segments' usual flush sizes.
    static let kept = 4
    private let free = Mutex<[Buffer]>([])

    /// Owner thread: a buffer of at least `count` bytes.
    func take(_ count: Int) -> Buffer {
        if let b = free.withLock({ list in list.firstIndex { $0.capacity >= count }.map { list.remove(at: $0) } }) {
            return b
        }
        // Rounded up, so that flushes a little over the last one's size reuse its buffer.
        let capacity = (count + (64 << 10) - 1) / (64 << 10) * (64 << 10)
        return Buffer(base: .allocate(byteCount: capacity, alignment: DirectWriter.blockSize), capacity: capacity)
    }

    /// Any thread: the write is done with `b`.
    func give(_ b: Buffer) {
        let keep = free.withLock { list in
            guard list.count < Self.kept else { return false }
            list.append(b)
            return true
        }
        if !keep { b.base.deallocate() }
    }

    deinit { free.withLock { list in for b in list { b.base.deallocate() } } }
}
