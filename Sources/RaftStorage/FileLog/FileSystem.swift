import Glibc

/// Every file-system call FileLog makes, with the system's own semantics: results are
/// descriptors or byte counts, or a negative errno; status results are 0 or an errno. EINTR is
/// retried and short transfers completed by the caller (`Posix`), not here.
///
/// The seam where tests put a simulated disk under a real FileLog (a page cache that loses,
/// tears or reorders unsynced writes on power loss, and injected EIO/ENOSPC); production uses
/// `SystemFileSystem`, which is the plain syscalls.
public protocol FileSystem: AnyObject {
    /// A descriptor, or -errno. Directories open with O_RDONLY | O_DIRECTORY (to fsync them).
    func open(_ path: String, flags: Int32, mode: mode_t) -> Int32
    func close(_ fd: Int32)
    /// A second descriptor for the same open file (dup), or -errno.
    func dup(_ fd: Int32) -> Int32
    /// Bytes written (possibly fewer than asked), or -errno.
    func pwrite(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, offset: Int) -> Int
    /// Bytes read (0 at the end of the file), or -errno.
    func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int) -> Int
    /// The file's size, or -errno.
    func size(_ fd: Int32) -> Int
    func size(ofFile path: String) -> Int
    func fsync(_ fd: Int32) -> Int32
    func fdatasync(_ fd: Int32) -> Int32
    /// posix_fallocate: 0 or the error number it returns.
    func fallocate(_ fd: Int32, offset: Int, length: Int) -> Int32
    func ftruncate(_ fd: Int32, size: Int) -> Int32
    func rename(_ from: String, _ to: String) -> Int32
    func unlink(_ path: String) -> Int32
    func mkdir(_ path: String, mode: mode_t) -> Int32
    /// The names in a directory (without "." and ".."), or the errno.
    func listDirectory(_ path: String) -> Result<[String], FileSystemErrno>
    /// An exclusive, non-blocking lock on an open file (flock LOCK_EX | LOCK_NB): 0 or errno.
    func lockExclusive(_ fd: Int32) -> Int32
}

/// An errno as an Error, for `FileSystem.listDirectory`.
public struct FileSystemErrno: Error, Equatable {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }
}

/// The system's file calls, unchanged.
/// Stateless, so one instance serves every log on every thread.
public final class SystemFileSystem: FileSystem, Sendable {
    public static let shared = SystemFileSystem()

    private init() {}

    private static func result(_ rc: Int32) -> Int32 { rc == 0 ? 0 : errno }

    public func open(_ path: String, flags: Int32, mode: mode_t) -> Int32 {
        let fd = Glibc.open(path, flags, mode)
        return fd >= 0 ? fd : -errno
    }

    // Linux releases the descriptor even when close reports EINTR, so never retry.
    public func close(_ fd: Int32) { _ = Glibc.close(fd) }

    public func dup(_ fd: Int32) -> Int32 {
        let copy = Glibc.dup(fd)
        return copy >= 0 ? copy : -errno
    }

    public func pwrite(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, offset: Int) -> Int {
        let n = Glibc.pwrite(fd, buffer.baseAddress!, buffer.count, off_t(offset))
        return n >= 0 ? n : -Int(errno)
    }

    public func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int) -> Int {
        let n = Glibc.pread(fd, buffer.baseAddress!, buffer.count, off_t(offset))
        return n >= 0 ? n : -Int(errno)
    }

    public func size(_ fd: Int32) -> Int {
        var info = stat()
        return fstat(fd, &info) == 0 ? Int(info.st_size) : -Int(errno)
    }

    public func size(ofFile path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : -Int(errno)
    }

    public func fsync(_ fd: Int32) -> Int32 { Self.result(Glibc.fsync(fd)) }
    public func fdatasync(_ fd: Int32) -> Int32 { Self.result(Glibc.fdatasync(fd)) }
    public func fallocate(_ fd: Int32, offset: Int, length: Int) -> Int32 {
        posix_fallocate(fd, off_t(offset), off_t(length))
    }
    public func ftruncate(_ fd: Int32, size: Int) -> Int32 { Self.result(Glibc.ftruncate(fd, off_t(size))) }
    public func rename(_ from: String, _ to: String) -> Int32 { Self.result(Glibc.rename(from, to)) }
    public func unlink(_ path: String) -> Int32 { Self.result(Glibc.unlink(path)) }
    public func mkdir(_ path: String, mode: mode_t) -> Int32 { Self.result(Glibc.mkdir(path, mode)) }
    public func lockExclusive(_ fd: Int32) -> Int32 { Self.result(flock(fd, LOCK_EX | LOCK_NB)) }

    public func listDirectory(_ path: String) -> Result<[String], FileSystemErrno> {
        guard let dir = opendir(path) else { return .failure(FileSystemErrno(errno)) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return .success(names)
    }
}
