/// How the server routes a request (see `KVStateMachine.classify`).
public enum KVCommandClass: Equatable, Sendable {
    /// Changes the state: propose `KVCommand.exec` through the log; the entry's reply is the
    /// client's answer.
    case write
    /// Reads only: serve with `KVStateMachine.read` after a ReadIndex at the leader.
    case read
    /// Not a command of the state machine; answer the client with this error at once
    /// (Redis's "ERR unknown command 'x', with args beginning with: ...").
    case unknown(RESPValue)
    /// A known command with the wrong number of arguments; answer with this error at once
    /// ("ERR wrong number of arguments for 'set' command").
    case arity(RESPValue)

    /// The error to answer at once, nil for a command to execute.
    public var error: RESPValue? {
        switch self {
        case .write, .read: return nil
        case .unknown(let e), .arity(let e): return e
        }
    }

    /// Whether the command may be queued inside MULTI: every read and write is. After an
    /// error (unknown, arity) inside MULTI, Redis replies the error and EXEC then answers
    /// "EXECABORT Transaction discarded because of previous errors."
    public var isQueueable: Bool { error == nil }
}

/// One command of the table: Redis's arity convention (positive: exactly that many argv
/// entries counting the name; negative: at least that many), plus the count rules Redis checks
/// inside the command (MSET's pairs, LPOP's optional count).
struct KVCommandSpec: Sendable {
    enum Shape: Sendable { case any, oddCount, evenCount, atMost(Int) }

    let name: String
    let arity: Int
    let isWrite: Bool
    let shape: Shape
    let run: @Sendable (KVStore, [[UInt8]], UInt64) -> RESPValue

    init(_ name: String, _ arity: Int, _ isWrite: Bool, _ shape: Shape = .any,
         _ run: @escaping @Sendable (KVStore, [[UInt8]], UInt64) -> RESPValue) {
        self.name = name
        self.arity = arity
        self.isWrite = isWrite
        self.shape = shape
        self.run = run
    }

    func accepts(_ argc: Int) -> Bool {
        if arity >= 0 ? argc != arity : argc < -arity { return false }
        switch shape {
        case .any: return true
        case .oddCount: return argc % 2 == 1
        case .evenCount: return argc % 2 == 0
        case .atMost(let n): return argc <= n
        }
    }
}

enum KVCommandTable {
    private static let R = false, W = true

