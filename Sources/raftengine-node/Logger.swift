#if canImport(Glibc)
import Glibc
#endif
import RaftCore

enum LogLevel: String, Comparable {
    case error, warn, info, debug
    var rank: Int { [.error: 0, .warn: 1, .info: 2, .debug: 3][self]! }
    static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}

/// One line per notable event on stderr.
struct Logger {
    let level: LogLevel

    func write(_ l: LogLevel, _ text: String) {
        guard l <= level else { return }
        fputs("\(NodeFiles.timestamp()) \(l.rawValue.uppercased()) \(text)\n", stderr)
    }

    func error(_ t: String) { write(.error, t) }
    func warn(_ t: String) { write(.warn, t) }
    func info(_ t: String) { write(.info, t) }

    func log(_ e: RaftEvent, node: String) {
        switch e {
        case .roleChanged(let r): info("\(node) role \(r.description.lowercased())")
        case .termChanged(let t): info("\(node) term \(t)")
        case .leaderChanged(let l): info("\(node) leader \(l ?? "unknown")")
        case .election(let s): write(.debug, "\(node) election \(s.rawValue)")
        case .resync(let s, let peer): write(.debug, "\(node) \(s.rawValue) to \(peer)")
        case .membershipChangeComplete(let op, let n): info("\(node) membership \(op) \(n) complete")
        case .membershipChangeAborted(let op, let n, let why): warn("\(node) membership \(op) \(n) aborted: \(why)")
        case .settingsChanged: info("\(node) new cluster settings in force")
        case .snapshotTaken(let i): info("\(node) snapshot taken at \(i)")
        case .snapshotInstalled(let i): info("\(node) snapshot installed at \(i)")
        case .applyFailed(let i, let why, let policy): warn("\(node) apply of index \(i) failed (\(policy)): \(why)")
        case .stopCommanded(let why): warn("\(node) stopped: \(why)")
        case .error(let why): error("\(node) \(why)")
        }
    }
}
