/// Errors from a log implementation. Each names what went wrong so a host can act on it.
public enum LogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The index lies in the prefix replaced by a snapshot.
    case compacted(LogIndex)
    /// The index lies beyond the last entry.
    case unavailable(LogIndex)
    /// An append did not start at lastIndex + 1.
    case notContiguous(expected: LogIndex, got: LogIndex)
    /// Truncation would remove committed entries.
    case belowCommit(index: LogIndex, commit: LogIndex)
    /// A record larger than the configured maximum.
    case recordTooLarge(size: Int, max: Int)
    /// Stored data failed its checksum or could not be parsed (not at the tail).
    case corrupt(String)
    /// A required file is missing.
    case missingFile(String)
    /// Another process holds the directory.
    case locked(String)
    /// The operating system refused an operation.
    case io(String)
    /// The log was marked broken (a non-idempotent apply failed) and must be fixed first.
    case broken

    public var description: String {
        switch self {
        case .compacted(let i): return "index \(i) is compacted into a snapshot"
        case .unavailable(let i): return "index \(i) is beyond the end of the log"
        case .notContiguous(let e, let g): return "append at index \(g), expected \(e)"
        case .belowCommit(let i, let c): return "truncate at \(i) would remove committed entries (commit \(c))"
        case .recordTooLarge(let s, let m): return "record of \(s) bytes exceeds the maximum of \(m)"
        case .corrupt(let what): return "log is corrupt: \(what)"
        case .missingFile(let f): return "log file missing: \(f)"
        case .locked(let d): return "log directory \(d) is held by another process"
        case .io(let what): return "log I/O error: \(what)"
        case .broken: return "log is marked broken"
        }
    }
}

/// The storage RaftCore drives. Writes may be buffered; `sync()` makes everything written so far
/// durable (the runtime calls it once per loop turn: group commit). Implementations:
/// `MemoryLog` (tests, simulator) and `FileLog` (the runtime's default), or a host's own.
///
/// Layout: entries `firstIndex...lastIndex` are retained; everything at or below
/// `prefix.index` (= firstIndex - 1) was compacted, and `prefix.term` is the term there. The
/// stored snapshot, if any, covers at least the compacted prefix.
public protocol RaftLog: AnyObject {
    var hardState: HardState { get }
    func saveHardState(_ state: HardState) throws

    /// Highest index known committed. May be saved lazily: after a crash it can be behind.
    var commitIndex: LogIndex { get }
    func saveCommitIndex(_ index: LogIndex) throws

    /// The configuration a node started with before any config entry or snapshot existed.
    var bootstrapConfig: ClusterConfig? { get }
    func saveBootstrapConfig(_ config: ClusterConfig) throws

    /// Position of the last compacted entry ((0, 0) when nothing was compacted).
    var prefix: LogPosition { get }
    var lastIndex: LogIndex { get }

    /// Term of the entry at `index`, for `prefix.index...lastIndex` (index 0 has term 0);
    /// nil outside that range.
    func term(at index: LogIndex) -> Term?

    /// Entries `from...through`, stopping early once `maxBytes` of payload is reached (always at
    /// least one entry). Throws `.compacted` / `.unavailable` for indexes outside the log.
    func entries(from: LogIndex, through: LogIndex, maxBytes: Int) throws -> [Entry]

    /// Appends entries whose first index must be lastIndex + 1 and whose indexes are consecutive.
    func append(_ entries: [Entry]) throws

    /// Removes every entry at or above `index` (a conflicting suffix). Refuses to go at or below
    /// the commit index.
    func truncate(from index: LogIndex) throws

    /// Index of the last retained `.config` entry at or below `index`, if any.
    func lastConfigIndex(atOrBefore index: LogIndex) -> LogIndex?

    /// Stores a snapshot and drops entries at or below `compactThrough` (which must not exceed
    /// `meta.index`; a smaller value keeps a trailing window of entries before the snapshot).
    func saveSnapshot(_ meta: SnapshotMeta, data: [UInt8], compactThrough: LogIndex) throws

    /// Replaces the log with a snapshot received from the leader. Entries after the snapshot are
    /// kept when the log holds meta.index with meta.term (Raft §7), otherwise discarded.
    func installSnapshot(_ meta: SnapshotMeta, data: [UInt8]) throws

    var snapshotMeta: SnapshotMeta? { get }
    func loadSnapshot() throws -> (meta: SnapshotMeta, data: [UInt8])?

    /// Set when a non-idempotent command failed to apply; a broken log refuses to start a node.
    var isBroken: Bool { get }
    func setBroken(_ broken: Bool) throws

    /// Makes every write so far durable.
    func sync() throws
}

extension RaftLog {
    public var firstIndex: LogIndex { prefix.index + 1 }
    public var lastTerm: Term { term(at: lastIndex) ?? 0 }
    public var lastPosition: LogPosition { LogPosition(index: lastIndex, term: lastTerm) }

    public func entry(at index: LogIndex) throws -> Entry {
        let e = try entries(from: index, through: index, maxBytes: Int.max)
        guard let first = e.first else { throw LogError.unavailable(index) }
        return first
    }
}

/// A state machine that applies runs of committed commands in one call, for hosts where each
/// call costs (a C or Python host: one crossing per batch instead of per command).
///
/// `applyBatch` gets consecutive commands in log order and returns one result per command it
/// processed, in order: the result bytes, or the error that command failed with. Under the
/// reject policy it processes them all. Under retry and halt it must stop after the first
/// failure (return that failure as the last result), because nothing after a failed command
/// may be applied before it; returning fewer results than commands at any point means the
/// rest were not applied and will be offered again.
public protocol BatchStateMachine: StateMachine {
    func applyBatch(_ commands: [(index: LogIndex, command: [UInt8])], stopAtFailure: Bool) -> [Result<[UInt8], Error>]
}

/// The replicated application. Called by RaftCore on the driver's thread, in log order, once
/// per committed command.
public protocol StateMachine: AnyObject {
    /// Applies a committed command and returns the result the proposer receives. Throwing is an
    /// apply failure, handled by the cluster's apply policy.
    func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8]
    /// The whole state as bytes, as of the last applied index.
    func snapshot() throws -> [UInt8]
    /// Replaces the whole state with a snapshot's bytes.
    func restore(_ data: [UInt8]) throws
}
