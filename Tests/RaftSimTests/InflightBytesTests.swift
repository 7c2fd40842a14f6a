import Testing
import RaftCore
import RaftSim

/// The in-flight window's byte cap (`ClusterSettings.maxInflightBytes`) in a running cluster:
/// large entries stop the stream before the count cap does, and everything still commits.
@Suite struct InflightBytesTests {
    func appends(in outbox: [Message], to peer: NodeID) -> [AppendEntries] {
        outbox.compactMap {
            guard $0.to == peer, case .appendEntries(let ae) = $0.body else { return nil }
            return ae
        }
    }

    func elected(maxInflightBytes: UInt64) -> SimCluster {
        var o = SimCluster.Options(nodeCount: 3)
        o.settings.maxEntriesPerMessage = 1
        o.settings.maxInflight = 64
        o.settings.maxInflightBytes = maxInflightBytes
        let c = SimCluster(o)
        c.elect(c.id(1))
        c.deliverAll()
        return c
    }

    /// Ten 400-byte commands (`add` with a zero-padded number), one entry per append, with no
    /// acknowledgement yet.
    func proposeTen(_ c: SimCluster) {
        for i in 1...10 {
            let n = String(i)
            c.propose(c.id(1), "add " + String(repeating: "0", count: 396 - n.count) + n)
        }
    }

    @Test func theByteCapStopsTheStreamBeforeTheCountCap() throws {
        let c = elected(maxInflightBytes: 1_000)
        proposeTen(c)
        let toN2 = appends(in: c.node(1).outbox, to: c.id(2)).filter { !$0.entries.isEmpty }
        // 400 and 800 bytes are below the cap, so a third append goes and takes it over: then
        // the window is full (the cap is soft, as etcd's).
        #expect(toN2.count == 3)
        let n2 = try #require(c.node(1).raft?.followers.first { $0.id == c.id(2) })
        #expect(n2.inflight == 3 && n2.state == .replicate)
        c.deliverAll()
        c.heartbeat(c.id(1))
        c.deliverAll()
        #expect(c.node(1).total == 55 && c.node(2).total == 55 && c.node(3).total == 55)
    }

    @Test func theDefaultCapLeavesSmallEntriesToTheCountCap() {
        let c = elected(maxInflightBytes: ClusterSettings.defaultMaxInflightBytes)
        proposeTen(c)
        #expect(appends(in: c.node(1).outbox, to: c.id(2)).filter { !$0.entries.isEmpty }.count == 10)
    }
}
