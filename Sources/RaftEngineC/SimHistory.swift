#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftSim

// re_sim_history: a ClientHistory over the register or counter model with int64_t values,
// recorded through a simulated cluster (SimCluster's propose/read/readLocally in a history) or
// by hand, and its linearizability check.

private let opRead = Int32(RE_SIM_OP_READ.rawValue)
private let opWrite = Int32(RE_SIM_OP_WRITE.rawValue)
private let opAdd = Int32(RE_SIM_OP_ADD.rawValue)

/// A model the C histories can run: its inputs from and to the C op codes.
protocol SimHistoryModel: LinearizabilityModel where Output == Int64 {
    static func input(_ op: Int32, _ arg: Int64) -> Input?
    static func code(_ input: Input) -> (op: Int32, arg: Int64)
}

extension RegisterModel: SimHistoryModel where Value == Int64 {
    static func input(_ op: Int32, _ arg: Int64) -> Op? {
        switch op {
        case opRead: return .read
        case opWrite: return .write(arg)
        default: return nil
        }
    }

    static func code(_ input: Op) -> (op: Int32, arg: Int64) {
        switch input {
        case .read: return (opRead, 0)
        case .write(let v): return (opWrite, v)
        }
    }
}

extension CounterModel: SimHistoryModel {
    static func input(_ op: Int32, _ arg: Int64) -> Op? {
        switch op {
        case opRead: return .read
        case opAdd: return .add(arg)
        default: return nil
        }
    }

    static func code(_ input: Op) -> (op: Int32, arg: Int64) {
        switch input {
        case .read: return (opRead, 0)
        case .add(let n): return (opAdd, n)
        }
    }
}

/// The C history's calls, whatever its model.
protocol SimHistoryOps: AnyObject {
    var count: Int { get }
    func invoke(op: Int32, arg: Int64, client: String, step: Int) -> Int?
    func operation(_ id: Int) -> (op: Int32, arg: Int64, completion: Int32, output: Int64)
    func isPending(_ id: Int) -> Bool
    func complete(_ id: Int, _ output: Int64, step: Int)
    func fail(_ id: Int, step: Int)
    func propose(_ box: SimBox, _ node: NodeID, _ command: [UInt8], op: Int32, arg: Int64, client: String) -> (id: Int, request: UInt64)?
    func read(_ box: SimBox, _ node: NodeID, _ value: SimValueSource, client: String) -> (id: Int, request: UInt64)
    func readLocally(_ box: SimBox, _ node: NodeID, _ value: SimValueSource, client: String) -> Int
    func check(limit: Int) -> (verdict: re_sim_linearizability, description: String)
}

/// The host's read callback.
struct SimValueSource {
    var fn: re_sim_value_fn
    var user: UnsafeMutableRawPointer?

    /// Node `node`'s value as the host says, or nil when it cannot say.
    func value(_ box: SimBox, _ node: NodeID) -> Int64? {
        var v: Int64 = 0
        let rc = fn(user, OpaquePointer(Unmanaged.passUnretained(box).toOpaque()), box.number(node), &v)
        return rc == 0 ? v : nil
    }
}

final class SimHistory<M: SimHistoryModel>: SimHistoryOps {
    let history: ClientHistory<M>
    /// Operations whose answer could not be read (a result that is no number, a read callback
    /// that failed): why, by id. Any makes the history not linearizable.
    private var wrong: [Int: String] = [:]

    init(_ model: M) { history = ClientHistory(model) }

    var count: Int { history.operations.count }

    func invoke(op: Int32, arg: Int64, client: String, step: Int) -> Int? {
        guard let input = M.input(op, arg) else { return nil }
        return history.invoke(input, client: client, step: step)
    }

    func operation(_ id: Int) -> (op: Int32, arg: Int64, completion: Int32, output: Int64) {
        let o = history.operations[id]
        let (op, arg) = M.code(o.input)
        switch o.completion {
        case .pending: return (op, arg, Int32(RE_SIM_PENDING.rawValue), 0)
        case .ok(let out): return (op, arg, Int32(RE_SIM_COMPLETED.rawValue), out)
        case .failed: return (op, arg, Int32(RE_SIM_FAILED.rawValue), 0)
        }
    }

    func isPending(_ id: Int) -> Bool { history.operations[id].complete == nil }
    func complete(_ id: Int, _ output: Int64, step: Int) { history.complete(id, output, step: step) }
    func fail(_ id: Int, step: Int) { history.fail(id, step: step) }

    func propose(_ box: SimBox, _ node: NodeID, _ command: [UInt8], op: Int32, arg: Int64, client: String) -> (id: Int, request: UInt64)? {
        guard let input = M.input(op, arg) else { return nil }
        let id = history.operations.count
        let rid = box.cluster.propose(bytes: command, at: node, as: input, in: history, client: client) { [weak self] bytes in
            // A write's output is not compared: the register takes the written value.
            if op == opWrite { return arg }
            if let n = Int64(String(decoding: bytes, as: UTF8.self)) { return n }
            self?.wrong[id] = "operation \(id)'s result \"\(String(decoding: bytes.prefix(64), as: UTF8.self))\" is not a decimal integer"
            return 0
        }
        return (id, rid)
    }

