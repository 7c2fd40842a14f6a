import RaftCore

/// The simulator's state machine: a running total driven by text commands `add N` / `sub N`
/// (other commands leave the total alone), as the seed harness's toy machine. `fail WHY` is a
/// bad command every replica refuses alike (with the message WHY). It records every applied
/// entry so tests and the fault runner can compare nodes.
public final class CounterMachine: StateMachine {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String { "injected failure" }
    }

    /// A deterministic refusal of a `fail WHY` command.
    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    public private(set) var total: Int64 = 0
    /// Every command applied, in order, with its index.
    public private(set) var applied: [(index: LogIndex, command: [UInt8])] = []
    /// When set, every apply throws (to test the apply-error policies).
    public var failing = false
    /// How many applies threw because of `failing`.
    public private(set) var injectedFailures = 0
    /// Observer called for each successful apply (the fault runner checks state machine safety).
    public var onApply: ((LogIndex, [UInt8]) -> Void)?

    public init() {}

    public func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
        if failing {
            injectedFailures += 1
            throw Failure()
        }
        if command.first == 0x66, command.starts(with: Self.failPrefix) {
            throw Refused(description: String(decoding: command.dropFirst(Self.failPrefix.count), as: UTF8.self))
        }
        // Only `add N` / `sub N` change the total; other payloads skip the text parsing.
        if command.count > 4, command[3] == 0x20, command[0] == 0x61 || command[0] == 0x73,
           let n = Int64(String(decoding: command[4...], as: UTF8.self)) {
            if command.starts(with: Array("add ".utf8)) { total &+= n }
            if command.starts(with: Array("sub ".utf8)) { total &-= n }
        }
        applied.append((index, command))
        onApply?(index, command)
        return Array(String(total).utf8)
    }

    static let failPrefix = Array("fail ".utf8)

    public func snapshot() throws -> [UInt8] {
        var w = ByteWriter()
        w.u64(UInt64(bitPattern: total))
        return w.bytes
    }

    public func restore(_ data: [UInt8]) throws {
        var r = ByteReader(data)
        total = Int64(bitPattern: try r.u64())
        try r.expectEnd()
        applied.removeAll()
    }
}

/// Offers a machine's commands to the core as batches (the path C and Python hosts take),
/// applying them one by one inside: the simulator runs the batch path with the same machine.
public final class BatchingMachine: BatchStateMachine {
    public let inner: StateMachine
    /// Sizes of the batches the core handed over, for tests.
    public private(set) var batchSizes: [Int] = []

    public init(_ inner: StateMachine) { self.inner = inner }

    public func applyBatch(_ commands: [(index: LogIndex, command: [UInt8])], stopAtFailure: Bool) -> [Result<[UInt8], Error>] {
        batchSizes.append(commands.count)
        var out: [Result<[UInt8], Error>] = []
        out.reserveCapacity(commands.count)
        for c in commands {
            do { out.append(.success(try inner.apply(c.command, index: c.index))) } catch {
                out.append(.failure(error))
                if stopAtFailure { break }
            }
        }
        return out
    }

    public func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] { try inner.apply(command, index: index) }
    public func snapshot() throws -> [UInt8] { try inner.snapshot() }
    public func restore(_ data: [UInt8]) throws { try inner.restore(data) }
}
