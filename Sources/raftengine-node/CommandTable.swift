/// What COMMAND tells client libraries about each command: arity (negative: at least), flags
/// and key positions (cluster clients route by the first key).
struct CommandInfo {
    let name: String
    let arity: Int
    let flags: [String]
    let firstKey: Int
    let lastKey: Int
    let step: Int
}

enum CommandTable {
    static let all: [CommandInfo] = {
        func w(_ n: String, _ a: Int, _ f: Int = 1, _ l: Int = 1, _ s: Int = 1) -> CommandInfo {
            CommandInfo(name: n, arity: a, flags: ["write"], firstKey: f, lastKey: l, step: s)
        }
        func r(_ n: String, _ a: Int, _ f: Int = 1, _ l: Int = 1, _ s: Int = 1) -> CommandInfo {
            CommandInfo(name: n, arity: a, flags: ["readonly", "fast"], firstKey: f, lastKey: l, step: s)
        }
        func x(_ n: String, _ a: Int, _ flags: [String] = ["fast"]) -> CommandInfo {
            CommandInfo(name: n, arity: a, flags: flags, firstKey: 0, lastKey: 0, step: 0)
        }
        return [
            r("get", 2), w("set", -3), w("setnx", 3), w("setex", 4), w("psetex", 4), w("getset", 3), w("getdel", 2),
            w("getex", -2), w("append", 3), r("strlen", 2), r("getrange", 4), w("setrange", 4), r("mget", -2, 1, -1),
            w("mset", -3, 1, -1, 2), w("msetnx", -3, 1, -1, 2), w("incr", 2), w("decr", 2), w("incrby", 3),
            w("decrby", 3), w("incrbyfloat", 3), w("del", -2, 1, -1), r("exists", -2, 1, -1), r("type", 2),
            w("rename", 3, 1, 2), w("expire", -3), w("pexpire", -3), w("expireat", -3), w("pexpireat", -3),
            r("ttl", 2), r("pttl", 2), w("persist", 2), CommandInfo(name: "keys", arity: 2, flags: ["readonly"], firstKey: 0, lastKey: 0, step: 0),
            CommandInfo(name: "scan", arity: -2, flags: ["readonly"], firstKey: 0, lastKey: 0, step: 0),
            CommandInfo(name: "dbsize", arity: 1, flags: ["readonly", "fast"], firstKey: 0, lastKey: 0, step: 0),
            CommandInfo(name: "flushdb", arity: -1, flags: ["write"], firstKey: 0, lastKey: 0, step: 0),
            CommandInfo(name: "flushall", arity: -1, flags: ["write"], firstKey: 0, lastKey: 0, step: 0),
            w("hset", -4), w("hsetnx", 4), r("hget", 3), r("hmget", -3), w("hdel", -3), r("hgetall", 2), r("hlen", 2),
            r("hexists", 3), w("hincrby", 4), r("hkeys", 2), r("hvals", 2),
            w("lpush", -3), w("rpush", -3), w("lpop", -2), w("rpop", -2), r("lrange", 4), r("llen", 2), r("lindex", 3),
            x("ping", -1), x("echo", 2), x("hello", -1), x("auth", -2), x("client", -2), x("command", -1),
            x("quit", -1), x("select", 2), x("info", -1), x("config", -2), x("readonly", 1), x("readwrite", 1),
            x("multi", 1), x("exec", 1), x("discard", 1), x("cluster", -2), x("time", 1),
            x("raft.status", 1), x("raft.add", 4), x("raft.remove", 2), x("raft.transfer", 2), x("raft.snapshot", 1),
        ]
    }()

    static let byName: [String: CommandInfo] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}
