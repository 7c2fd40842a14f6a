import RaftCore
import RaftStorage

/// A memory log that is durable only where it was synced: a simulated crash loses every write
/// since the last `sync()`, as a process dying before its fsync does (a real disk may keep
/// some of them; this keeps none, the harshest legal case). Tests of unsynced-write loss run
/// without files. Use it through `SimCluster.Options.logKind = .memoryDurableOnSync`.
public final class SyncedMemoryLog: RaftLog, ReopenableLog, ChangeTrackingLog {
    /// One write, kept to be replayed.
    enum Write {
        case hardState(HardState)
        case commitIndex(LogIndex)
        case bootstrapConfig(ClusterConfig)
        case append([Entry])
        case truncate(LogIndex)
        case saveSnapshot(SnapshotMeta, [UInt8], LogIndex)
        case installSnapshot(SnapshotMeta, [UInt8])
        case broken(Bool)
    }

    /// The synced writes, shared by every incarnation of one node's log: its "disk".
    final class Disk {
        var writes: [Write] = []
    }

    /// What reads see: everything written, synced or not.
    private let working: MemoryLog
    private let disk: Disk
    private var unsynced: [Write] = []
    public private(set) var closed = false

    public init() {
        working = MemoryLog()
        disk = Disk()
    }

    private init(disk: Disk) {
        self.disk = disk
        working = MemoryLog()
        for w in disk.writes { try? Self.replay(w, on: working) }
    }

    /// The log as a restart finds it: the synced writes only.
    public func reopened() -> SyncedMemoryLog { SyncedMemoryLog(disk: disk) }

    /// Writes since the last sync (what a crash now would lose).
    public var unsyncedWrites: Int { unsynced.count }

    public func closeWithoutSync() {
        closed = true
        unsynced.removeAll()
    }

    private func write(_ w: Write) throws {
        try Self.replay(w, on: working)
        unsynced.append(w)
    }

    private static func replay(_ w: Write, on log: MemoryLog) throws {
        switch w {
        case .hardState(let s): try log.saveHardState(s)
        case .commitIndex(let i): try log.saveCommitIndex(i)
        case .bootstrapConfig(let c): try log.saveBootstrapConfig(c)
        case .append(let e): try log.append(e)
        case .truncate(let i): try log.truncate(from: i)
        case .saveSnapshot(let m, let d, let through): try log.saveSnapshot(m, data: d, compactThrough: through)
        case .installSnapshot(let m, let d): try log.installSnapshot(m, data: d)
        case .broken(let b): try log.setBroken(b)
        }
    }

    public var hardState: HardState { working.hardState }
    public func saveHardState(_ state: HardState) throws { try write(.hardState(state)) }
    public var commitIndex: LogIndex { working.commitIndex }
    public func saveCommitIndex(_ index: LogIndex) throws { try write(.commitIndex(index)) }
    public var bootstrapConfig: ClusterConfig? { working.bootstrapConfig }
    public func saveBootstrapConfig(_ config: ClusterConfig) throws { try write(.bootstrapConfig(config)) }
    public var prefix: LogPosition { working.prefix }
    public var lastIndex: LogIndex { working.lastIndex }
    public func term(at index: LogIndex) -> Term? { working.term(at: index) }
    public func entries(from: LogIndex, through: LogIndex, maxBytes: Int) throws -> [Entry] {
        try working.entries(from: from, through: through, maxBytes: maxBytes)
    }
    public func append(_ entries: [Entry]) throws { try write(.append(entries)) }
    public func truncate(from index: LogIndex) throws { try write(.truncate(index)) }
    public func lastConfigIndex(atOrBefore index: LogIndex) -> LogIndex? { working.lastConfigIndex(atOrBefore: index) }
    public func saveSnapshot(_ meta: SnapshotMeta, data: [UInt8], compactThrough: LogIndex) throws {
        try write(.saveSnapshot(meta, data, compactThrough))
    }
    public func installSnapshot(_ meta: SnapshotMeta, data: [UInt8]) throws { try write(.installSnapshot(meta, data)) }
    public var snapshotMeta: SnapshotMeta? { working.snapshotMeta }
    public func loadSnapshot() throws -> (meta: SnapshotMeta, data: [UInt8])? { try working.loadSnapshot() }
    public var isBroken: Bool { working.isBroken }
    public func setBroken(_ broken: Bool) throws { try write(.broken(broken)) }

    public func sync() throws {
        disk.writes.append(contentsOf: unsynced)
        unsynced.removeAll()
        try working.sync()
    }

    public var changedFrom: LogIndex? { working.changedFrom }
    public func clearChanges() { working.clearChanges() }
}
