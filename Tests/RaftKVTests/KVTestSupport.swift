import RaftCore
@testable import RaftKV

func b(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Parses one RESP2 reply (the state machine's output) back into a RESPValue.
func parseReply(_ bytes: [UInt8]) -> RESPValue? {
    var i = 0
    func line() -> String? {
        var j = i
        while j + 1 < bytes.count, !(bytes[j] == 13 && bytes[j + 1] == 10) { j += 1 }
        guard j + 1 < bytes.count else { return nil }
        let s = String(decoding: bytes[(i + 1)..<j], as: UTF8.self)
        i = j + 2
        return s
    }
    func value() -> RESPValue? {
        guard i < bytes.count else { return nil }
        let t = bytes[i]
        guard let l = line() else { return nil }
        switch t {
        case UInt8(ascii: "+"): return .simple(l)
        case UInt8(ascii: "-"): return .error(l)
        case UInt8(ascii: ":"): return Int64(l).map { .integer($0) }
        case UInt8(ascii: "$"):
            guard let n = Int(l) else { return nil }
            if n < 0 { return .bulk(nil) }
            guard i + n + 2 <= bytes.count else { return nil }
            let v = Array(bytes[i..<(i + n)])
            i += n + 2
            return .bulk(v)
        case UInt8(ascii: "*"):
            guard let n = Int(l) else { return nil }
            if n < 0 { return .array(nil) }
            var items: [RESPValue] = []
            for _ in 0..<n {
                guard let v = value() else { return nil }
                items.append(v)
            }
            return .array(items)
        default: return nil
        }
    }
    let v = value()
    return i == bytes.count ? v : nil
}

/// A state machine driven the way the server drives it: classify, then writes through
/// `apply` (as log entries at the current leader time `now`), reads through `read`.
final class KV {
    let m: KVStateMachine
    var now: UInt64
    var index: LogIndex = 0

    init(now: UInt64 = 1_700_000_000_000, machine: KVStateMachine = KVStateMachine()) {
        self.now = now
        self.m = machine
    }

    @discardableResult
    func callBytes(_ args: [[UInt8]]) -> RESPValue {
        switch KVStateMachine.classify(args) {
        case .write: return apply(.exec(nowMs: now, args: args))
        case .read: return m.read(args, nowMs: Swift.max(now, m.lastAppliedTime))
        case .unknown(let e), .arity(let e): return e
        }
    }

    @discardableResult
    func callAsFunction(_ args: String...) -> RESPValue { callBytes(args.map(b)) }

    @discardableResult
    func apply(_ cmd: KVCommand) -> RESPValue {
        index += 1
        let bytes = try! m.apply(cmd.encoded, index: index)
        guard let v = parseReply(bytes) else { fatalError("unparseable reply \(bytes)") }
        return v
    }

    @discardableResult
    func multi(_ cmds: [[String]]) -> RESPValue {
        apply(.transaction(nowMs: now, commands: cmds.map { $0.map(b) }))
    }

    func snapshot() -> [UInt8] { try! m.snapshot() }
}

extension RESPValue {
    static func bulks(_ items: String...) -> RESPValue { .array(items.map { .bulk($0) }) }
    static func int(_ n: Int64) -> RESPValue { .integer(n) }
    static let wrongType = RESPValue.error("WRONGTYPE Operation against a key holding the wrong kind of value")
    static let notInteger = RESPValue.error("ERR value is not an integer or out of range")
    static let syntax = RESPValue.error("ERR syntax error")
    static let notFloat = RESPValue.error("ERR value is not a valid float")
    static let empty = RESPValue.array([])

    var text: String? {
        if case .bulk(let v?) = self { return String(decoding: v, as: UTF8.self) }
        return nil
    }
}
