import Glibc
import RaftCore

/// One node's log directory: the names of its files, the lock that keeps a second instance
/// out, durable writes (counted, so tests and benchmarks can check group commit) and atomic
/// replacement of whole files.
final class LogDirectory {
    let path: String
    /// Every file call of this log goes through here (the system's calls, or a test's disk).
    let posix: Posix
    /// The lock file's descriptor; a snapshot write still out holds it too (FileLog+SnapshotWrite).
    private(set) var lock: DirectoryLock?
    /// fsync and fdatasync calls made so far.
    private(set) var syncCount = 0

    static let lockName = "LOCK"
    static let metadataName = "meta"
    static let temporarySuffix = ".tmp"

    init(path: String, fileSystem: FileSystem) throws {
        self.path = path
        posix = Posix(fs: fileSystem)
        try posix.makeDirectories(path)
        let fd = try posix.open(path + "/" + Self.lockName, flags: O_RDWR | O_CREAT)
        do {
            guard try posix.lockExclusive(fd, path: path) else { throw LogError.locked(path) }
        } catch {
            posix.close(fd)
            throw error
        }
        lock = DirectoryLock(fd: fd, posix: posix)
    }

    /// Lets go of the lock; it is released once no snapshot write still holds it.
    func release() { lock = nil }

    deinit { release() }

    func file(_ name: String) -> String { path + "/" + name }

    func names() throws -> [String] { try posix.listDirectory(path) }

    func dataSync(_ fd: Int32, name: String) throws { try dataSync(fd, path: file(name)) }

    func dataSync(_ fd: Int32, path: String) throws {
        try posix.fdatasync(fd, path: path)
        syncCount += 1
    }

    /// Where large direct writes go to run on another thread (BehindWrite); nil: on the owner's.
    var writeBehind: ((BehindWrite) -> Void)?

    /// Segment writes that went past the page cache (DirectWriter).
    private(set) var directWriteCount = 0
    private(set) var zeroFillCount = 0
    /// Of those, the ones handed to another thread (BehindWrite).
    private(set) var behindWriteCount = 0
    func countDirectWrite() { directWriteCount += 1 }
    func countBehindWrite() { behindWriteCount += 1 }
    func countZeroFill() { zeroFillCount += 1 }

    /// Syncs that ran on another thread (FileLog+DataSync, FileLog+SnapshotWrite).
    func countSync(_ count: Int = 1) { syncCount += count }

    /// Makes creations, renames and removals of entries in the directory durable.
    func syncDirectory() throws {
        let fd = try posix.open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { posix.close(fd) }
        try posix.fsync(fd, path: path)
        syncCount += 1
    }

    /// Replaces `name` with `chunks` so that a crash leaves either the old or the new content:
    /// write a temporary file, fsync it, rename it over the old one, fsync the directory.
    func replaceAtomically(_ name: String, with chunks: [[UInt8]]) throws {
        syncCount += try Self.replaceAtomically(name, with: chunks, in: path, posix: posix)
    }

    /// The same on nothing but a path and the file calls, so a job on another thread can run it
    /// (FileLog+SnapshotWrite). Returns the fsyncs it made.
    static func replaceAtomically(_ name: String, with chunks: [[UInt8]], in path: String, posix: Posix) throws -> Int {
        let target = path + "/" + name
        let temporary = target + temporarySuffix
        let fd = try posix.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            var offset = 0
            for chunk in chunks {
                try posix.write(fd, chunk, at: offset, path: temporary)
                offset += chunk.count
            }
            try posix.fsync(fd, path: temporary)
        } catch {
            posix.close(fd)
            throw error
        }
        posix.close(fd)
        try posix.rename(temporary, target)
        let dir = try posix.open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { posix.close(dir) }
        try posix.fsync(dir, path: path)
        return 2
    }

    func remove(_ name: String) throws { try posix.remove(file(name)) }
}

/// The lock file's descriptor (its flock keeps a second instance out), closed with its last
/// holder.
final class DirectoryLock: @unchecked Sendable {
    private let fd: Int32
    private let posix: Posix

    init(fd: Int32, posix: Posix) {
        self.fd = fd
        self.posix = posix
    }

    deinit { posix.close(fd) }
}

/// File names inside a log directory. Ids are zero-padded so a plain listing sorts in order.
enum LogFileName {
    static func segment(_ id: UInt64) -> String { "segment-\(padded(id)).log" }
    static func snapshot(_ id: UInt64) -> String { "snapshot-\(padded(id)).snap" }

    static func segmentID(_ name: String) -> UInt64? { id(in: name, prefix: "segment-", suffix: ".log") }
    static func snapshotID(_ name: String) -> UInt64? { id(in: name, prefix: "snapshot-", suffix: ".snap") }

    private static func padded(_ id: UInt64) -> String {
        let digits = String(id)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    private static func id(in name: String, prefix: String, suffix: String) -> UInt64? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard digits.count == 20, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
        return UInt64(digits)
    }
}
