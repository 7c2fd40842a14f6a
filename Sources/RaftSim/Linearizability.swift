/// What a linearizability check needs from the object under test: its sequential behaviour.
/// `step` answers the state after `input` in `state` if `output` is one that state could give,
/// nil if not; a nil `output` (an operation whose answer never came) accepts any answer.
public protocol LinearizabilityModel {
    associatedtype State: Hashable
    associatedtype Input
    associatedtype Output
    var initial: State { get }
    func step(_ state: State, _ input: Input, _ output: Output?) -> State?
}

/// One client operation of a history. `invoke` and `complete` are positions in the history's
/// own event order (strictly increasing), `invokeStep` / `completeStep` the cluster steps for
/// people reading it.
public struct ClientOperation<Input, Output> {
    public enum Completion {
        /// No answer yet, or one that leaves open whether it took effect (a timeout, a leader
        /// that stepped down): it may be linearized anywhere after its invocation, or not at all.
        case pending
        /// Answered with this output.
        case ok(Output)
        /// Known not to have taken effect (refused, redirected): left out of the check.
        case failed
    }

    public var id: Int
    public var client: String
    public var input: Input
    public var invoke: Int
    public var invokeStep: Int
    public var completion: Completion = .pending
    public var complete: Int?
    public var completeStep: Int?

    public var output: Output? {
        if case .ok(let o) = completion { return o }
        return nil
    }
}

/// The answer of a linearizability check.
public enum LinearizabilityResult: Equatable, Sendable {
    /// A legal order exists: these operation ids, in linearization order (pending operations
    /// that were left out are not listed).
    case linearizable(order: [Int])
    /// No order of the operations explains the outputs.
    case notLinearizable
    /// The search visited `limit` states without an answer.
    case undecided(limit: Int)

    public var isLinearizable: Bool { if case .linearizable = self { return true } else { return false } }
}

/// A history of client operations against one object, and its check. Wing & Gong's search
/// with Lowe's memo of (linearized set, state): an operation may come next only if no other
/// unlinearized operation completed before it was invoked; completed operations must all be
/// placed, pending ones may be placed or left out. Exponential at worst: meant for the small
/// histories of a test.
public final class ClientHistory<Model: LinearizabilityModel> {
    public let model: Model
    public private(set) var operations: [ClientOperation<Model.Input, Model.Output>] = []
    private var clock = 0

    public init(_ model: Model) { self.model = model }

    /// Records that `client` invoked `input` (at cluster step `step`); returns its id.
    @discardableResult
    public func invoke(_ input: Model.Input, client: String = "c", step: Int = 0) -> Int {
        clock += 1
        operations.append(ClientOperation(id: operations.count, client: client, input: input, invoke: clock, invokeStep: step))
        return operations.count - 1
    }

    /// Records the answer of operation `id`.
    public func complete(_ id: Int, _ output: Model.Output, step: Int = 0) {
        finish(id, .ok(output), step: step)
    }

    /// Records that operation `id` did not take effect.
    public func fail(_ id: Int, step: Int = 0) { finish(id, .failed, step: step) }

    private func finish(_ id: Int, _ completion: ClientOperation<Model.Input, Model.Output>.Completion, step: Int) {
        clock += 1
        operations[id].completion = completion
        operations[id].complete = clock
        operations[id].completeStep = step
    }

    /// Searches for a linearization; gives up after `limit` distinct search states.
    public func check(limit: Int = 1_000_000) -> LinearizabilityResult {
        let ops = operations.filter { if case .failed = $0.completion { return false } else { return true } }
        var search = Search(model: model, ops: ops, limit: limit)
        if search.run(done: OpSet(count: ops.count), state: model.initial) {
            return .linearizable(order: search.order.map { ops[$0].id })
        }
        return search.visited >= limit ? .undecided(limit: limit) : .notLinearizable
    }

    private struct Search {
        let model: Model
        let ops: [ClientOperation<Model.Input, Model.Output>]
        let limit: Int
        var memo = Set<Key>()
        var visited = 0
        var order: [Int] = []
        let mustPlace: OpSet

        struct Key: Hashable {
            var done: OpSet
            var state: Model.State
        }

        init(model: Model, ops: [ClientOperation<Model.Input, Model.Output>], limit: Int) {
            self.model = model
            self.ops = ops
            self.limit = limit
            var must = OpSet(count: ops.count)
            for (i, o) in ops.enumerated() where o.complete != nil { must.insert(i) }
            mustPlace = must
        }

        mutating func run(done: OpSet, state: Model.State) -> Bool {
            if done.contains(mustPlace) { return true }
            guard visited < limit, memo.insert(Key(done: done, state: state)).inserted else { return false }
            visited += 1
            // Nothing invoked after the earliest completion among the rest may come next.
            var horizon = Int.max
            for i in ops.indices where !done.contains(i) { horizon = min(horizon, ops[i].complete ?? .max) }
            for i in ops.indices where !done.contains(i) && ops[i].invoke < horizon {
                guard let next = model.step(state, ops[i].input, ops[i].output) else { continue }
                var d = done
                d.insert(i)
                order.append(i)
                if run(done: d, state: next) { return true }
                order.removeLast()
            }
            return false
        }
    }
}

/// A set of operation positions, any size.
struct OpSet: Hashable {
    private var words: [UInt64]

    init(count: Int) { words = Array(repeating: 0, count: (count + 63) / 64) }

    func contains(_ i: Int) -> Bool { words[i / 64] & (1 << UInt64(i % 64)) != 0 }
    mutating func insert(_ i: Int) { words[i / 64] |= 1 << UInt64(i % 64) }
    func contains(_ other: OpSet) -> Bool { zip(words, other.words).allSatisfy { $0 & $1 == $1 } }
}

/// A read/write register. A write's output is ignored; a read must return the last write
/// (or `initial` before any).
public struct RegisterModel<Value: Hashable>: LinearizabilityModel {
    public enum Op {
        case write(Value)
        case read
    }

    public let initial: Value
    public init(initial: Value) { self.initial = initial }

    public func step(_ state: Value, _ input: Op, _ output: Value?) -> Value? {
        switch input {
        case .write(let v): return v
        case .read: return output == nil || output == state ? state : nil
        }
    }
}

/// A counter. `add` answers the total after it (as `CounterMachine` does), `read` the total.
public struct CounterModel: LinearizabilityModel {
    public enum Op {
        case add(Int64)
        case read
    }

    public let initial: Int64
    public init(initial: Int64 = 0) { self.initial = initial }

    public func step(_ state: Int64, _ input: Op, _ output: Int64?) -> Int64? {
        let next: Int64
        switch input {
        case .add(let n): next = state &+ n
        case .read: next = state
        }
        return output == nil || output == next ? next : nil
    }
}
