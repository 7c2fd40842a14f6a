import Foundation
import Glibc
import RaftCore
import RaftStorage
import Testing

/// A tmpfs of a fixed size mounted on a fresh directory (root only), unmounted when released.
final class SmallFileSystem {
    let path: String

    /// nil (with the reason) where mounting is not possible: not root, no tmpfs, a sandbox.
    static func mount(bytes: Int) -> (SmallFileSystem?, String) {
        guard geteuid() == 0 else { return (nil, "not root") }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("smallfs-\(UUID().uuidString)").path
        guard mkdir(path, 0o755) == 0 else { return (nil, "mkdir: \(String(cString: strerror(errno)))") }
        guard Glibc.mount("tmpfs", path, "tmpfs", 0, "size=\(bytes)") == 0 else {
            let why = String(cString: strerror(errno))
            rmdir(path)
            return (nil, "mount tmpfs: \(why)")
        }
        return (SmallFileSystem(path: path), "")
    }

    private init(path: String) { self.path = path }

    /// Grows the file system (space freed by the operator).
    func resize(bytes: Int) -> Bool {
        Glibc.mount("tmpfs", path, "tmpfs", UInt(MS_REMOUNT), "size=\(bytes)") == 0
    }

    var usedBytes: Int {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return -1 }
        return Int(st.f_blocks - st.f_bfree) * Int(st.f_frsize)
    }

    deinit {
        umount2(path, Int32(MNT_DETACH))
        rmdir(path)
    }
}

@Suite struct FileLogDiskFullTests {
    /// Segments larger than the file system, so the 4 MiB preallocation step cannot fit.
    static let options = FileLog.Options(segmentSize: 8 << 20, maxRecordSize: 64 << 10, cacheEntries: 4)

    @Test func aFullDiskIsUsedToItsEndThenNamedAndNothingSyncedIsLost() throws {
        let (fs, why) = SmallFileSystem.mount(bytes: 1 << 20)
        guard let fs else {
            print("skipped: cannot mount a small tmpfs (\(why))")
            return
        }
        let dir = fs.path + "/log"
        var synced: LogIndex = 0
        var failure: Error?
        do {
            let log = try FileLog(directory: dir, options: Self.options)
            try log.saveHardState(HardState(term: 1, votedFor: nil))
            try log.sync()
            var next: LogIndex = 1
            while failure == nil, next < 10_000 {
                do {
                    try log.append(entries(next...(next + 3), term: 1, size: 1_000))
                    try log.sync()
                    next += 4
                    synced = next - 1
                } catch {
                    failure = error
                }
            }
        }
        let message = "\(failure.map { "\($0)" } ?? "no error")"
        #expect(message.contains("No space left on device"), "\(message)")
        // The preallocation step (4 MiB) never fit into 1 MiB: without falling back to
        // smaller allocations the log would have stopped at its first append.
        #expect(synced > 700, "only \(synced) 1,000-byte entries fit into 1 MiB")
        #expect(fs.usedBytes > 900 << 10)

        // Reopening on the full disk, and after space is freed, returns every synced entry.
        for grow in [false, true] {
            if grow { #expect(fs.resize(bytes: 8 << 20)) }
            let log = try FileLog(directory: dir, options: Self.options)
            #expect(log.lastIndex >= synced)
            #expect(try log.entries(from: 1, through: synced, maxBytes: .max) == entries(1...synced, term: 1, size: 1_000))
            if grow {
                try log.append(entries((log.lastIndex + 1)...(log.lastIndex + 100), term: 1, size: 1_000))
                try log.sync()
            }
        }
    }
}
