#if canImport(Glibc)
import Glibc
#endif

extension ClusterSecrets {
    /// Reads a secret file: its first non-empty line is the secret this node proves with; any
    /// further non-empty lines are secrets it also accepts (while a secret is rotated; see
    /// docs/security.md). Trailing spaces and carriage returns are not part of a secret. A file
    /// that group or others may read is refused, as ssh refuses such a key.
    public init(file path: String) throws(SecretError) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw .unreadable(path: path, errno: errno) }
        guard st.st_mode & 0o077 == 0 else { throw .tooOpen(path: path, mode: UInt32(st.st_mode)) }
        guard let f = fopen(path, "r") else { throw .unreadable(path: path, errno: errno) }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { fread($0.baseAddress, 1, 4096, f) }
            if n > 0 { bytes.append(contentsOf: buf[0..<n]) }
            if n < 4096 {
                if ferror(f) != 0 { throw .unreadable(path: path, errno: errno) }
                break
            }
            if bytes.count > 64 << 10 { throw .tooLong(bytes.count) }
        }
        let lines = bytes.split(separator: 0x0A).map { line -> [UInt8] in
            var l = Array(line)
            while let last = l.last, last == 0x20 || last == 0x0D || last == 0x09 { l.removeLast() }
            return l
        }.filter { !$0.isEmpty }
        guard let first = lines.first else { throw .empty(path: path) }
        try self.init(current: first, alsoAccepted: Array(lines.dropFirst()))
    }
}
