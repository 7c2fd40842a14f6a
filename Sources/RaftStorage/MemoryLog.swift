import RaftCore

/// An in-memory `RaftLog` for tests and the simulator. Everything written counts as durable:
/// a simulated crash keeps the object and drops only the node's volatile state.
public final class MemoryLog: RaftLog {
    public private(set) var hardState = HardState()
    public private(set) var commitIndex: LogIndex = 0
    public private(set) var bootstrapConfig: ClusterConfig?
    public private(set) var prefix = LogPosition.zero
    public private(set) var snapshotMeta: SnapshotMeta?
    public private(set) var isBroken = false
    private var snapshotData: [UInt8] = []
    private var log: [Entry] = []
    /// Counts `sync()` calls, so tests can check group commit.
    public private(set) var syncCount = 0
    /// Lowest index appended, truncated or compacted since `clearChanges()`; lets a checker
    /// look only at what changed.
    public private(set) var changedFrom: LogIndex?

    private func markChanged(_ index: LogIndex) { changedFrom = min(changedFrom ?? index, index) }
    public func clearChanges() { changedFrom = nil }

    public init() {}

    public var lastIndex: LogIndex { prefix.index + LogIndex(log.count) }

    public func saveHardState(_ state: HardState) throws { hardState = state }
    public func saveCommitIndex(_ index: LogIndex) throws { commitIndex = max(commitIndex, index) }
    public func saveBootstrapConfig(_ config: ClusterConfig) throws { bootstrapConfig = config }

    public func term(at index: LogIndex) -> Term? {
        if index == prefix.index { return prefix.term }
        guard index > prefix.index, index <= lastIndex else { return nil }
        return log[Int(index - prefix.index - 1)].term
    }

    public func entries(from: LogIndex, through: LogIndex, maxBytes: Int) throws -> [Entry] {
        guard from > prefix.index else { throw LogError.compacted(from) }
        guard through <= lastIndex else { throw LogError.unavailable(through) }
        guard from <= through else { return [] }
        var out: [Entry] = []
        var bytes = 0
        for i in from...through {
            let e = log[Int(i - prefix.index - 1)]
            if !out.isEmpty && bytes + e.data.count > maxBytes { break }
            bytes += e.data.count
            out.append(e)
        }
        return out
    }

    public func append(_ entries: [Entry]) throws {
        var expected = lastIndex + 1
        for e in entries {
            guard e.index == expected else { throw LogError.notContiguous(expected: expected, got: e.index) }
            expected += 1
        }
        if let first = entries.first { markChanged(first.index) }
        log.append(contentsOf: entries)
    }

    public func truncate(from index: LogIndex) throws {
        guard index > commitIndex else { throw LogError.belowCommit(index: index, commit: commitIndex) }
        guard index > prefix.index else { throw LogError.compacted(index) }
        guard index <= lastIndex else { return }
        markChanged(index)
        log.removeSubrange(Int(index - prefix.index - 1)...)
    }

    public func lastConfigIndex(atOrBefore index: LogIndex) -> LogIndex? {
        var i = min(index, lastIndex)
        while i > prefix.index {
            if log[Int(i - prefix.index - 1)].kind == .config { return i }
            i -= 1
        }
        return nil
    }

    public func saveSnapshot(_ meta: SnapshotMeta, data: [UInt8], compactThrough: LogIndex) throws {
        let through = min(compactThrough, meta.index, lastIndex)
        snapshotMeta = meta
        snapshotData = data
        if through > prefix.index, let t = term(at: through) {
            log.removeFirst(Int(through - prefix.index))
            prefix = LogPosition(index: through, term: t)
        }
    }

    public func installSnapshot(_ meta: SnapshotMeta, data: [UInt8]) throws {
        if meta.index > prefix.index, term(at: meta.index) == meta.term {
            log.removeFirst(Int(meta.index - prefix.index))
        } else {
            log.removeAll()
        }
        prefix = LogPosition(index: meta.index, term: meta.term)
        markChanged(prefix.index + 1)
        snapshotMeta = meta
        snapshotData = data
        commitIndex = max(commitIndex, meta.index)
    }

    public func loadSnapshot() throws -> (meta: SnapshotMeta, data: [UInt8])? {
        guard let m = snapshotMeta else { return nil }
        return (m, snapshotData)
    }

    public func setBroken(_ broken: Bool) throws { isBroken = broken }

    public func sync() throws { syncCount += 1 }
}
