import RaftCore

/// raftengine-node's replicated state: Redis's database 0 (strings, hashes, lists, each key
/// optionally with a deadline), executing Redis commands with Redis's replies and errors.
///
/// Determinism. Every write reaches the state machine as a log entry carrying the leader's
/// time (`KVCommand`), and executes at `max(entry time, lastAppliedTime)`, never at a
/// replica's own clock. A key is expired when that time is at or past its deadline: writes
/// treat it as absent and remove it, the leader's periodic `.expire` sweep removes the rest,
/// and reads (`read`) treat it as absent without changing anything. Snapshots list keys in
/// byte order with their deadlines, so replicas in the same state produce identical bytes.
///
/// Threading: like any `StateMachine`, used from one thread (the host's loop thread), where
/// the server also calls `read`, `classify` is a pure static function.
///
/// How the server uses it:
/// - `classify(args)`: `.write` → propose `KVCommand.exec(nowMs: leaderNow, args: args)`;
///   `.read` → ReadIndex, then `read(args, nowMs: max(lastAppliedTime, leaderNow))`;
///   `.unknown(e)` / `.arity(e)` → answer e at once (inside MULTI: answer e, then EXECABORT).
/// - MULTI ... EXEC → propose `KVCommand.transaction(nowMs:commands:)`; the entry's reply is
///   EXEC's array.
/// - Periodically, at the leader, when `nextExpiryDeadline()` ≤ its clock → propose
///   `KVCommand.expire(nowMs:)`.
/// - CLUSTER KEYSLOT / COUNTKEYSINSLOT / GETKEYSINSLOT → `keySlot`, `keyCount(inSlot:)`,
///   `keys(inSlot:count:)`; DBSIZE may be answered from `dbSize` after a ReadIndex.
public final class KVStateMachine: StateMachine {
    let store = KVStore()

    public init() {}

    /// Commands applied from log entries since this machine was made (a `.transaction` counts
    /// its commands): the server's measure for `--snapshot-every`, since one entry can carry a
    /// loop turn's worth of client writes. Local to this process, not part of the state.
    public internal(set) var appliedCommands: UInt64 = 0

    // MARK: StateMachine

