import Glibc
import RaftCore
import RaftStorage

/// An in-memory disk with a page cache, for running a real FileLog under power loss and disk
/// errors. Reads see every write at once; what survives a power loss is only what a sync made
/// durable, plus any part of the rest: each unsynced write is lost, kept, or torn at 512-byte
/// sectors, independently of the others (so later writes may survive earlier ones), and the
/// unsynced directory operations (create, rename, unlink, mkdir) survive as a prefix in the
/// order they were made, as a journal replays them.
///
/// Sync semantics (`Semantics`): `.strict` is what POSIX promises — fsync/fdatasync make one
/// file's data durable, and its directory entries become durable only with an fsync of the
/// directory; `.ext4` adds what ext4's journal gives — any fsync also commits every directory
/// operation made so far. A failed fsync behaves as Linux's does (fsyncgate): the error is
/// reported once, the dirty pages are dropped from the write-back (reads still see them), and a
/// later fsync succeeds without making them durable.
///
/// Faults: `fault` may fail any call with an errno (EIO, ENOSPC ...); `powerCut(atCall:)` makes
/// the k-th call and every one after it fail with EIO, as a machine whose power went out;
/// `capacity` makes writes and allocations past it fail with ENOSPC. Single-threaded.
public final class SimDisk: FileSystem {
    public enum Semantics: Sendable { case strict, ext4 }

    /// The calls, as `fault` sees them.
    public enum Call: String, Sendable, CaseIterable {
        case open, close, write, read, size, fsync, fdatasync, fallocate, truncate, rename, unlink, mkdir, list, lock
    }

    public static let sectorSize = 512

    public let semantics: Semantics
    /// Total bytes the files may hold (nil: unlimited).
    public var capacity: Int?
    /// Called before each call with the call, its path and the call's number (from 0); a
    /// non-nil errno fails it without effect.
    public var fault: ((Call, String, Int) -> Int32?)?
    /// Calls made so far (failed ones included).
    public private(set) var calls = 0
    /// Calls from this number on fail with EIO (nil: powered).
    public private(set) var powerCutAt: Int?
    /// Calls that failed because of `fault`, `capacity` or the power cut.
    public private(set) var injected: [(call: Call, path: String, errno: Int32)] = []

    private final class Inode {
        let isDirectory: Bool
        var cache: [UInt8] = []
        var durable: [UInt8] = []
        /// Unsynced changes in order; applied to `durable` by a sync, chosen from at power loss.
        var pending: [Change] = []
        init(isDirectory: Bool) { self.isDirectory = isDirectory }
    }

    private enum Change {
        case write(offset: Int, bytes: [UInt8])
        case resize(Int)
    }

    private enum NameChange {
        case link(String, ObjectIdentifier)
        case unlink(String)
        case rename(String, String)
    }

    private var inodes: [ObjectIdentifier: Inode] = [:]
    /// path → inode, as every call sees it.
    private var names: [String: ObjectIdentifier] = [:]
    /// path → inode, as a power loss would leave it before `pendingNames`.
    private var durableNames: [String: ObjectIdentifier] = [:]
    private var pendingNames: [NameChange] = []
    private var descriptors: [Int32: (inode: ObjectIdentifier, path: String)] = [:]
    private var nextFD: Int32 = 3
    private var locked: Set<ObjectIdentifier> = []

    public init(semantics: Semantics = .strict) {
        self.semantics = semantics
        let root = Inode(isDirectory: true)
        let id = ObjectIdentifier(root)
        inodes[id] = root
        names["/"] = id
        durableNames["/"] = id
    }

    /// Creates `path` and its parents as directories that are already durable (a data dir an
    /// operator made before the log first opened).
    public func makeDurableDirectory(_ path: String) {
        var partial = ""
        for component in path.split(separator: "/") {
            partial += "/" + component
            if names[partial] == nil {
                let inode = Inode(isDirectory: true)
                let id = ObjectIdentifier(inode)
                inodes[id] = inode
                names[partial] = id
                durableNames[partial] = id
            }
        }
    }

    /// From call number `k` on (counting from 0, see `calls`) every call fails with EIO.
    public func powerCut(atCall k: Int) { powerCutAt = k }

