import CRaftEngineABI
import RaftCore
import RaftUV

/// A host's storage (re_config_set_storage) as the runtime's `RaftLog`, on the loop thread.
///
/// The core asks some things without `throws` (terms, bounds, configuration positions, hard
/// state, the snapshot's metadata); a host that failed there could only hand it a wrong answer
/// in the middle of a decision (a vote on a wrong last term breaks election safety). So those
/// answers come from what this side keeps: loaded once at start, then changed by each write
/// only after the host returned 0. After a failed write the host's state is unknown, so every
/// later write refuses with the same error, as FileLog does.
final class CHostLog: ClosableRaftLog {
    private let table: re_log_vtable
    private let user: UnsafeMutableRawPointer?
    private(set) var hardState: HardState
    private(set) var commitIndex: LogIndex
    private(set) var bootstrapConfig: ClusterConfig?
    private(set) var prefix: LogPosition
    private(set) var snapshotMeta: SnapshotMeta?
    private(set) var isBroken: Bool
    private var kept: RetainedEntries
    /// The snapshot's data read at start, for the core's first loadSnapshot (it restores the
    /// state machine from it at once); dropped then.
    private var startSnapshotData: [UInt8]?
    private var failure: LogError?
    private var closed = false

    /// Bytes per read_entries call while rebuilding what is kept at start.
    static let startReadBytes = 4 << 20

    /// Loads the host's log (loop thread). A failed load closes the storage again.
    init(table: re_log_vtable, user: UnsafeMutableRawPointer?) throws {
        self.table = table
        self.user = user
        do {
            let s = try HostLogLoad(table: table, user: user)
            hardState = s.hardState
            commitIndex = s.commitIndex
            bootstrapConfig = s.bootstrapConfig
            prefix = s.prefix
            snapshotMeta = s.snapshot?.meta
            startSnapshotData = s.snapshot?.data
            isBroken = s.isBroken
            kept = s.kept
        } catch {
            table.close?(user)
            throw error
        }
    }

    var lastIndex: LogIndex { kept.lastIndex }

    func term(at index: LogIndex) -> Term? {
        index == prefix.index ? prefix.term : kept.term(at: index)
    }

    func lastConfigIndex(atOrBefore index: LogIndex) -> LogIndex? { kept.lastConfigIndex(atOrBefore: index) }

    // MARK: Writes

    func saveHardState(_ state: HardState) throws {
        try checkWritable()
        guard state != hardState else { return }
        try write("save_hard_state") {
            if let v = state.votedFor { return v.withCString { table.save_hard_state!(user, state.term, $0) } }
            return table.save_hard_state!(user, state.term, nil)
        }
        hardState = state
    }

    func saveCommitIndex(_ index: LogIndex) throws {
        try checkWritable()
        guard index > commitIndex else { return }
        try write("save_commit_index") { table.save_commit_index!(user, index) }
        commitIndex = index
    }

    func saveBootstrapConfig(_ config: ClusterConfig) throws {
        try checkWritable()
        let bytes = config.encoded()
        try write("save_bootstrap_config") { bytes.withUnsafeBufferPointer { table.save_bootstrap_config!(user, $0.baseAddress, $0.count) } }
        bootstrapConfig = config
    }

    func append(_ entries: [Entry]) throws {
        try checkWritable()
        var expected = lastIndex + 1
        for e in entries {
            guard e.index == expected else { throw LogError.notContiguous(expected: expected, got: e.index) }
            expected += 1
        }
        guard !entries.isEmpty else { return }
        // One buffer for every entry's data, so all the records can point into it at once.
        let data = entries.flatMap(\.data)
        try write("append") {
            data.withUnsafeBufferPointer { all in
                var offset = 0
                let records = entries.map { e -> re_log_entry in
                    defer { offset += e.data.count }
                    return re_log_entry(index: e.index, term: e.term, kind: Int32(e.kind.rawValue),
                                        data: e.data.isEmpty ? nil : all.baseAddress! + offset, data_len: e.data.count)
                }
                return records.withUnsafeBufferPointer { table.append!(user, $0.baseAddress, $0.count) }
            }
        }
        for e in entries { kept.append(index: e.index, term: e.term, kind: e.kind) }
    }