    func read(_ box: SimBox, _ node: NodeID, _ value: SimValueSource, client: String) -> (id: Int, request: UInt64) {
        let id = history.operations.count
        // The box outlives the read: the cluster that answers it belongs to the box.
        let rid = box.cluster.read(at: node, as: M.input(opRead, 0)!, in: history, client: client) { [weak self, unowned box] _ in
            self?.answer(id, value.value(box, node)) ?? 0
        }
        return (id, rid)
    }

    func readLocally(_ box: SimBox, _ node: NodeID, _ value: SimValueSource, client: String) -> Int {
        let id = history.operations.count
        return box.cluster.readLocally(at: node, as: M.input(opRead, 0)!, in: history, client: client) { _ in
            answer(id, value.value(box, node))
        }
    }

    private func answer(_ id: Int, _ v: Int64?) -> Int64 {
        if let v { return v }
        wrong[id] = "operation \(id)'s read callback could not say the value"
        return 0
    }

    func check(limit: Int) -> (verdict: re_sim_linearizability, description: String) {
        let ops = operationLines()
        if let first = wrong.min(by: { $0.key < $1.key }) {
            return (RE_SIM_NOT_LINEARIZABLE, "not linearizable: \(first.value)\n" + ops)
        }
        switch history.check(limit: limit) {
        case .linearizable(let order):
            return (RE_SIM_LINEARIZABLE, "linearizable: order " + order.map(String.init).joined(separator: " ") + "\n" + ops)
        case .notLinearizable:
            return (RE_SIM_NOT_LINEARIZABLE, "not linearizable: no order of the operations explains their outputs\n" + ops)
        case .undecided(let limit):
            return (RE_SIM_UNDECIDED, "undecided: the search visited \(limit) states without an answer\n" + ops)
        }
    }

    /// One line per operation: id, client, input, invocation, completion.
    private func operationLines() -> String {
        history.operations.map { o in
            let (op, arg) = M.code(o.input)
            let what = op == opRead ? "read" : op == opWrite ? "write \(arg)" : "add \(arg)"
            // Operations recorded by hand have no cluster step (-1).
            func at(_ position: Int?, _ step: Int?) -> String {
                "at \(position ?? 0)" + ((step ?? -1) >= 0 ? " (step \(step!))" : "")
            }
            var line = "op \(o.id) [\(o.client)] \(what): invoked " + at(o.invoke, o.invokeStep)
            switch o.completion {
            case .pending: line += ", pending"
            case .ok: line += (op == opWrite ? ", completed " : ", answered \(o.output ?? 0) ") + at(o.complete, o.completeStep)
            case .failed: line += ", failed " + at(o.complete, o.completeStep)
            }
            return line + "\n"
        }.joined()
    }
}

final class SimHistoryBox {
    let ops: SimHistoryOps
    init(_ ops: SimHistoryOps) { self.ops = ops }
}

func historyBox(_ p: OpaquePointer?) -> SimHistoryBox? { box(p, SimHistoryBox.self) }

func clientName(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "c" }

@_cdecl("re_sim_history_new")
public func re_sim_history_new(_ model: Int32, _ initial: Int64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return fail(.einval, "out is NULL") }
    let ops: SimHistoryOps
    switch model {
    case Int32(RE_SIM_MODEL_REGISTER.rawValue): ops = SimHistory(RegisterModel<Int64>(initial: initial))
    case Int32(RE_SIM_MODEL_COUNTER.rawValue): ops = SimHistory(CounterModel(initial: initial))
    default: return fail(.einval, "model \(model) is not an re_sim_model")
    }
    out.pointee = OpaquePointer(Unmanaged.passRetained(SimHistoryBox(ops)).toOpaque())
    return 0
}

@_cdecl("re_sim_history_free")
public func re_sim_history_free(_ history: OpaquePointer?) {
    guard let history else { return }
    Unmanaged<SimHistoryBox>.fromOpaque(UnsafeRawPointer(history)).release()
}

/// Runs `body` with the history and node `node` of a running cluster, or fails.
private func withHistoryNode(_ history: OpaquePointer?, _ sim: OpaquePointer?, _ node: Int32,
                             _ body: (SimHistoryOps, SimBox, NodeID) -> Int32) -> Int32 {
    guard let h = historyBox(history) else { return fail(.einval, "history is NULL") }
    return withLiveSimNode(sim, node) { b, id in
        return body(h.ops, b, id)
    }
}

