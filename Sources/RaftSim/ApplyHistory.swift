import RaftCore

/// One thing a node's state machine took in: a committed command at an index, or a snapshot
/// that replaced the whole state up to an index. `lifetime` counts the node's starts from 1
/// (creation), so records from before and after a crash stay apart.
public struct ApplyRecord: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// A committed command, applied successfully (a refused one is not recorded).
        case command([UInt8])
        /// A snapshot restored: the state now covers every index up to `index`.
        case snapshotRestore
    }

    public var lifetime: Int
    public var index: LogIndex
    public var kind: Kind

    public init(lifetime: Int, index: LogIndex, kind: Kind) {
        self.lifetime = lifetime
        self.index = index
        self.kind = kind
    }

    /// The command, nil for a snapshot restore.
    public var command: [UInt8]? {
        if case .command(let c) = kind { return c }
        return nil
    }

    public var description: String {
        switch kind {
        case .command(let c): return "L\(lifetime) #\(index) \(String(decoding: c, as: UTF8.self))"
        case .snapshotRestore: return "L\(lifetime) #\(index) <snapshot>"
        }
    }
}

/// Everything a node's state machines applied, in order, across all its lifetimes. It lives
/// on the `SimNode`, outside the volatile part, so a crash does not lose it.
public struct ApplyHistory: Equatable, Sendable {
    public internal(set) var records: [ApplyRecord] = []

    public init(records: [ApplyRecord] = []) { self.records = records }

    /// The records of one lifetime.
    public func records(lifetime: Int) -> [ApplyRecord] { records.filter { $0.lifetime == lifetime } }

    /// The (index, command) pairs applied in one lifetime, restores left out.
    public func commands(lifetime: Int) -> [(index: LogIndex, command: [UInt8])] {
        records.compactMap { r in r.lifetime == lifetime ? r.command.map { (r.index, $0) } : nil }
    }

    /// Indexes whose command reached the machine's state more than once. A snapshot restore
    /// replaces the state, so it counts as one application of every index it covers and forgets
    /// what came before. With `machineSurvivesRestart` false (a fresh machine per lifetime, the
    /// simulator's default) a new lifetime starts from an empty state too; with true (the
    /// factory hands back the same durable object) lifetimes add up, which is what "applied
    /// exactly once across a node's lifetimes" checks.
    public func reappliedIndexes(machineSurvivesRestart: Bool) -> [LogIndex] {
        var count: [LogIndex: Int] = [:]
        var coveredThrough: LogIndex = 0
        var lifetime = records.first?.lifetime ?? 0
        var twice = Set<LogIndex>()
        for r in records {
            if r.lifetime != lifetime {
                lifetime = r.lifetime
                if !machineSurvivesRestart {
                    count.removeAll()
                    coveredThrough = 0
                }
            }
            switch r.kind {
            case .snapshotRestore:
                count.removeAll()
                coveredThrough = r.index
            case .command:
                let n = count[r.index, default: r.index <= coveredThrough ? 1 : 0] + 1
                count[r.index] = n
                if n > 1 { twice.insert(r.index) }
            }
        }
        return twice.sorted()
    }
}

/// Stands between the core and the user's machine: forwards every call and, when it succeeds,
/// records it in the node's history and tells the cluster's observers.
class ApplyRecorder: StateMachine {
    let inner: StateMachine
    let lifetime: Int
    unowned let node: SimNode
    /// Tells the cluster's apply observers (commands only).
    let notify: (NodeID, LogIndex, [UInt8]) -> Void

    init(_ inner: StateMachine, node: SimNode, notify: @escaping (NodeID, LogIndex, [UInt8]) -> Void) {
        self.inner = inner
        self.node = node
        self.lifetime = node.lifetime
        self.notify = notify
    }

    func recordCommand(_ command: [UInt8], index: LogIndex) {
        node.history.records.append(ApplyRecord(lifetime: lifetime, index: index, kind: .command(command)))
        notify(node.id, index, command)
    }

    func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
        let result = try inner.apply(command, index: index)
        recordCommand(command, index: index)
        return result
    }

    func snapshot() throws -> [UInt8] { try inner.snapshot() }

    /// The core restores before it tells which index the snapshot covers, and may apply more
    /// entries in the same call; the record takes its place now and its index once the cluster
    /// learns it (`SimCluster.resolveRestores`).
    func restore(_ data: [UInt8]) throws {
        try inner.restore(data)
        node.unresolvedRestores.append(node.history.records.count)
        node.history.records.append(ApplyRecord(lifetime: lifetime, index: 0, kind: .snapshotRestore))
    }
}

/// The recorder for a user machine that applies in batches itself: batches go through whole.
final class BatchApplyRecorder: ApplyRecorder, BatchStateMachine {
    func applyBatch(_ commands: [(index: LogIndex, command: [UInt8])], stopAtFailure: Bool) -> [Result<[UInt8], Error>] {
        let results = (inner as! BatchStateMachine).applyBatch(commands, stopAtFailure: stopAtFailure)
        for (c, r) in zip(commands, results) {
            if case .success = r { recordCommand(c.command, index: c.index) }
        }
        return results
    }
}
