import CFileFlags
import Glibc

/// Large flushes of the active segment written past the page cache (O_DIRECT), for big
/// commands: a buffered write of megabytes spends most of its time copying them into the page
/// cache (59% of a 64 KiB-command run's samples), and the fdatasync then writes them out
/// again. A direct write hands the bytes to the device from our own aligned buffer; the
/// fdatasync that follows, on any descriptor of the file, still flushes the device's cache
/// and commits what the file system needs, so durability is the same.
///
/// Direct writes must start and end on a block boundary. The write starts at the block that
/// holds the segment's end, so the bytes already written in that block go out again unchanged
/// (as the page-cache writeback of an appended file rewrites its last page), and ends with
/// zeros to the block's end: the file reads as zeros there anyway (allocated ahead), and
/// recovery takes a zero-filled end as unused space.
///
/// Owner thread only, like the segment it belongs to.
final class DirectWriter {
    /// Smaller flushes stay buffered: a direct write holds the calling thread until the device
    /// has the bytes, and at 256 KiB (4 KiB commands, 64 in flight, 3 nodes) it measured no
    /// better than the page cache; from 1 MiB up it measured 1.5–2× the MB/s.
    static let minimumBytes = 1 << 20
    static let blockSize = 4096
    static let openFlag = raftengine_o_direct()
    /// A staging buffer this large or smaller is kept for the next write.
    private static let keptCapacity = 8 << 20

    private let fd: Int32
    private let posix: Posix
    private let path: String
    private var staging: UnsafeMutableRawPointer?
    private var capacity = 0
    /// The bytes of the block holding `tailEnd`, from the block's start up to it, as the last
    /// direct write left them (nil when a buffered write or a cut came since): the next
    /// direct write needs them and the page cache no longer has them.
    private var tail: [UInt8]?
    private var tailEnd = 0

    private init(fd: Int32, posix: Posix, path: String) {
        self.fd = fd
        self.posix = posix
        self.path = path
    }

    /// Nil when the file system refuses O_DIRECT (tmpfs, some overlays).
    static func open(_ path: String, posix: Posix) -> DirectWriter? {
        let fd = posix.fs.open(path, flags: O_WRONLY | openFlag, mode: 0o644)
        return fd >= 0 ? DirectWriter(fd: fd, posix: posix, path: path) : nil
    }

    static func blockStart(_ offset: Int) -> Int { offset / blockSize * blockSize }
    static func blockEnd(_ offset: Int) -> Int { (offset + blockSize - 1) / blockSize * blockSize }

    /// Writes `bytes` at `offset`, the end of what the file holds; `readWritten` reads bytes
    /// already written (through the page cache). False when the file system refused the
    /// write's alignment: then nothing needs undoing (the caller writes the same bytes at the
    /// same offset through the page cache) and this writer should not be used again.
    func write(_ bytes: [UInt8], at offset: Int, readWritten: (Range<Int>) throws -> [UInt8]) throws -> Bool {
        let start = Self.blockStart(offset)
        let padded = Self.blockEnd(offset + bytes.count)
        let buffer = reserve(padded - start)
        try stage(bytes, at: offset, into: buffer, readWritten: readWritten)
        var done = 0
        while done < padded - start {
            let n = posix.fs.pwrite(fd, UnsafeRawBufferPointer(start: buffer + done, count: padded - start - done),
                                    offset: start + done)
            if n == -Int(EINTR) { continue }
            if n == -Int(EINVAL) { tail = nil; return false }
            if n < 0 { tail = nil; throw Posix.failure("pwrite", path, Int32(-n)) }
            done += n
        }
        proven = true
        if capacity > Self.keptCapacity { release() }
        return true
    }

    /// Whether a direct write has succeeded here: only then may one go to another thread,
    /// where a refused alignment could no longer fall back to the page cache.
    private(set) var proven = false
    /// Buffers of the writes run elsewhere.
    private let staged = StagingBuffers()

    /// The same write as a job for another thread (BehindWrite), after `previous` (the job
    /// handed out before it, unless it has run). Only once `proven`.
    func behind(_ bytes: [UInt8], at offset: Int, previous: BehindWrite?,
                readWritten: (Range<Int>) throws -> [UInt8]) throws -> BehindWrite {
        precondition(proven, "a direct write goes to another thread only once one has succeeded here")
        let start = Self.blockStart(offset)
        let padded = Self.blockEnd(offset + bytes.count)
        let buffer = staged.take(padded - start)
        do { try stage(bytes, at: offset, into: buffer.base, readWritten: readWritten) } catch {
            staged.give(buffer)
            throw error
        }
        return BehindWrite(range: start..<padded, buffer: buffer, pool: staged, fd: fd, fs: posix.fs, previous: previous)
    }

    /// Fills `buffer` with the blocks a write of `bytes` at `offset` covers: the bytes already
    /// written in the first block, `bytes`, zeros to the last block's end. Keeps the last
    /// block's bytes as the next write's `tail`.
    private func stage(_ bytes: [UInt8], at offset: Int, into buffer: UnsafeMutableRawPointer,
                       readWritten: (Range<Int>) throws -> [UInt8]) throws {
        let start = Self.blockStart(offset)
        let head = offset - start
        let end = offset + bytes.count
        let padded = Self.blockEnd(end)
        if head > 0 {
            let prefix = tailEnd == offset && tail != nil ? tail! : try readWritten(start..<offset)
            precondition(prefix.count == head, "the block before a direct write is read whole")
            prefix.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: head) }
        }
        bytes.withUnsafeBytes { (buffer + head).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        (buffer + head + bytes.count).initializeMemory(as: UInt8.self, repeating: 0, count: padded - end)
        let lastBlock = Self.blockStart(end)
        tail = Array(UnsafeRawBufferPointer(start: buffer + (lastBlock - start), count: end - lastBlock))
        tailEnd = end
    }

    /// A write or cut not made here changed the file's end.
    func forgetTail() { tail = nil }

    func close() {
        release()
        posix.close(fd)
    }

    private func reserve(_ count: Int) -> UnsafeMutableRawPointer {
        if let staging, capacity >= count { return staging }
        release()
        capacity = max(count, 1 << 20)
        staging = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: Self.blockSize)
        return staging!
    }

    private func release() {
        staging?.deallocate()
        staging = nil
        capacity = 0
    }
}