@_cdecl("re_sim_history_propose")
public func re_sim_history_propose(_ history: OpaquePointer?, _ sim: OpaquePointer?, _ node: Int32, _ command: UnsafePointer<UInt8>?,
                                   _ len: Int, _ op: Int32, _ arg: Int64, _ client: UnsafePointer<CChar>?,
                                   _ id: UnsafeMutablePointer<Int>?, _ request: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard command != nil || len == 0 else { return fail(.einval, "command is NULL") }
    return withHistoryNode(history, sim, node) { h, b, nid in
        let bytes = len > 0 ? Array(UnsafeBufferPointer(start: command, count: len)) : []
        guard let made = h.propose(b, nid, bytes, op: op, arg: arg, client: clientName(client)) else {
            return fail(.einval, "op \(op) is not one of this history's model")
        }
        id?.pointee = made.id
        request?.pointee = made.request
        return 0
    }
}

@_cdecl("re_sim_history_read")
public func re_sim_history_read(_ history: OpaquePointer?, _ sim: OpaquePointer?, _ node: Int32, _ value: re_sim_value_fn?,
                                _ user: UnsafeMutableRawPointer?, _ client: UnsafePointer<CChar>?,
                                _ id: UnsafeMutablePointer<Int>?, _ request: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let value else { return fail(.einval, "value is NULL") }
    return withHistoryNode(history, sim, node) { h, b, nid in
        let made = h.read(b, nid, SimValueSource(fn: value, user: user), client: clientName(client))
        id?.pointee = made.id
        request?.pointee = made.request
        return 0
    }
}

@_cdecl("re_sim_history_read_locally")
public func re_sim_history_read_locally(_ history: OpaquePointer?, _ sim: OpaquePointer?, _ node: Int32, _ value: re_sim_value_fn?,
                                        _ user: UnsafeMutableRawPointer?, _ client: UnsafePointer<CChar>?,
                                        _ id: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let value else { return fail(.einval, "value is NULL") }
    return withHistoryNode(history, sim, node) { h, b, nid in
        // Read first: `id?.pointee = read...` would skip the read for a NULL id.
        let made = h.readLocally(b, nid, SimValueSource(fn: value, user: user), client: clientName(client))
        id?.pointee = made
        return 0
    }
}

@_cdecl("re_sim_history_invoke")
public func re_sim_history_invoke(_ history: OpaquePointer?, _ op: Int32, _ arg: Int64, _ client: UnsafePointer<CChar>?,
                                  _ id: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let h = historyBox(history) else { return fail(.einval, "history is NULL") }
    guard let made = h.ops.invoke(op: op, arg: arg, client: clientName(client), step: -1) else {
        return fail(.einval, "op \(op) is not one of this history's model")
    }
    id?.pointee = made
    return 0
}

/// Runs `body` for a pending operation `id`, or fails.
private func withPending(_ history: OpaquePointer?, _ id: Int, _ body: (SimHistoryOps) -> Void) -> Int32 {
    guard let h = historyBox(history) else { return fail(.einval, "history is NULL") }
    guard id < h.ops.count else { return fail(.einval, "the history has \(h.ops.count) operations, no operation \(id)") }
    guard h.ops.isPending(id) else { return fail(.einval, "operation \(id) is already completed or failed") }
    body(h.ops)
    return 0
}

@_cdecl("re_sim_history_complete")
public func re_sim_history_complete(_ history: OpaquePointer?, _ id: Int, _ output: Int64) -> Int32 {
    withPending(history, id) { $0.complete(id, output, step: -1) }
}

@_cdecl("re_sim_history_fail")
public func re_sim_history_fail(_ history: OpaquePointer?, _ id: Int) -> Int32 {
    withPending(history, id) { $0.fail(id, step: -1) }
}

@_cdecl("re_sim_history_count")
public func re_sim_history_count(_ history: OpaquePointer?) -> Int { historyBox(history)?.ops.count ?? 0 }

@_cdecl("re_sim_history_operation")
public func re_sim_history_operation(_ history: OpaquePointer?, _ id: Int, _ op: UnsafeMutablePointer<Int32>?,
                                     _ arg: UnsafeMutablePointer<Int64>?, _ completion: UnsafeMutablePointer<Int32>?,
                                     _ output: UnsafeMutablePointer<Int64>?) -> Int32 {
    guard let h = historyBox(history) else { return fail(.einval, "history is NULL") }
    guard id < h.ops.count else { return fail(.enotfound, "the history has \(h.ops.count) operations, no operation \(id)") }
    let o = h.ops.operation(id)
    op?.pointee = o.op
    arg?.pointee = o.arg
    completion?.pointee = o.completion
    output?.pointee = o.output
    return 0
}

@_cdecl("re_sim_history_check")
public func re_sim_history_check(_ history: OpaquePointer?, _ limit: Int,
                                 _ description: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let h = historyBox(history) else { return fail(.einval, "history is NULL") }
    let (verdict, text) = h.ops.check(limit: limit == 0 ? 1_000_000 : limit)
    if let description {
        guard let s = mallocString(text) else { return fail(.enomem, "cannot allocate \(text.utf8.count) bytes") }
        description.pointee = s
    }
    return Int32(verdict.rawValue)
}
