#if canImport(Glibc)
import Glibc
#endif
import RaftCore
import RaftUV

/// `--clear-broken` and `--force-sole-voter`: one repair on a stopped node's data dir, then
/// exit (docs/operations.md says when to use which).
enum NodeRepair {
    /// nil when neither flag is given; otherwise the exit status.
    static func run(_ flags: NodeFlags) throws(NodeFlags.UsageError) -> Int32? {
        let asked = ["clear-broken", "force-sole-voter"].filter { flags.has($0) }
        guard let action = asked.first else { return nil }
        guard asked.count == 1 else {
            throw NodeFlags.UsageError(description: "give --clear-broken or --force-sole-voter, not both")
        }
        guard let dir = flags.value("data-dir") else {
            throw NodeFlags.UsageError(description: "--\(action) needs --data-dir of the stopped node")
        }
        let identity: NodeIdentity
        do {
            guard try NodeFiles.readText(dir + "/" + NodeIdentity.fileName) != nil else {
                throw NodeFlags.UsageError(description: "--data-dir \(dir): no node here (no \(NodeIdentity.fileName))")
            }
            identity = try NodeIdentity.resolve(id: flags.value("id"), dataDir: dir, raftAddr: nil, clientAddr: nil)
        } catch let e as NodeFlags.UsageError {
            throw e
        } catch {
            throw NodeFlags.UsageError(description: "--data-dir \(dir): \(error)")
        }
        do {
            if action == "clear-broken" {
                let was = try DataDirRepair.isBroken(dataDir: dir)
                try DataDirRepair.clearBroken(dataDir: dir)
                print(was ? "node \(identity.id): broken mark cleared; start it as usual"
                          : "node \(identity.id): the log was not marked broken; nothing to do")
            } else {
                let (before, after) = try DataDirRepair.forceSoleVoter(dataDir: dir, id: identity.id)
                let dropped = before.memberIDs.filter { !after.contains($0) }
                print("node \(identity.id): now the only voter (removed: \(dropped.joined(separator: ", ")))")
                print("start it as usual, then add new, empty nodes with --join; never run the removed ones on their old data")
            }
            return 0
        } catch {
            fputs("raftengine-node: --\(action) \(dir): \(error)\n", stderr)
            return 1
        }
    }
}
