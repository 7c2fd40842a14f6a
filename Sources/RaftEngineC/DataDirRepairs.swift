import CRaftEngineABI
import RaftCore
import RaftUV

/// The data-dir repairs (DataDirRepair) as C calls: typed errors mapped to status codes by case.
private func repair(_ dir: UnsafePointer<CChar>?, _ body: (String) throws -> Int32) -> Int32 {
    guard let dir else { return fail(.einval, "data_dir is NULL") }
    do { return try body(String(cString: dir)) } catch let e as StartError {
        return fail(e.status, e.description)
    } catch let e as RaftError {
        return fail(e.status, e.description)
    } catch {
        return fail(.eio, "\(error)")
    }
}

@_cdecl("re_data_dir_clear_broken")
public func re_data_dir_clear_broken(_ dir: UnsafePointer<CChar>?) -> Int32 {
    repair(dir) { path in
        try DataDirRepair.clearBroken(dataDir: path)
        return REStatus.ok.rawValue
    }
}

@_cdecl("re_data_dir_is_broken")
public func re_data_dir_is_broken(_ dir: UnsafePointer<CChar>?) -> Int32 {
    repair(dir) { path in try DataDirRepair.isBroken(dataDir: path) ? 1 : 0 }
}

@_cdecl("re_data_dir_force_sole_voter")
public func re_data_dir_force_sole_voter(_ dir: UnsafePointer<CChar>?, _ id: UnsafePointer<CChar>?) -> Int32 {
    guard let id, id.pointee != 0 else { return fail(.einval, "id is NULL or empty") }
    return repair(dir) { path in
        try DataDirRepair.forceSoleVoter(dataDir: path, id: String(cString: id))
        return REStatus.ok.rawValue
    }
}