    /// The power goes out (if it had not) and comes back: every descriptor and lock is gone,
    /// and the disk holds what was durable plus a random part of the rest (see the type).
    public func powerLoss(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var fate: [Int: UInt64] = [:]  // per pending write: lost, kept, or torn
        var write = 0
        powerLoss(keepingNameChanges: { Int(rng.next() % UInt64($0 + 1)) }) { _, n, _ in
            if n != write || fate[n] == nil { fate[n] = rng.next() % 3; write = n }
            switch fate[n]! {
            case 0: return false
            case 1: return true
            default: return rng.next() % 2 == 0  // torn: sector by sector (a size change: either)
            }
        }
    }

    /// A power loss where the test decides: `keepingSector(path, n, offset)` says whether the
    /// sector at `offset` of the file's n-th unsynced change (in the order made) survived (for a
    /// size change — truncate, allocation — offset is -1: whether it happened), and
    /// `keepingNameChanges(count)` how many of the unsynced directory operations did (a prefix).
    public func powerLoss(keepingNameChanges: (Int) -> Int = { $0 },
                          keepingSector: (String, Int, Int) -> Bool) {
        let pathOf = Dictionary(names.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        for (id, inode) in inodes {
            var content = inode.durable
            for (n, change) in inode.pending.enumerated() {
                guard case .write(let offset, let bytes) = change else {
                    if keepingSector(pathOf[id] ?? "", n, -1) { Self.apply(change, to: &content) }
                    continue
                }
                var start = offset
                while start < offset + bytes.count {
                    let end = min(offset + bytes.count, (start / Self.sectorSize + 1) * Self.sectorSize)
                    if keepingSector(pathOf[id] ?? "", n, start) {
                        Self.apply(.write(offset: start, bytes: Array(bytes[(start - offset)..<(end - offset)])), to: &content)
                    }
                    start = end
                }
            }
            inode.durable = content
            inode.cache = content
            inode.pending = []
        }
        let kept = min(pendingNames.count, max(0, keepingNameChanges(pendingNames.count)))
        for change in pendingNames.prefix(kept) { Self.apply(change, to: &durableNames) }
        comeBackUp()
    }

    /// The machine restarts cleanly: the page cache is written back first (every unsynced
    /// write and directory operation becomes durable), then dropped — so pages a failed fsync
    /// dropped from the write-back (see the type) are gone, as after a real reboot.
    public func reboot() {
        for inode in inodes.values {
            for change in inode.pending { Self.apply(change, to: &inode.durable) }
            inode.pending = []
            inode.cache = inode.durable
        }
        for change in pendingNames { Self.apply(change, to: &durableNames) }
        comeBackUp()
    }

    /// After a power loss or a reboot: the names as they are durable, no descriptor or lock
    /// left, the power on, and files no name reaches forgotten.
    private func comeBackUp() {
        pendingNames = []
        names = durableNames
        descriptors = [:]
        locked = []
        powerCutAt = nil
        let live = Set(names.values)
        inodes = inodes.filter { live.contains($0.key) }
    }

    /// Ends every fault (the power back on, no injected errors, no capacity limit).
    public func clearFaults() {
        fault = nil
        powerCutAt = nil
        capacity = nil
    }

    /// The names of the files (not directories) under `directory`, as calls see them now.
    public func files(in directory: String) -> [String] {
        names.keys.filter { Self.parent(of: $0) == directory && inodes[names[$0]!]?.isDirectory == false }
            .map { String($0.dropFirst(directory.count + 1)) }.sorted()
    }

    /// Replaces a file's content, durably (a test damaging bytes as bit rot would).
    public func replaceContent(of path: String, with bytes: [UInt8]) {
        guard let id = names[path], let inode = inodes[id] else { return }
        inode.cache = bytes
        inode.durable = bytes
        inode.pending = []
    }

    /// Bytes the files hold now (as calls see them).
    public var usedBytes: Int { inodes.values.reduce(0) { $0 + $1.cache.count } }

    /// A file's content as calls see it now (nil when missing).
    public func content(of path: String) -> [UInt8]? { names[path].flatMap { inodes[$0]?.cache } }

    // MARK: - FileSystem

    public func open(_ path: String, flags: Int32, mode: mode_t) -> Int32 {
        if let e = begin(.open, path) { return -e }
        if let id = names[path] {
            let inode = inodes[id]!
            if flags & O_EXCL != 0 && flags & O_CREAT != 0 { return -EEXIST }
            if flags & O_DIRECTORY != 0 && !inode.isDirectory { return -ENOTDIR }
            if flags & O_TRUNC != 0 && !inode.isDirectory { change(inode, .resize(0)) }
            return descriptor(for: id, path: path)
        }
        guard flags & O_CREAT != 0 else { return -ENOENT }
        guard let parent = names[Self.parent(of: path)], inodes[parent]!.isDirectory else { return -ENOENT }
        let inode = Inode(isDirectory: false)
        let id = ObjectIdentifier(inode)
        inodes[id] = inode
        link(path, id)
        return descriptor(for: id, path: path)
    }

    public func close(_ fd: Int32) {
        calls += 1
        // As flock: the lock goes with the last descriptor of the file.
        if let d = descriptors.removeValue(forKey: fd), !descriptors.values.contains(where: { $0.inode == d.inode }) {
            locked.remove(d.inode)
        }
    }

    public func dup(_ fd: Int32) -> Int32 {
        guard let d = descriptors[fd] else { return -EBADF }
        if let e = begin(.open, d.path) { return -e }
        return descriptor(for: d.inode, path: d.path)
    }

    public func pwrite(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, offset: Int) -> Int {
        guard let (inode, path) = file(fd) else { return -Int(EBADF) }
        if let e = begin(.write, path) { return -Int(e) }
        if let e = overCapacity(growing: inode, to: offset + buffer.count, path: path, call: .write) { return -Int(e) }
        change(inode, .write(offset: offset, bytes: Array(buffer)))
        return buffer.count
    }

    public func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int) -> Int {
        guard let (inode, path) = file(fd) else { return -Int(EBADF) }
        if let e = begin(.read, path) { return -Int(e) }
        guard offset < inode.cache.count else { return 0 }
        let n = min(buffer.count, inode.cache.count - offset)
        inode.cache.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        return n
    }

