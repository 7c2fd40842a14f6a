import RaftCore

/// A user's state machine as a simulator user would write one: a tiny key-value store driven
/// by text commands `set K V` (answers the old value), `get K` (answers the value) and `del K`.
/// Unknown commands are refused. It counts every apply, so a test can see replays into a
/// machine that survives a restart.
final class TinyKV: StateMachine {
    struct Refused: Error, Equatable { var command: String }

    private(set) var values: [String: String] = [:]
    /// Applies this object has seen, over its whole life.
    private(set) var applies = 0

    func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
        let text = String(decoding: command, as: UTF8.self)
        let words = text.split(separator: " ", maxSplits: 2).map(String.init)
        applies += 1
        switch (words.first, words.count) {
        case ("set", 3):
            let old = values[words[1]]
            values[words[1]] = words[2]
            return Array((old ?? "").utf8)
        case ("get", 2):
            return Array((values[words[1]] ?? "").utf8)
        case ("del", 2):
            return Array((values.removeValue(forKey: words[1]) ?? "").utf8)
        default:
            applies -= 1
            throw Refused(command: text)
        }
    }

    /// Sorted `key=value` lines: the same state always gives the same bytes.
    func snapshot() throws -> [UInt8] {
        Array(values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined().utf8)
    }

    func restore(_ data: [UInt8]) throws {
        values = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            values[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
    }
}
