import RaftCore
import RaftStorage

/// A log whose durable state lives outside the object, in files. A simulated crash closes it
/// without syncing and a restart opens the node's storage again through
/// `SimCluster.Options.makeLog`, so the node comes back with what recovery finds on disk.
public protocol ReopenableLog: RaftLog {
    /// Lets go of the storage the way a crashing process does: no sync first.
    func closeWithoutSync()
}

extension FileLog: ReopenableLog {
    /// `close()` never syncs: the write buffer is dropped. Bytes already handed to the OS
    /// stay, as they would when only the process dies.
    public func closeWithoutSync() { close() }
}

/// A log that reports the lowest index changed since it was last asked, so the safety
/// checker reads only that part. Logs without it are checked whole after every step.
public protocol ChangeTrackingLog: RaftLog {
    var changedFrom: LogIndex? { get }
    func clearChanges()
}

extension MemoryLog: ChangeTrackingLog {}
