#if canImport(Glibc)
import Glibc
#endif
import RaftCore
import RaftStorage

/// The operator repairs of LogRecovery on a node's data directory (a FileLog), for a node that
/// is not running: the directory's lock keeps a running node's log out of reach.
public enum DataDirRepair {
    /// Clears the broken mark a halted apply left.
    public static func clearBroken(dataDir: String) throws {
        try withLog(dataDir) { try LogRecovery.clearBroken($0) }
    }

    /// Makes `id` the only voter of the membership stored in `dataDir` (quorum loss; see
    /// LogRecovery.forceSoleVoter for what it costs).
    @discardableResult
    public static func forceSoleVoter(dataDir: String, id: NodeID) throws -> (before: ClusterConfig, after: ClusterConfig) {
        try withLog(dataDir) { try LogRecovery.forceSoleVoter($0, id: id) }
    }

    /// Whether the log in `dataDir` is marked broken.
    public static func isBroken(dataDir: String) throws -> Bool {
        try withLog(dataDir) { $0.isBroken }
    }

    private static func withLog<T>(_ dir: String, _ body: (FileLog) throws -> T) throws -> T {
        guard !dir.isEmpty else { throw StartError.invalidConfig("no data directory") }
        // Never create one: a repair aimed at a wrong path must say so, not make an empty log.
        guard access(dir + "/" + "meta", F_OK) == 0 else {
            throw StartError.storage("\(dir) holds no node data (no meta file)")
        }
        let log: FileLog
        do { log = try FileLog(directory: dir) } catch let e as LogError {
            throw HostedNode.startError(e, where: dir)
        }
        defer { log.close() }
        return try body(log)
    }
}
