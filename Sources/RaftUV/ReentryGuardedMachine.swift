import RaftCore

/// Wraps the host's state machine to mark when user code runs inside a core call: a request
/// made from there must wait for the core to return (it is queued), while one made from any
/// other callback on the loop thread can go to the core at once.
class ReentryGuardedMachine: StateMachine {
    let inner: StateMachine
    private(set) var isRunning = false

    init(_ inner: StateMachine) { self.inner = inner }

    func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
        try running { try inner.apply(command, index: index) }
    }

    func snapshot() throws -> [UInt8] { try running { try inner.snapshot() } }

    func restore(_ data: [UInt8]) throws { try running { try inner.restore(data) } }

    /// The guard for the host's machine: batch-capable when the host's machine is.
    static func wrapping(_ inner: StateMachine) -> ReentryGuardedMachine {
        if let b = inner as? BatchStateMachine { return ReentryGuardedBatchMachine(b) }
        return ReentryGuardedMachine(inner)
    }

    func running<T>(_ body: () throws -> T) rethrows -> T {
        let outer = isRunning
        isRunning = true
        defer { isRunning = outer }
        return try body()
    }
}

/// The same guard around a machine that applies batches.
final class ReentryGuardedBatchMachine: ReentryGuardedMachine, BatchStateMachine {
    let batch: BatchStateMachine

    init(_ inner: BatchStateMachine) {
        batch = inner
        super.init(inner)
    }

    func applyBatch(_ commands: [(index: LogIndex, command: [UInt8])], stopAtFailure: Bool) -> [Result<[UInt8], Error>] {
        running { batch.applyBatch(commands, stopAtFailure: stopAtFailure) }
    }
}
