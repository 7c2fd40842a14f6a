import Glibc
import RaftCore

/// The POSIX calls FileLog makes, retried on EINTR and completed on short transfers. Each
/// failure becomes a `LogError.io` naming the call, the file and the system's reason.
enum Posix {
    static func failure(_ call: String, _ path: String, _ code: Int32 = errno) -> LogError {
        .io("\(call) \(path): \(String(cString: strerror(code)))")
    }

    /// Opens a file; nil when it does not exist, so callers can name the missing file.
    static func openIfExists(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> Int32? {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            switch errno {
            case EINTR: continue
            case ENOENT: return nil
            default: throw failure("open", path)
            }
        }
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        guard let fd = try openIfExists(path, flags: flags, mode: mode) else {
            throw LogError.missingFile(path)
        }
        return fd
    }

    static func close(_ fd: Int32) {
        // Linux releases the descriptor even when close reports EINTR, so never retry.
        _ = Glibc.close(fd)
    }

    static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < buffer.count {
            let n = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("pwrite", path)
            }
            done += n
        }
    }

    static func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String) throws {
        try bytes.withUnsafeBytes { try write(fd, $0, at: offset, path: path) }
    }

    /// Reads `count` bytes at `offset`; fewer only when the file ends first.
    static func read(_ fd: Int32, count: Int, at offset: Int, path: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure("pread", path)
                }
                if n == 0 { break }
                done += n
            }
        }
        bytes.removeLast(count - done)
        return bytes
    }

    static func fileSize(_ fd: Int32, path: String) throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("fstat", path) }
        return Int(info.st_size)
    }

    static func fileSize(ofFile path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw failure("stat", path) }
        return Int(info.st_size)
    }

    static func readWholeFile(_ path: String) throws -> [UInt8] {
        let fd = try open(path, flags: O_RDONLY)
        defer { close(fd) }
        return try read(fd, count: try fileSize(fd, path: path), at: 0, path: path)
    }

    static func fsync(_ fd: Int32, path: String) throws {
        while Glibc.fsync(fd) != 0 {
            if errno != EINTR { throw failure("fsync", path) }
        }
    }

    static func fdatasync(_ fd: Int32, path: String) throws {
        while Glibc.fdatasync(fd) != 0 {
            if errno != EINTR { throw failure("fdatasync", path) }
        }
    }

    enum Preallocation { case done, unsupported, noSpace }

    /// Allocates disk blocks for `offset..<offset+length` (reading as zeros), so later writes
    /// there need no block allocation. `.unsupported` where the file system cannot (the caller
    /// then simply appends), `.noSpace` when the blocks do not fit (ENOSPC, EDQUOT: the caller
    /// may ask for less); other failures throw.
    static func preallocate(_ fd: Int32, offset: Int, length: Int, path: String) throws -> Preallocation {
        while true {
            let rc = posix_fallocate(fd, off_t(offset), off_t(length))
            switch rc {
            case 0: return .done
            case EINTR: continue
            case EOPNOTSUPP, EINVAL, ENODEV, ESPIPE: return .unsupported
            case ENOSPC, EDQUOT: return .noSpace
            default: throw failure("posix_fallocate", path, rc)
            }
        }
    }

    /// The error a full disk gives, for a caller that found out through `.noSpace`.
    static func noSpace(_ call: String, _ path: String) -> LogError { failure(call, path, ENOSPC) }

    static func truncate(_ fd: Int32, to size: Int, path: String) throws {
        while ftruncate(fd, off_t(size)) != 0 {
            if errno != EINTR { throw failure("ftruncate", path) }
        }
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw failure("rename to \(to)", from) }
    }

    /// Removes a file; one that is already gone is not an error.
    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw failure("unlink", path) }
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func makeDirectories(_ path: String) throws {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o755) != 0 && errno != EEXIST { throw failure("mkdir", partial) }
        }
    }

    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw failure("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
