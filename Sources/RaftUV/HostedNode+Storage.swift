import RaftCore
import RaftStorage

/// A log the runtime closes once its node has stopped and made its last sync: FileLog releases
/// its directory lock; a host's own log learns that the node will not call it again (so the
/// host may hand the same storage to a restarted node).
public protocol ClosableRaftLog: RaftLog {
    func close()
}

extension FileLog: ClosableRaftLog {}

/// Where a node's log comes from: a FileLog in its data dir (the default) or any `RaftLog` the
/// host makes.
extension HostedNode {
    /// Loop thread, at start: the host's log, from the factory it gave `UVHost.startNode`.
    func openHostLog(_ make: () throws -> RaftLog) throws -> RaftLog {
        do { return try make() } catch let e as StartError {
            throw e
        } catch let e as LogError {
            throw Self.startError(e, where: "the host's log")
        } catch {
            throw StartError.storage("the host's log: \(error)")
        }
    }

    /// Loop thread, at start: FileLog in the data dir (created when missing).
    func openFileLog() throws -> RaftLog {
        // FileLog would take "" as the root directory.
        guard !config.dataDir.isEmpty else { throw StartError.invalidConfig("no data directory") }
        do { try makeDirectories(config.dataDir) } catch {
            throw StartError.storage("cannot create \(config.dataDir): \(error)")
        }
        do {
            let log = try FileLog(directory: config.dataDir)
            // Its snapshot files are written on the sync thread (HostedNode+SnapshotWrite).
            log.deferSnapshotWrites = true
            // And its large direct writes, in order before the fdatasyncs that cover them, while
            // the loop frames the next entries (BehindWrite).
            log.writeBehind = { [weak self] job in
                guard let self, !self.stopped else { return job.run() }
                if self.syncThread == nil { self.syncThread = SyncThread() }
                self.syncThread!.submit { job.run() }
            }
            return log
        } catch let e as LogError {
            throw Self.startError(e, where: config.dataDir)
        } catch {
            throw StartError.storage("\(error)")
        }
    }

    static func startError(_ e: LogError, where place: String) -> StartError {
        switch e {
        case .locked: return .dataDirLocked(place)
        case .corrupt, .missingFile: return .corrupt("\(e)")
        default: return .storage("\(e)")
        }
    }

    /// Loop thread: the node is done with its log (after its last sync, or a failed start).
    func closeLog() {
        (log as? ClosableRaftLog)?.close()
    }
}