    public func size(_ fd: Int32) -> Int {
        guard let (inode, path) = file(fd) else { return -Int(EBADF) }
        if let e = begin(.size, path) { return -Int(e) }
        return inode.cache.count
    }

    public func size(ofFile path: String) -> Int {
        if let e = begin(.size, path) { return -Int(e) }
        guard let id = names[path] else { return -Int(ENOENT) }
        return inodes[id]!.cache.count
    }

    public func fsync(_ fd: Int32) -> Int32 { sync(fd, .fsync) }
    public func fdatasync(_ fd: Int32) -> Int32 { sync(fd, .fdatasync) }

    public func fallocate(_ fd: Int32, offset: Int, length: Int) -> Int32 {
        guard let (inode, path) = file(fd) else { return EBADF }
        if let e = begin(.fallocate, path) { return e }
        if let e = overCapacity(growing: inode, to: offset + length, path: path, call: .fallocate) { return e }
        if offset + length > inode.cache.count { change(inode, .resize(offset + length)) }
        return 0
    }

    public func ftruncate(_ fd: Int32, size: Int) -> Int32 {
        guard let (inode, path) = file(fd) else { return EBADF }
        if let e = begin(.truncate, path) { return e }
        change(inode, .resize(size))
        return 0
    }

    public func rename(_ from: String, _ to: String) -> Int32 {
        if let e = begin(.rename, from) { return e }
        guard names[from] != nil else { return ENOENT }
        guard names[Self.parent(of: to)] != nil else { return ENOENT }
        let change = NameChange.rename(from, to)
        Self.apply(change, to: &names)
        pendingNames.append(change)
        return 0
    }

    public func unlink(_ path: String) -> Int32 {
        if let e = begin(.unlink, path) { return e }
        guard names[path] != nil else { return ENOENT }
        let change = NameChange.unlink(path)
        Self.apply(change, to: &names)
        pendingNames.append(change)
        return 0
    }

    public func mkdir(_ path: String, mode: mode_t) -> Int32 {
        if let e = begin(.mkdir, path) { return e }
        if names[path] != nil { return EEXIST }
        guard names[Self.parent(of: path)] != nil else { return ENOENT }
        let inode = Inode(isDirectory: true)
        let id = ObjectIdentifier(inode)
        inodes[id] = inode
        link(path, id)
        return 0
    }