    func truncate(from index: LogIndex) throws {
        try checkWritable()
        guard index > commitIndex else { throw LogError.belowCommit(index: index, commit: commitIndex) }
        guard index > prefix.index else { throw LogError.compacted(index) }
        guard index <= lastIndex else { return }
        try write("truncate") { table.truncate!(user, index) }
        kept.removeFrom(index)
    }

    func saveSnapshot(_ meta: SnapshotMeta, data: [UInt8], compactThrough: LogIndex) throws {
        try checkWritable()
        let through = min(compactThrough, meta.index, lastIndex)
        let newPrefix = through > prefix.index ? LogPosition(index: through, term: term(at: through)!) : prefix
        let metaBytes = HostLogLoad.encode(meta)
        try write("save_snapshot") {
            metaBytes.withUnsafeBufferPointer { m in
                data.withUnsafeBufferPointer { d in
                    table.save_snapshot!(user, m.baseAddress, m.count, d.baseAddress, d.count, newPrefix.index, newPrefix.term)
                }
            }
        }
        snapshotMeta = meta
        if newPrefix != prefix {
            kept.removeThrough(newPrefix.index)
            prefix = newPrefix
        }
    }

    func installSnapshot(_ meta: SnapshotMeta, data: [UInt8]) throws {
        try checkWritable()
        // Raft §7: entries after the snapshot stay when the log holds its last entry.
        let keep = meta.index > prefix.index && term(at: meta.index) == meta.term
        let metaBytes = HostLogLoad.encode(meta)
        try write("install_snapshot") {
            metaBytes.withUnsafeBufferPointer { m in
                data.withUnsafeBufferPointer { d in
                    table.install_snapshot!(user, m.baseAddress, m.count, d.baseAddress, d.count, meta.index, meta.term, keep ? 1 : 0)
                }
            }
        }
        snapshotMeta = meta
        if keep { kept.removeThrough(meta.index) } else { kept = RetainedEntries(after: meta.index) }
        prefix = LogPosition(index: meta.index, term: meta.term)
        // What a snapshot covers is committed.
        try saveCommitIndex(meta.index)
    }

    func setBroken(_ broken: Bool) throws {
        try checkWritable()
        guard broken != isBroken else { return }
        try write("save_broken") { table.save_broken!(user, broken ? 1 : 0) }
        isBroken = broken
    }

    func sync() throws {
        try checkWritable()
        try write("sync") { table.sync!(user) }
    }

    func close() {
        guard !closed else { return }
        closed = true
        startSnapshotData = nil
        table.close?(user)
    }

    // MARK: Reads

    func entries(from: LogIndex, through: LogIndex, maxBytes: Int) throws -> [Entry] {
        guard from > prefix.index else { throw LogError.compacted(from) }
        guard through <= lastIndex else { throw LogError.unavailable(through) }
        guard from <= through else { return [] }
        if closed { throw LogError.io("host storage is closed") }
        let out = try HostLogLoad.read(table: table, user: user, from: from, through: through, maxBytes: maxBytes)
        for e in out where e.term != kept.term(at: e.index) {
            throw LogError.corrupt("host storage: read_entries gave term \(e.term) for index \(e.index), appended with term \(kept.term(at: e.index) ?? 0)")
        }
        return out
    }

    func loadSnapshot() throws -> (meta: SnapshotMeta, data: [UInt8])? {
        guard let meta = snapshotMeta else { return nil }
        if let data = startSnapshotData {
            startSnapshotData = nil
            return (meta, data)
        }
        if closed { throw LogError.io("host storage is closed") }
        guard let stored = try HostLogLoad.snapshot(table: table, user: user), stored.meta == meta else {
            throw LogError.corrupt("host storage: load_snapshot gave another snapshot than the one last saved (index \(meta.index))")
        }
        return stored
    }

    // MARK: Shared

    private func checkWritable() throws {
        if closed { throw LogError.io("host storage is closed") }
        if let failure { throw failure }
    }

    /// Calls a host write; a non-zero result fails this and every later write.
    private func write(_ name: String, _ call: () -> Int32) throws {
        let rc = call()
        guard rc == 0 else {
            let e = LogError.io("host storage: \(name) returned \(rc)")
            failure = e
            throw e
        }
    }
}
