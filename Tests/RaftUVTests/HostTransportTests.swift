import Foundation
import Testing
import RaftCore
import RaftStorage
import RaftUV

/// A host-provided transport: nothing is bound (no listen address at all here), frames travel
/// through the test's closures, and `deliver` checks the sender the host names.
@Suite(.serialized) struct HostTransportTests {
    final class Registry: @unchecked Sendable {
        let lock = NSLock()
        var nodes: [NodeID: HostedNode] = [:]
        subscript(id: NodeID) -> HostedNode? {
            get { lock.lock(); defer { lock.unlock() }; return nodes[id] }
            set { lock.lock(); nodes[id] = newValue; lock.unlock() }
        }
    }

    @Test func framesFromTheNamedSenderOnlyAndNothingBound() throws {
        let host = try UVHost()
        defer { host.shutdown() }
        let ids = ["a", "b", "c"]
        let reg = Registry()
        var machines: [NodeID: LockedCounter] = [:]
        for id in ids {
            let m = LockedCounter()
            machines[id] = m
            var peers: [NodeID: String] = [:]
            for p in ids where p != id { peers[p] = "" }
            let cfg = RuntimeNodeConfig(id: id, dataDir: "", listenAddress: "", peers: peers,
                                        settings: ClusterSettings(heartbeatPeriod: 20_000_000, electionTimeoutMin: 150_000_000,
                                                                  electionTimeoutMax: 300_000_000))
            reg[id] = try host.startNode(cfg, stateMachine: m, log: { MemoryLog() }, customSend: { to, frame in
                reg[to]?.deliver(frame: frame, from: id)
            })
        }
        let leader = { ids.compactMap { reg[$0] }.first { $0.status()?.role == .leader } }
        #expect(waitUntil { leader() != nil })
        #expect(leader()?.submitSync(Array("4".utf8), timeout: 3) == .applied(Array("4".utf8)))
        #expect(waitUntil { machines.values.allSatisfy { $0.total == 4 } })
        let a = try #require(reg["a"])
        #expect(a.usesHostTransport && a.listenPort == 0)

        // A frame from b handed over as c's: dropped and counted. Garbage: counted. Neither is fatal.
        let forged = MessageCodec.encode(Message(from: "b", to: "a", term: 99,
                                                 body: .appendEntries(AppendEntries(prevIndex: 0, prevTerm: 0, commitIndex: 0))))
        #expect(a.deliver(frame: forged, from: "c") == .queued)
        #expect(a.deliver(frame: [1, 2, 3], from: "b") == .queued)
        #expect(a.deliver(frame: [UInt8](repeating: 0, count: a.config.maxFrameSize + 1), from: "b") == .tooLarge)
        #expect(waitUntil {
            let s = a.transportStats
            return s.spoofedSender == 1 && s.malformed == 1 && s.oversized == 1
        })
        #expect((a.status()?.term ?? 99) < 99)
        #expect(leader()?.submitSync(Array("1".utf8), timeout: 3) == .applied(Array("5".utf8)))
        a.stop()
        #expect(a.deliver(frame: forged, from: "b") == .stopped)
    }
}
