import Foundation
import Glibc
import Testing
import RaftCore
import RaftUV
import RaftTestSupport

/// A node started with join addresses never bootstraps: held back, it neither campaigns nor
/// applies anything; then it joins through the members and receives the cluster's history.
@Suite(.serialized) struct JoinTests {
    /// A loopback listener that never accepts or reads: what is sent to it is held back.
    final class Blackhole {
        let fd: Int32
        let port: UInt16
        init() {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutablePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    _ = bind(fd, $0, len)
                    _ = getsockname(fd, $0, &len)
                }
            }
            listen(fd, 16)
            self.fd = fd
            port = UInt16(bigEndian: addr.sin_port)
        }
        deinit { close(fd) }
    }

    @Test func aHeldBackJoinerNeverCampaignsThenJoins() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        try c.startAll()
        #expect(c.submit("3") == .applied(Array("3".utf8)))
        let hole = Blackhole()
        var config = RuntimeNodeConfig(id: "n4", dataDir: "\(c.dir)/n4", listenAddress: "127.0.0.1:0", bootstrap: false,
                                       clusterID: "test", settings: c.settings, commandTimeout: 1_500_000_000)
        config.joinAddresses = ["127.0.0.1:\(hole.port)"] + c.ids.map { c.addresses[$0]! }
        let machine = LockedCounter()
        let joiner = try c.host.startNode(config, stateMachine: machine)

        var roles: Set<Role> = []
        var terms: Set<Term> = []
        var appliedMax: LogIndex = 0
        let end = Date().addingTimeInterval(1.2)
        while Date() < end {
            if let s = joiner.status() {
                roles.insert(s.role)
                terms.insert(s.term)
                appliedMax = max(appliedMax, s.appliedIndex)
            }
            usleep(5000)
        }
        #expect(roles == [.follower])
        #expect(terms == [0])
        #expect(appliedMax == 0 && machine.total == 0)
        #expect(joiner.submitSync(Array("1".utf8), timeout: 2) == .retry)

        #expect(waitUntil(20) { joiner.status()?.config.isVoter("n4") == true })
        #expect(c.submit("4") == .applied(Array("7".utf8)))
        #expect(waitUntil { machine.total == 7 })
        let leader = try #require(c.leader)
        #expect(c.nodes[leader]?.status()?.config.voterIDs.count == 4)
        joiner.stop()
    }

    @Test func joinAndPeersTogetherAreRefused() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        var config = c.config("n1")
        config.joinAddresses = ["127.0.0.1:7001"]
        #expect(throws: StartError.invalidConfig(MemberListError.joinWithPeers.description)) {
            _ = try c.host.startNode(config, stateMachine: LockedCounter())
        }
    }
}