    static let specs: [KVCommandSpec] = [
        // Strings
        .init("get", 2, R) { $0.cmdGet($1, $2) },
        .init("set", -3, W) { $0.cmdSet($1, $2) },
        .init("setnx", 3, W) { $0.cmdSetNX($1, $2) },
        .init("setex", 4, W) { $0.cmdSetEX($1, $2) },
        .init("psetex", 4, W) { $0.cmdPSetEX($1, $2) },
        .init("getset", 3, W) { $0.cmdGetSet($1, $2) },
        .init("getdel", 2, W) { $0.cmdGetDel($1, $2) },
        .init("getex", -2, W) { $0.cmdGetEX($1, $2) },
        .init("append", 3, W) { $0.cmdAppend($1, $2) },
        .init("strlen", 2, R) { $0.cmdStrlen($1, $2) },
        .init("getrange", 4, R) { $0.cmdGetRange($1, $2) },
        .init("substr", 4, R) { $0.cmdGetRange($1, $2) },
        .init("setrange", 4, W) { $0.cmdSetRange($1, $2) },
        .init("mget", -2, R) { $0.cmdMGet($1, $2) },
        .init("mset", -3, W, .oddCount) { $0.cmdMSet($1, $2) },
        .init("msetnx", -3, W, .oddCount) { $0.cmdMSetNX($1, $2) },
        .init("incr", 2, W) { $0.cmdIncr($1, $2) },
        .init("decr", 2, W) { $0.cmdDecr($1, $2) },
        .init("incrby", 3, W) { $0.cmdIncrBy($1, $2) },
        .init("decrby", 3, W) { $0.cmdDecrBy($1, $2) },
        .init("incrbyfloat", 3, W) { $0.cmdIncrByFloat($1, $2) },
        // Keys
        .init("del", -2, W) { $0.cmdDel($1, $2) },
        .init("unlink", -2, W) { $0.cmdDel($1, $2) },
        .init("exists", -2, R) { $0.cmdExists($1, $2) },
        .init("touch", -2, R) { $0.cmdExists($1, $2) },
        .init("keys", 2, R) { $0.cmdKeys($1, $2) },
        .init("scan", -2, R) { $0.cmdScan($1, $2) },
        .init("type", 2, R) { $0.cmdType($1, $2) },
        .init("rename", 3, W) { $0.cmdRename($1, $2) },
        .init("renamenx", 3, W) { $0.cmdRenameNX($1, $2) },
        .init("expire", -3, W) { $0.cmdExpire($1, $2) },
        .init("pexpire", -3, W) { $0.cmdPExpire($1, $2) },
        .init("expireat", -3, W) { $0.cmdExpireAt($1, $2) },
        .init("pexpireat", -3, W) { $0.cmdPExpireAt($1, $2) },
        .init("ttl", 2, R) { $0.cmdTTL($1, $2) },
        .init("pttl", 2, R) { $0.cmdPTTL($1, $2) },
        .init("expiretime", 2, R) { $0.cmdExpireTime($1, $2) },
        .init("pexpiretime", 2, R) { $0.cmdPExpireTime($1, $2) },
        .init("persist", 2, W) { $0.cmdPersist($1, $2) },
        .init("dbsize", 1, R) { $0.cmdDBSize($1, $2) },
        .init("flushdb", -1, W) { $0.cmdFlush($1, $2) },
        .init("flushall", -1, W) { $0.cmdFlush($1, $2) },
        // Hashes
        .init("hset", -4, W, .evenCount) { $0.cmdHSet($1, $2) },
        .init("hmset", -4, W, .evenCount) { $0.cmdHMSet($1, $2) },
        .init("hsetnx", 4, W) { $0.cmdHSetNX($1, $2) },
        .init("hget", 3, R) { $0.cmdHGet($1, $2) },
        .init("hmget", -3, R) { $0.cmdHMGet($1, $2) },
        .init("hdel", -3, W) { $0.cmdHDel($1, $2) },
        .init("hgetall", 2, R) { $0.cmdHGetAll($1, $2) },
        .init("hkeys", 2, R) { $0.cmdHKeys($1, $2) },
        .init("hvals", 2, R) { $0.cmdHVals($1, $2) },
        .init("hlen", 2, R) { $0.cmdHLen($1, $2) },
        .init("hexists", 3, R) { $0.cmdHExists($1, $2) },
        .init("hstrlen", 3, R) { $0.cmdHStrlen($1, $2) },
        .init("hincrby", 4, W) { $0.cmdHIncrBy($1, $2) },
        .init("hincrbyfloat", 4, W) { $0.cmdHIncrByFloat($1, $2) },
        // Lists
        .init("lpush", -3, W) { $0.cmdLPush($1, $2) },
        .init("rpush", -3, W) { $0.cmdRPush($1, $2) },
        .init("lpushx", -3, W) { $0.cmdLPushX($1, $2) },
        .init("rpushx", -3, W) { $0.cmdRPushX($1, $2) },
        .init("lpop", -2, W, .atMost(3)) { $0.cmdLPop($1, $2) },
        .init("rpop", -2, W, .atMost(3)) { $0.cmdRPop($1, $2) },
        .init("lrange", 4, R) { $0.cmdLRange($1, $2) },
        .init("llen", 2, R) { $0.cmdLLen($1, $2) },
        .init("lindex", 3, R) { $0.cmdLIndex($1, $2) },
        .init("lset", 4, W) { $0.cmdLSet($1, $2) },
        .init("ltrim", 4, W) { $0.cmdLTrim($1, $2) },
        // Connection commands the server normally answers itself; here so they work in MULTI.
        .init("ping", -1, R, .atMost(2)) { $0.cmdPing($1, $2) },
        .init("echo", 2, R) { $0.cmdEcho($1, $2) },
    ]

    private static let byName = KVCommandNameTable(specs.map { KVCommandName($0.name)! })

    /// The name as argv[0] for commands decoded from the log, shared instead of allocated.
    static let nameBytes: [[UInt8]] = specs.map { Array($0.name.uppercased().utf8) }

    static func specIndex(_ name: [UInt8]) -> Int? {
        guard let k = KVCommandName(name) else { return nil }
        return byName.index(of: k)
    }

    static func specIndex(_ name: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let k = KVCommandName(name) else { return nil }
        return byName.index(of: k)
    }

    static func spec(_ name: [UInt8]) -> KVCommandSpec? {
        specIndex(name).map { specs[$0] }
    }

    static func classify(_ args: [[UInt8]]) -> KVCommandClass {
        guard let name = args.first, let spec = spec(name) else { return .unknown(KVReply.unknownCommand(args)) }
        guard spec.accepts(args.count) else { return .arity(KVReply.arity(spec.name)) }
        return spec.isWrite ? .write : .read
    }
}
