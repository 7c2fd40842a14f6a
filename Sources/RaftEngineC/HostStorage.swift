import CRaftEngineABI
import RaftCore

/// A host's own storage (re_config_set_storage): its function table, as this library knows it,
/// and user pointer.
struct HostStorage {
    let table: re_log_vtable
    let user: UnsafeMutableRawPointer?

    /// The runtime's log factory: loads the host's log on the loop thread as the node starts.
    var makeLog: () throws -> RaftLog {
        let table = self.table
        let user = self.user
        return { try CHostLog(table: table, user: user) }
    }

    /// The host's table with the fields its `size` covers (any later ones nil), refused unless
    /// every required function is there. Reads no byte past `size`: a host built against an
    /// older, shorter table must not be read beyond it.
    static func copy(_ p: UnsafePointer<re_log_vtable>) throws(ConfigRefusal) -> re_log_vtable {
        let size = UnsafeRawPointer(p).load(as: Int.self)
        let required = MemoryLayout<re_log_vtable>.offset(of: \re_log_vtable.close)!
        guard size >= required else {
            throw ConfigRefusal(.einval, "the storage table's size is \(size) bytes, below the \(required) of its required functions (set size to sizeof(re_log_vtable))")
        }
        var t = re_log_vtable()
        withUnsafeMutableBytes(of: &t) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: min(size, dst.count)))
        }
        let missing = [("load_hard_state", t.load_hard_state == nil), ("save_hard_state", t.save_hard_state == nil),
                       ("load_commit_index", t.load_commit_index == nil), ("save_commit_index", t.save_commit_index == nil),
                       ("load_bootstrap_config", t.load_bootstrap_config == nil),
                       ("save_bootstrap_config", t.save_bootstrap_config == nil), ("load_bounds", t.load_bounds == nil),
                       ("read_entries", t.read_entries == nil), ("append", t.append == nil), ("truncate", t.truncate == nil),
                       ("save_snapshot", t.save_snapshot == nil), ("install_snapshot", t.install_snapshot == nil),
                       ("load_snapshot", t.load_snapshot == nil), ("load_broken", t.load_broken == nil),
                       ("save_broken", t.save_broken == nil), ("sync", t.sync == nil)].filter(\.1).map(\.0)
        guard missing.isEmpty else { throw ConfigRefusal(.einval, "the storage table has no " + missing.joined(separator: ", ")) }
        return t
    }
}

@_cdecl("re_config_set_storage")
public func re_config_set_storage(_ config: OpaquePointer?, _ log: UnsafePointer<re_log_vtable>?,
                                  _ user: UnsafeMutableRawPointer?) -> Int32 {
    withConfig(config) { c throws(ConfigRefusal) in
        guard let log else { throw ConfigRefusal(.einval, "the storage needs a function table (re_log_vtable)") }
        c.storage = HostStorage(table: try HostStorage.copy(log), user: user)
    }
}
