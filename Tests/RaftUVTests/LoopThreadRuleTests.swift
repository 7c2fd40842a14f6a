import Testing
@testable import RaftUV

/// RaftUV's loop-thread rule is asserted in debug builds: a loop-only function called from
/// another thread stops the process there, instead of racing the loop. (Release builds compile
/// the check away, so these run only in debug builds.)
@Suite struct LoopThreadRuleTests {
    #if DEBUG
    @Test func aLoopOnlyCallFromAnotherThreadStopsADebugBuild() async throws {
        let exit = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let host = try UVHost()
            // The test's thread is not the loop's.
            host.loop.requestAnotherTurn()
        }
        let said = String(decoding: try #require(exit).standardErrorContent, as: UTF8.self)
        #expect(said.contains("requestAnotherTurn() runs on the loop thread only"), "\(said)")
    }

    @Test func settingAHookOffTheLoopStopsADebugBuild() async throws {
        let exit = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let host = try UVHost()
            host.loop.setHook(ObjectIdentifier(host), nil)
        }
        let said = String(decoding: try #require(exit).standardErrorContent, as: UTF8.self)
        #expect(said.contains("runs on the loop thread only"), "\(said)")
    }
    #endif

    final class HookKey {}

    /// The same calls on the loop thread are fine.
    @Test func onTheLoopThreadTheyRun() throws {
        let host = try UVHost()
        defer { host.shutdown() }
        let key = HookKey()
        var ranHook = false
        let ran = host.runOnLoop {
            host.loop.setHook(ObjectIdentifier(key), order: 5) { ranHook = true }
            host.loop.requestAnotherTurn()
        }
        // The hook runs on a later turn: go through the loop until it has.
        for _ in 0..<1_000 where !ranHook { _ = host.runOnLoop {} }
        _ = host.runOnLoop { host.loop.setHook(ObjectIdentifier(key), nil) }
        #expect(ran && ranHook)
    }
}