    public func listDirectory(_ path: String) -> Result<[String], FileSystemErrno> {
        if let e = begin(.list, path) { return .failure(FileSystemErrno(e)) }
        guard let id = names[path], inodes[id]!.isDirectory else { return .failure(FileSystemErrno(ENOENT)) }
        let prefix = path == "/" ? "/" : path + "/"
        return .success(names.keys.filter { $0 != path && Self.parent(of: $0) == path }.map { String($0.dropFirst(prefix.count)) })
    }

    public func lockExclusive(_ fd: Int32) -> Int32 {
        guard let d = descriptors[fd] else { return EBADF }
        if let e = begin(.lock, d.path) { return e }
        if locked.contains(d.inode) { return EWOULDBLOCK }
        locked.insert(d.inode)
        return 0
    }

    // MARK: - Inside

    /// Counts the call and decides whether it fails: power cut, then the injected fault.
    private func begin(_ call: Call, _ path: String) -> Int32? {
        defer { calls += 1 }
        if let cut = powerCutAt, calls >= cut { return injectedFailure(call, path, EIO) }
        if let e = fault?(call, path, calls) { return injectedFailure(call, path, e) }
        return nil
    }

    private func injectedFailure(_ call: Call, _ path: String, _ e: Int32) -> Int32 {
        injected.append((call, path, e))
        return e
    }

    private func overCapacity(growing inode: Inode, to end: Int, path: String, call: Call) -> Int32? {
        guard let capacity, end > inode.cache.count else { return nil }
        return usedBytes + end - inode.cache.count > capacity ? injectedFailure(call, path, ENOSPC) : nil
    }

    private func file(_ fd: Int32) -> (Inode, String)? {
        guard let d = descriptors[fd], let inode = inodes[d.inode] else { return nil }
        return (inode, d.path)
    }

    private func descriptor(for id: ObjectIdentifier, path: String) -> Int32 {
        let fd = nextFD
        nextFD += 1
        descriptors[fd] = (id, path)
        return fd
    }

    private func link(_ path: String, _ id: ObjectIdentifier) {
        let change = NameChange.link(path, id)
        Self.apply(change, to: &names)
        pendingNames.append(change)
    }

    private func change(_ inode: Inode, _ change: Change) {
        Self.apply(change, to: &inode.cache)
        inode.pending.append(change)
    }

    private func sync(_ fd: Int32, _ call: Call) -> Int32 {
        guard let d = descriptors[fd], let inode = inodes[d.inode] else { return EBADF }
        if let e = begin(call, d.path) {
            // As Linux after a failed write-back: the dirty pages are marked clean, so a later
            // fsync has nothing to write and succeeds; the data never reaches the disk.
            if e == EIO { inode.pending = [] }
            return e
        }
        if inode.isDirectory {
            commitNames(under: d.path)
        } else {
            for change in inode.pending { Self.apply(change, to: &inode.durable) }
            inode.pending = []
            if semantics == .ext4 { commitNames(under: nil) }
        }
        return 0
    }

    /// Makes durable the pending directory operations in `directory` (nil: all), keeping the
    /// order of the rest.
    private func commitNames(under directory: String?) {
        var rest: [NameChange] = []
        for change in pendingNames {
            let inDirectory: Bool
            switch change {
            case .link(let p, _), .unlink(let p): inDirectory = directory == nil || Self.parent(of: p) == directory
            case .rename(let a, let b):
                inDirectory = directory == nil || (Self.parent(of: a) == directory && Self.parent(of: b) == directory)
            }
            if inDirectory { Self.apply(change, to: &durableNames) } else { rest.append(change) }
        }
        pendingNames = rest
    }

    private static func apply(_ change: Change, to content: inout [UInt8]) {
        switch change {
        case .write(let offset, let bytes):
            if content.count < offset + bytes.count { content += [UInt8](repeating: 0, count: offset + bytes.count - content.count) }
            content.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        case .resize(let size):
            if size < content.count { content.removeLast(content.count - size) } else {
                content += [UInt8](repeating: 0, count: size - content.count)
            }
        }
    }

    private static func apply(_ change: NameChange, to names: inout [String: ObjectIdentifier]) {
        switch change {
        case .link(let p, let id): names[p] = id
        case .unlink(let p): names[p] = nil
        case .rename(let a, let b):
            if let id = names.removeValue(forKey: a) { names[b] = id }
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
