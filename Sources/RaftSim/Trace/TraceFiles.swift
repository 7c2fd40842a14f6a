#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why trace files could not be written: the path and the C library's errno.
public enum TraceFileError: Error, Equatable, CustomStringConvertible {
    case createDirectory(path: String, errno: Int32)
    case write(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .createDirectory(let p, let e): return "cannot create directory \(p): \(String(cString: strerror(e)))"
        case .write(let p, let e): return "cannot write \(p): \(String(cString: strerror(e)))"
        }
    }
}

extension TraceRecorder {
    /// Writes `<baseName>.rst` with every section, and `<baseName>_<n>.csv` and
    /// `<baseName>_<n>.puml` per section, n counting from 1 as the document's headings do.
    /// The directory (and its parents) is created when missing; each file is written whole
    /// under a temporary name and renamed, so a reader never sees half a table. Only the C
    /// library is used, so RaftSim links without Foundation.
    public func write(to directory: String, baseName: String) throws(TraceFileError) {
        try TraceFiles.makeDirectories(directory)
        try TraceFiles.save(rstDocument(title: baseName), to: directory + "/\(baseName).rst")
        for index in sections.indices {
            try TraceFiles.save(csv(section: index), to: directory + "/\(baseName)_\(index + 1).csv")
            try TraceFiles.save(plantUML(section: index), to: directory + "/\(baseName)_\(index + 1).puml")
        }
    }
}

extension TraceRecorder {
    /// Writes `text` (a rendered table or document) to `path` whole: under a temporary name,
    /// then renamed.
    public static func save(_ text: String, to path: String) throws(TraceFileError) {
        try TraceFiles.save(text, to: path)
    }
}

enum TraceFiles {
    /// `mkdir -p`.
    static func makeDirectories(_ path: String) throws(TraceFileError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .createDirectory(path: prefix, errno: errno)
            }
            prefix += "/"
        }
    }

    static func save(_ text: String, to path: String) throws(TraceFileError) {
        let temporary = path + ".tmp"
        guard let f = fopen(temporary, "wb") else { throw .write(path: temporary, errno: errno) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
        let failure = written == bytes.count ? 0 : errno
        if fclose(f) != 0 || failure != 0 {
            let e = failure != 0 ? failure : errno
            unlink(temporary)
            throw .write(path: path, errno: e)
        }
        if rename(temporary, path) != 0 {
            let e = errno
            unlink(temporary)
            throw .write(path: path, errno: e)
        }
    }
}
