import Glibc
import Testing
@testable import RaftCore
@testable import RaftStorage

/// Large flushes written with O_DIRECT (DirectWriter): the same bytes as a buffered write
/// would leave, read back while the log is open and after reopening, mixed with small
/// buffered flushes, cuts and segment rolls; and the buffered path when the file system
/// refuses O_DIRECT at open or at the write.
@Suite struct FileLogDirectWriteTests {
    /// One entry per read from the cache, so reads go to the files.
    static func options(preallocate: Bool = true) -> FileLog.Options {
        FileLog.Options(segmentSize: 16 << 20, maxRecordSize: 2 << 20, cacheEntries: 1, preallocate: preallocate)
    }

    /// Appends the sizes in `batches` (each inner array one append and one sync) after `last`.
    @discardableResult
    static func appendBatches(_ log: FileLog, _ batches: [[Int]], after last: LogIndex, term: Term = 1) throws -> [Entry] {
        var next = last + 1
        var all: [Entry] = []
        for sizes in batches {
            let batch = sizes.map { size -> Entry in
                defer { next += 1 }
                return entry(next, term: term, size: size)
            }
            try log.append(batch)
            try log.sync()
            all += batch
        }
        return all
    }

    // Small and large batches in turn, so direct writes start mid-block after buffered ones,
    // follow each other (the kept last block), and end unaligned.
    static let mixed: [[Int]] = [[100], [700_000, 700_001, 3], [5], [1_048_600], [524_288, 524_288, 1], [900_000, 900_000], [77], [1]]

    @Test(arguments: [true, false])
    func largeFlushesReadBackOpenAndAfterReopening(preallocate: Bool) throws {
        let dir = TemporaryDirectory()
        var log: FileLog? = try FileLog(directory: dir.path, options: Self.options(preallocate: preallocate))
        let written = try Self.appendBatches(log!, Self.mixed, after: 0)
        // ext4 and xfs take O_DIRECT; a run on tmpfs would use the buffered path throughout.
        #expect(log!.directWriteCount >= 3)
        #expect(try log!.entries(from: 1, through: written.last!.index, maxBytes: .max) == written)
        log!.close()
        log = nil

        let reopened = try FileLog(directory: dir.path, options: Self.options(preallocate: preallocate))
        #expect(reopened.lastIndex == written.last!.index)
        #expect(try reopened.entries(from: 1, through: reopened.lastIndex, maxBytes: .max) == written)
        // Appends go on after the reopened end, direct and buffered.
        let more = try Self.appendBatches(reopened, [[9], [600_000, 600_000], [10]], after: reopened.lastIndex)
        #expect(try reopened.entries(from: 1, through: reopened.lastIndex, maxBytes: .max) == written + more)
    }

    @Test func aCutInsideTheLastDirectBlockIsNotUndoneByTheNextDirectWrite() throws {
        let dir = TemporaryDirectory()
        let log = try FileLog(directory: dir.path, options: Self.options())
        let first = try Self.appendBatches(log, [[10], [1_100_000, 50, 60, 70]], after: 0)
        let directBefore = log.directWriteCount
        // A follower's conflicting suffix: the last two entries go, term 2 replaces them.
        try log.truncate(from: 4)
        let replaced = try Self.appendBatches(log, [[1_100_000, 33]], after: 3, term: 2)
        #expect(log.directWriteCount == directBefore + 1)
        let expected = Array(first.prefix(3)) + replaced
        #expect(try log.entries(from: 1, through: log.lastIndex, maxBytes: .max) == expected)
        log.close()
        let reopened = try FileLog(directory: dir.path, options: Self.options())
        #expect(try reopened.entries(from: 1, through: reopened.lastIndex, maxBytes: .max) == expected)
    }

    @Test(arguments: [RefusingDirectIO.Refusal.atOpen, .atWrite])
    func aFileSystemThatRefusesDirectIOGetsBufferedWrites(refusal: RefusingDirectIO.Refusal) throws {
        let dir = TemporaryDirectory()
        let fs = RefusingDirectIO(refusal)
        let log = try FileLog(directory: dir.path, options: Self.options(), fileSystem: fs)
        let written = try Self.appendBatches(log, Self.mixed, after: 0)
        #expect(log.directWriteCount == 0)
        // Asked once, then never again for this segment.
        #expect(fs.directAttempts == 1)
        #expect(try log.entries(from: 1, through: written.last!.index, maxBytes: .max) == written)
        log.close()
        let reopened = try FileLog(directory: dir.path, options: Self.options())
        #expect(try reopened.entries(from: 1, through: reopened.lastIndex, maxBytes: .max) == written)
    }
}

/// The system's calls, but O_DIRECT is refused: at open (as tmpfs does) or at the first write
/// through such a descriptor (an alignment the device does not take), with EINVAL.
final class RefusingDirectIO: FileSystem {
    enum Refusal: Sendable { case atOpen, atWrite }
    let refusal: Refusal
    private let system = SystemFileSystem.shared
    private var directDescriptors: Set<Int32> = []
    private(set) var directAttempts = 0

    init(_ refusal: Refusal) { self.refusal = refusal }

    func open(_ path: String, flags: Int32, mode: mode_t) -> Int32 {
        guard flags & DirectWriter.openFlag != 0 else { return system.open(path, flags: flags, mode: mode) }
        if refusal == .atOpen { directAttempts += 1; return -EINVAL }
        let fd = system.open(path, flags: flags, mode: mode)
        if fd >= 0 { directDescriptors.insert(fd) }
        return fd
    }
    func close(_ fd: Int32) { directDescriptors.remove(fd); system.close(fd) }
    func dup(_ fd: Int32) -> Int32 { system.dup(fd) }
    func pwrite(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, offset: Int) -> Int {
        if directDescriptors.contains(fd) { directAttempts += 1; return -Int(EINVAL) }
        return system.pwrite(fd, buffer, offset: offset)
    }
    func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int) -> Int { system.pread(fd, buffer, offset: offset) }
    func size(_ fd: Int32) -> Int { system.size(fd) }
    func size(ofFile path: String) -> Int { system.size(ofFile: path) }
    func fsync(_ fd: Int32) -> Int32 { system.fsync(fd) }
    func fdatasync(_ fd: Int32) -> Int32 { system.fdatasync(fd) }
    func fallocate(_ fd: Int32, offset: Int, length: Int) -> Int32 { system.fallocate(fd, offset: offset, length: length) }
    func ftruncate(_ fd: Int32, size: Int) -> Int32 { system.ftruncate(fd, size: size) }
    func rename(_ from: String, _ to: String) -> Int32 { system.rename(from, to) }
    func unlink(_ path: String) -> Int32 { system.unlink(path) }
    func mkdir(_ path: String, mode: mode_t) -> Int32 { system.mkdir(path, mode: mode) }
    func listDirectory(_ path: String) -> Result<[String], FileSystemErrno> { system.listDirectory(path) }
    func lockExclusive(_ fd: Int32) -> Int32 { system.lockExclusive(fd) }
}
