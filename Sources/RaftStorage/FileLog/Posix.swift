import Glibc
import RaftCore

/// The file calls FileLog makes, through its `FileSystem`: retried on EINTR and completed on
/// short transfers. Each failure becomes a `LogError.io` naming the call, the file and the
/// system's reason.
struct Posix {
    let fs: FileSystem

    static func failure(_ call: String, _ path: String, _ code: Int32 = errno) -> LogError {
        .io("\(call) \(path): \(String(cString: strerror(code)))")
    }

    /// Opens a file; nil when it does not exist, so callers can name the missing file.
    func openIfExists(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> Int32? {
        while true {
            let fd = fs.open(path, flags: flags | O_CLOEXEC, mode: mode)
            if fd >= 0 { return fd }
            switch -fd {
            case EINTR: continue
            case ENOENT: return nil
            default: throw Self.failure("open", path, -fd)
            }
        }
    }

    func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        guard let fd = try openIfExists(path, flags: flags, mode: mode) else {
            throw LogError.missingFile(path)
        }
        return fd
    }

    func close(_ fd: Int32) { fs.close(fd) }

    func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < buffer.count {
            let n = fs.pwrite(fd, UnsafeRawBufferPointer(rebasing: buffer[done...]), offset: offset + done)
            if n < 0 {
                if -n == Int(EINTR) { continue }
                throw Self.failure("pwrite", path, Int32(-n))
            }
            done += n
        }
    }

    func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String) throws {
        try bytes.withUnsafeBytes { try write(fd, $0, at: offset, path: path) }
    }

    /// Reads `count` bytes at `offset`; fewer only when the file ends first.
    func read(_ fd: Int32, count: Int, at offset: Int, path: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < count {
                let n = fs.pread(fd, UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), offset: offset + done)
                if n < 0 {
                    if -n == Int(EINTR) { continue }
                    throw Self.failure("pread", path, Int32(-n))
                }
                if n == 0 { break }
                done += n
            }
        }
        bytes.removeLast(count - done)
        return bytes
    }

    func fileSize(_ fd: Int32, path: String) throws -> Int {
        let n = fs.size(fd)
        guard n >= 0 else { throw Self.failure("fstat", path, Int32(-n)) }
        return n
    }

    func fileSize(ofFile path: String) throws -> Int {
        let n = fs.size(ofFile: path)
        guard n >= 0 else { throw Self.failure("stat", path, Int32(-n)) }
        return n
    }

    func readWholeFile(_ path: String) throws -> [UInt8] {
        let fd = try open(path, flags: O_RDONLY)
        defer { close(fd) }
        return try read(fd, count: try fileSize(fd, path: path), at: 0, path: path)
    }

    func fsync(_ fd: Int32, path: String) throws {
        while true {
            let rc = fs.fsync(fd)
            if rc == 0 { return }
            if rc != EINTR { throw Self.failure("fsync", path, rc) }
        }
    }

    func fdatasync(_ fd: Int32, path: String) throws {
        while true {
            let rc = fs.fdatasync(fd)
            if rc == 0 { return }
            if rc != EINTR { throw Self.failure("fdatasync", path, rc) }
        }
    }

    enum Preallocation { case done, unsupported, noSpace }

    /// Allocates disk blocks for `offset..<offset+length` (reading as zeros), so later writes
    /// there need no block allocation. `.unsupported` where the file system cannot (the caller
    /// then simply appends), `.noSpace` when the blocks do not fit (ENOSPC, EDQUOT: the caller
    /// may ask for less); other failures throw.
    func preallocate(_ fd: Int32, offset: Int, length: Int, path: String) throws -> Preallocation {
        while true {
            let rc = fs.fallocate(fd, offset: offset, length: length)
            switch rc {
            case 0: return .done
            case EINTR: continue
            case EOPNOTSUPP, EINVAL, ENODEV, ESPIPE: return .unsupported
            case ENOSPC, EDQUOT: return .noSpace
            default: throw Self.failure("posix_fallocate", path, rc)
            }
        }
    }

    /// The error a full disk gives, for a caller that found out through `.noSpace`.
    static func noSpace(_ call: String, _ path: String) -> LogError { failure(call, path, ENOSPC) }

    func truncate(_ fd: Int32, to size: Int, path: String) throws {
        while true {
            let rc = fs.ftruncate(fd, size: size)
            if rc == 0 { return }
            if rc != EINTR { throw Self.failure("ftruncate", path, rc) }
        }
    }

    func rename(_ from: String, _ to: String) throws {
        let rc = fs.rename(from, to)
        guard rc == 0 else { throw Self.failure("rename to \(to)", from, rc) }
    }

    /// Removes a file; one that is already gone is not an error.
    func remove(_ path: String) throws {
        let rc = fs.unlink(path)
        guard rc == 0 || rc == ENOENT else { throw Self.failure("unlink", path, rc) }
    }

    func exists(_ path: String) -> Bool { fs.size(ofFile: path) >= 0 }

    func makeDirectories(_ path: String) throws {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            let rc = fs.mkdir(partial, mode: 0o755)
            if rc != 0 && rc != EEXIST { throw Self.failure("mkdir", partial, rc) }
        }
    }

    func listDirectory(_ path: String) throws -> [String] {
        switch fs.listDirectory(path) {
        case .success(let names): return names
        case .failure(let e): throw Self.failure("opendir", path, e.code)
        }
    }

    /// Takes the directory's lock file; nil when another holder has it.
    func lockExclusive(_ fd: Int32, path: String) throws -> Bool {
        while true {
            let rc = fs.lockExclusive(fd)
            switch rc {
            case 0: return true
            case EINTR: continue
            case EWOULDBLOCK: return false
            default: throw Self.failure("flock", path, rc)
            }
        }
    }
}
