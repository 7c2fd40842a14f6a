#if canImport(Glibc)
import Glibc
#endif

/// File and clock helpers on Glibc: raftengine-node links no Foundation.
enum NodeFiles {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    /// The whole file as UTF-8 text, or nil when it does not exist.
    static func readText(_ path: String) throws -> String? {
        guard let f = fopen(path, "r") else {
            if errno == ENOENT { return nil }
            throw Failure(description: "cannot read \(path): \(errnoText())")
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { fread($0.baseAddress, 1, 4096, f) }
            bytes.append(contentsOf: buf[0..<n])
            if n < 4096 {
                if ferror(f) != 0 { throw Failure(description: "cannot read \(path): \(errnoText())") }
                break
            }
            if bytes.count > 1 << 20 { throw Failure(description: "\(path) is larger than 1 MiB") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `text` to `path` through a temporary file renamed over it, synced, so a crash
    /// leaves the old file or the new one.
    static func writeAtomically(_ text: String, to path: String) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Failure(description: "cannot write \(tmp): \(errnoText())") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0 else { throw Failure(description: "cannot write \(tmp): \(errnoText())") }
        guard rename(tmp, path) == 0 else { throw Failure(description: "cannot rename \(tmp) to \(path): \(errnoText())") }
    }

    /// `mkdir -p`.
    static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part + "/"
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw Failure(description: "cannot create \(prefix): \(errnoText())")
            }
        }
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw Failure(description: "\(path) is not a directory")
        }
    }

    /// UTC now as ISO 8601 with milliseconds, for log lines.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tm = tm()
        gmtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 32)
        strftime(&buf, buf.count, "%Y-%m-%dT%H:%M:%S", &tm)
        let ms = ts.tv_nsec / 1_000_000
        return String(cString: buf) + "." + String(ms + 1000).dropFirst() + "Z"
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    var trimmed: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s = s.dropLast() }
        return s
    }
}