    /// Decodes a `KVCommand` and executes it at `max(its nowMs, lastAppliedTime)`; returns the
    /// RESP reply bytes for the client. An entry this version cannot decode is answered with an
    /// error and not applied: every replica answers the same, so they stay identical.
    public func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
        // Writes from clients, executed straight from the entry's bytes (KVEntryApply).
        applyInPlace(command) ?? applyDecoding(command)
    }

    /// The general path: decodes the whole `KVCommand`, then executes it.
    func applyDecoding(_ command: [UInt8]) -> [UInt8] {
        let cmd: KVCommand
        do { cmd = try KVCommand(decoding: command) } catch {
            return RESPValue.error("ERR undecodable command: \(error)").encoded
        }
        let now = Swift.max(cmd.nowMs, store.time)
        store.time = now
        switch cmd {
        case .exec(_, let args):
            appliedCommands &+= 1
            return Self.encode(execute(args, now, allowWrites: true))
        case .transaction(_, let commands):
            appliedCommands &+= UInt64(commands.count)
            var out: [UInt8] = []
            out.reserveCapacity(16 + commands.count * 8)
            out.append(UInt8(ascii: "*"))
            out.append(contentsOf: String(commands.count).utf8)
            out.append(contentsOf: [13, 10])
            for c in commands { execute(c, now, allowWrites: true).encode(into: &out) }
            return out
        case .expire(_, let limit):
            appliedCommands &+= 1
            let n = store.sweep(now: now, limit: Int(clamping: limit))
            return RESPValue.integer(Int64(n)).encoded
        }
    }

    private static let okBytes = RESPValue.ok.encoded

    @inline(__always)
    static func encode(_ v: RESPValue) -> [UInt8] {
        if case .simple(let s) = v, s == "OK" { return okBytes }
        return v.encoded
    }

    func execute(_ args: [[UInt8]], _ now: UInt64, allowWrites: Bool) -> RESPValue {
        guard let name = args.first else { return .error("ERR empty command") }
        return execute(KVCommandTable.specIndex(name), args, now, allowWrites: allowWrites)
    }

    /// `execute` with the name already looked up (nil: not a command).
    @inline(__always)
    func execute(_ specIndex: Int?, _ args: [[UInt8]], _ now: UInt64, allowWrites: Bool) -> RESPValue {
        guard !args.isEmpty else { return .error("ERR empty command") }
        guard let i = specIndex else { return KVReply.unknownCommand(args) }
        let spec = KVCommandTable.specs[i]
        guard spec.accepts(args.count) else { return KVReply.arity(spec.name) }
        if spec.isWrite && !allowWrites {
            return .error("ERR '\(spec.name)' changes the data: it must be proposed through the log")
        }
        return spec.run(store, args, now)
    }

    // MARK: The server's API

    /// Routes a request by its name and argument count: `.write`, `.read`, or the error to
    /// answer at once (`.unknown`, `.arity`). Names are case-insensitive. Commands the server
    /// handles itself (MULTI/EXEC/DISCARD, INFO, CLUSTER, RAFT.*, ...) are `.unknown` here.
    /// PING and ECHO are `.read` (the state machine answers them too, for use inside MULTI).
    public static func classify(_ args: [[UInt8]]) -> KVCommandClass {
        KVCommandTable.classify(args)
    }

    /// `classify` for a request still in the parser's buffer, with the command's name as the
    /// table spells it (upper case, shared: no allocation) when it is one.
    public static func classify(_ args: RESPArgs) -> (KVCommandClass, name: [UInt8]?) {
        guard args.count > 0, let i = KVCommandTable.specIndex(args[0]) else {
            return (.unknown(KVReply.unknownCommand(args.arrays)), nil)
        }
        let spec = KVCommandTable.specs[i]
        guard spec.accepts(args.count) else { return (.arity(KVReply.arity(spec.name)), KVCommandTable.nameBytes[i]) }
        return (spec.isWrite ? .write : .read, KVCommandTable.nameBytes[i])
    }

    /// Executes a read-only command against the local state, judged at
    /// `max(nowMs, lastAppliedTime)`; changes nothing (an expired key reads as absent but
    /// stays until a write or sweep removes it). A write command is refused with an error.
    public func read(_ args: [[UInt8]], nowMs: UInt64) -> RESPValue {
        execute(args, Swift.max(nowMs, store.time), allowWrites: false)
    }

    /// The largest leader time any applied entry carried (0 before the first): the time the
    /// state has reached. Kept in snapshots. Pass `max(lastAppliedTime, leader clock)` to
    /// `read` so time never runs backwards across leader changes.
    public var lastAppliedTime: UInt64 { store.time }

    /// DBSIZE: keys stored, including keys past their deadline that no write or sweep has
    /// removed yet (as Redis counts them).
    public var dbSize: Int { store.count }

    /// Keys with a deadline (INFO keyspace's `expires`), expired ones not yet removed included.
    public var expiringCount: Int { store.volatileCount }

    /// The earliest deadline of any key (ms of leader time), nil when none has one. The leader
    /// proposes `.expire(nowMs:)` when this is at or before its clock.
    public func nextExpiryDeadline() -> UInt64? { store.nextDeadline() }

    /// Redis Cluster's slot of a key: CRC16 of the key (or its `{hash tag}`) mod 16384.
    public static func keySlot(_ key: [UInt8]) -> UInt16 { KVKeySlot.slot(key) }
    public func keySlot(_ key: [UInt8]) -> UInt16 { KVKeySlot.slot(key) }

    /// CLUSTER COUNTKEYSINSLOT: keys stored in the slot (0 for a slot ≥ 16384), counted as
    /// `dbSize` counts them.
    public func keyCount(inSlot slot: Int) -> Int {
        guard slot >= 0 && slot < KVKeySlot.count else { return 0 }
        return Int(store.slots.counts[slot])
    }

    /// CLUSTER GETKEYSINSLOT: up to `count` keys of the slot, in byte order.
    public func keys(inSlot slot: Int, count: Int) -> [[UInt8]] {
        guard slot >= 0 && slot < KVKeySlot.count, count > 0 else { return [] }
        let all = store.slots.keys(inSlot: slot).sorted { kvLess($0, $1) }
        return Array(all.prefix(count))
    }

    // MARK: Conveniences (tests, the server before its rewrite)

    /// The string value of a live key at `lastAppliedTime`, nil if absent or not a string.
    public func get(_ key: [UInt8]) -> [UInt8]? {
        guard let e = store.live(key, store.time), case .string(let s) = e.value else { return nil }
        return s
    }

    /// Same as `dbSize`.
    public var count: Int { store.count }
}
