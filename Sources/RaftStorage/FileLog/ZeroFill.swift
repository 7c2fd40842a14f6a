import Glibc
import Synchronization

/// Space ahead of the active segment's records written with zeros and made durable on another
/// thread, for a log whose fdatasyncs are small: `FileLog.beginZeroFill` (owner thread) hands
/// out the job, another thread `run`s it, `FileLog.finishZeroFill` (owner thread) takes it back.
///
/// Why: preallocated space (posix_fallocate) is *unwritten* to ext4 and XFS. The first write
/// into such a block converts it, and the fdatasync after that write must commit the
/// conversion to the file system journal. With small group commits nearly every fdatasync
/// lands in a block not written before, so nearly every one paid a journal commit: 420–450 µs
/// with three logs syncing 4 KiB appends on this machine's disk at once, against 275 µs for
/// the same appends into space already written with zeros. Zeroing a few MiB ahead moves
/// those conversions into one fdatasync per step, off the commit path.
///
/// Safety: the job writes only zeros, and only at `range`, which starts past every byte the
/// segment had when it began; the owner never writes into `range`, cuts or trims the file while
/// the job may still run (it `run`s or waits for it first, or `cancel`s it). The space reads as
/// zeros whether or not the job's writes reach the disk, so a crash at any point leaves what
/// recovery would have seen without it.
///
/// Thread rule: `run` touches only the job's own fields and its own descriptor, a separate open
/// of the file: write-back errors are reported per open file description, so an error its
/// fdatasync takes is still reported to the segment's own fdatasyncs too.
public final class ZeroFill: @unchecked Sendable {
    enum State { case pending, done, cancelled }

    /// Bytes of the segment the job zeroes.
    let range: Range<Int>
    private let fd: Int32
    private let fs: FileSystem
    /// Held while the job runs, so the owner's `run` or `cancel` waits for a run on another
    /// thread to end.
    private let state = Mutex<State>(.pending)
    /// 0, or the errno of the write or fdatasync that failed (set under `state`'s lock).
    private var failedWith: Int32 = 0

    /// Zero pages for the writes; never written to.
    private static let zeros = [UInt8](repeating: 0, count: 1 << 20)

    init(range: Range<Int>, fd: Int32, fs: FileSystem) {
        self.range = range
        self.fd = fd
        self.fs = fs
    }

    /// Any thread; the owner too, when it needs the space: writes the zeros and fdatasyncs
    /// them. Does nothing once run or cancelled; waits while another thread runs it.
    public func run() {
        state.withLock { s in
            guard s == .pending else { return }
            failedWith = fill()
            fs.close(fd)
            s = .done
        }
    }

    /// Owner thread: drops the job unless it ran (waiting for it if it is running).
    func cancel() {
        state.withLock { s in
            guard s == .pending else { return }
            fs.close(fd)
            s = .cancelled
        }
    }

    /// Bytes the job zeroes.
    public var byteCount: Int { range.count }

    /// After `run` or `cancel`: nil when it did not run, else its errno (0 when it succeeded).
    public var outcome: Int32? {
        state.withLock { s in s == .done ? failedWith : nil }
    }

    private func fill() -> Int32 {
        var offset = range.lowerBound
        while offset < range.upperBound {
            let n = Self.zeros.withUnsafeBytes { z in
                fs.pwrite(fd, UnsafeRawBufferPointer(rebasing: z[0..<min(z.count, range.upperBound - offset)]),
                          offset: offset)
            }
            if n == -Int(EINTR) { continue }
            if n < 0 { return Int32(-n) }
            if n == 0 { return EIO }
            offset += n
        }
        var rc = fs.fdatasync(fd)
        while rc == EINTR { rc = fs.fdatasync(fd) }
        return rc
    }
}
