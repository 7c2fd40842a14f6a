#if canImport(Glibc)
import Glibc
#endif
import CRaftEngineABI
import RaftCore
import RaftUV

/// The C `re_host`.
final class HostBox {
    let host: UVHost
    init(_ host: UVHost) { self.host = host }
}

@_cdecl("re_host_new")
public func re_host_new(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return fail(.einval, "out is NULL") }
    let host: UVHost
    do { host = try UVHost() } catch { return fail(.enomem, "cannot start a loop: \(error)") }
    out.pointee = OpaquePointer(Unmanaged.passRetained(HostBox(host)).toOpaque())
    return 0
}

@_cdecl("re_host_run")
public func re_host_run(_ host: OpaquePointer?, _ fn: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
                        _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let host, let fn else { return fail(.einval, "host and fn must not be NULL") }
    let h = Unmanaged<HostBox>.fromOpaque(UnsafeRawPointer(host)).takeUnretainedValue().host
    return h.runOnLoop { fn(user) } ? 0 : fail(.estopped, "the host is stopped")
}

@_cdecl("re_host_free")
public func re_host_free(_ host: OpaquePointer?) {
    guard let host else { return }
    let b = Unmanaged<HostBox>.fromOpaque(UnsafeRawPointer(host))
    b.takeUnretainedValue().host.shutdown()
    b.release()
}

