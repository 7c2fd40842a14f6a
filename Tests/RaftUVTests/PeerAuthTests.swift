import Foundation
import Glibc
import Testing
import RaftCore
@testable import RaftUV
import RaftTestSupport

/// Peer authentication: a mutual HMAC challenge-response in the handshake, on when a cluster
/// secret is given. Right secrets work; wrong or missing secrets, replayed handshakes and
/// peers speaking for another id are refused and counted, never fatal.
@Suite(.serialized) struct PeerAuthTests {
    static let secret = Array("correct horse battery staple".utf8)
    static let other = Array("another secret of enough length".utf8)
    static func secrets(_ s: [UInt8], accepting more: [[UInt8]] = []) -> ClusterSecrets {
        try! ClusterSecrets(current: s, alsoAccepted: more)
    }

    // MARK: The proof itself

    @Test func aProofVerifiesOnlyWithTheSameSecretIdsAndNonces() {
        let a = PeerAuth.nonce(), b = PeerAuth.nonce()
        #expect(a != b && a.count == 32)
        let p = PeerAuth.proof(.client, secret: Self.secret, clusterID: "c", clientID: "n1", serverID: "n2", clientNonce: a, serverNonce: b)
        func ok(_ s: ClusterSecrets, _ role: PeerAuth.Role = .client, cluster: String = "c", client: String = "n1",
                server: String = "n2", cn: [UInt8]? = nil, sn: [UInt8]? = nil) -> Bool {
            PeerAuth.verify(p, role, secrets: s, clusterID: cluster, clientID: client, serverID: server,
                            clientNonce: cn ?? a, serverNonce: sn ?? b)
        }
        #expect(ok(Self.secrets(Self.secret)))
        #expect(!ok(Self.secrets(Self.other)))
        #expect(ok(Self.secrets(Self.other, accepting: [Self.secret])))
        #expect(!ok(Self.secrets(Self.secret), .server))
        #expect(!ok(Self.secrets(Self.secret), cluster: "d"))
        #expect(!ok(Self.secrets(Self.secret), client: "n3"))
        #expect(!ok(Self.secrets(Self.secret), server: "n1"))
        #expect(!ok(Self.secrets(Self.secret), sn: PeerAuth.nonce()))
        #expect(!PeerAuth.verify(Array(p.dropLast()), .client, secrets: Self.secrets(Self.secret), clusterID: "c",
                                 clientID: "n1", serverID: "n2", clientNonce: a, serverNonce: b))
    }

    @Test func handshakeFramesRoundTrip() throws {
        for f in [AuthFrame.hello(clusterID: "c", nodeID: "n1", address: "127.0.0.1:1", nonce: PeerAuth.nonce()),
                  .challenge(nodeID: "n2", nonce: PeerAuth.nonce(), proof: [1, 2, 3]), .proof([4, 5])] {
            #expect(try AuthFrame(decoding: f.encoded) == f)
            #expect(AuthFrame.version(of: f.encoded) == 2)
        }
        #expect(AuthFrame.version(of: Handshake(clusterID: "c", nodeID: "n", address: "").encoded) == 1)
    }

    @Test func shortSecretsAreRefused() {
        #expect(throws: SecretError.tooShort(5)) { try ClusterSecrets(current: Array("short".utf8)) }
    }

    @Test func secretFilesMustBePrivate() throws {
        let dir = NSTemporaryDirectory() + "raft-secret-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/secret"
        try "correct horse battery staple\r\nthe previous one, still accepted\n\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        #expect(throws: SecretError.tooOpen(path: path, mode: 0o100644)) { try ClusterSecrets(file: path) }
        #expect("\(SecretError.tooOpen(path: path, mode: 0o100644))" == "the cluster secret file \(path) is readable by others (mode 644); chmod 600 it")
        chmod(path, 0o600)
        let s = try ClusterSecrets(file: path)
        #expect(s.current == Self.secret)
        #expect(s.alsoAccepted == [Array("the previous one, still accepted".utf8)])
        #expect(throws: SecretError.unreadable(path: dir + "/none", errno: ENOENT)) { try ClusterSecrets(file: dir + "/none") }
    }

    // MARK: Clusters

    @Test func aSecuredClusterCommitsAndSurvivesARestart() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        for id in c.ids { c.secrets[id] = Self.secrets(Self.secret) }
        try c.startAll()
        #expect(c.submit("2") == .applied(Array("2".utf8)))
        #expect(waitUntil { c.machines.values.allSatisfy { $0.total == 2 } })
        let victim = c.ids.first { $0 != c.leader }!
        c.nodes[victim]!.stop()
        try c.start(victim)
        #expect(c.submit("3") == .applied(Array("5".utf8)))
        #expect(waitUntil { c.machines[victim]!.total == 5 })
        #expect(c.nodes.values.allSatisfy { $0.transportStats.authFailed == 0 })
    }

    @Test func aNodeWithTheWrongSecretIsRefusedAndCounted() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        c.secrets = ["n1": Self.secrets(Self.secret), "n2": Self.secrets(Self.secret), "n3": Self.secrets(Self.other)]
        try c.startAll()
        #expect(c.submit("4") == .applied(Array("4".utf8)))
        #expect(waitUntil { c.nodes["n3"]!.transportStats.authFailed > 0 && c.nodes["n1"]!.transportStats.authFailed > 0 })
        usleep(300_000)
        #expect(c.machines["n3"]!.total == 0)
        #expect(c.nodes["n3"]!.status()?.role != .leader)
        #expect(!c.nodes["n3"]!.isStopped)
    }

    @Test func rotationInTwoRollingPhasesNeverSplitsTheCluster() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        let old = Self.secret, new = Self.other
        for id in c.ids { c.secrets[id] = Self.secrets(old) }
        try c.startAll()
        var total = 0
        func commit(_ n: Int) {
            total += n
            #expect(c.submit("\(n)") == .applied(Array("\(total)".utf8)))
        }
        commit(1)
        // Phase 1: one at a time, every node accepts the new secret, still proving with the old.
        for id in c.ids {
            c.nodes[id]!.stop()
            c.secrets[id] = Self.secrets(old, accepting: [new])
            try c.start(id)
            commit(1)
        }
        // Phase 2: one at a time, every node proves with the new secret, accepting the old.
        for id in c.ids {
            c.nodes[id]!.stop()
            c.secrets[id] = Self.secrets(new, accepting: [old])
            try c.start(id)
            commit(1)
        }
        #expect(waitUntil { c.machines.values.allSatisfy { $0.total == Int64(total) } })
        #expect(c.nodes.values.allSatisfy { $0.transportStats.authFailed == 0 })
    }

    // MARK: Attacks on the handshake, by a raw client

    /// A blocking connection that speaks frames.
    final class RawPeer {
        let fd: Int32
        init(port: UInt16) {
            fd = connectLoopback(port: port)
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        deinit { close(fd) }
        func send(_ frame: [UInt8]) {
            var out: [UInt8] = []
            Frame.append(frame, to: &out)
            _ = out.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
        /// The next frame, or nil when the connection closed or nothing came.
        func receive() -> [UInt8]? {
            var r = FrameReader(maxFrameSize: 1 << 20)
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                if let f = try? r.next() { return f }
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
                guard n > 0 else { return nil }
                buf.withUnsafeBufferPointer { r.feed(UnsafeBufferPointer(rebasing: $0[0..<n])) }
            }
        }
        /// Runs the client side of the handshake as `id` with `secret` against `server`; returns
        /// the hello and proof frames it sent (for replay), or nil when no challenge came.
        func authenticate(as id: NodeID, to server: NodeID, secret: [UInt8]) -> (hello: [UInt8], proof: [UInt8])? {
            let nonce = PeerAuth.nonce()
            let hello = AuthFrame.hello(clusterID: "test", nodeID: id, address: "", nonce: nonce).encoded
            send(hello)
            guard let frame = receive(), case .challenge(let answered, let serverNonce, let serverProof)? = try? AuthFrame(decoding: frame),
                  answered == server,
                  PeerAuth.verify(serverProof, .server, secrets: try! ClusterSecrets(current: secret), clusterID: "test",
                                  clientID: id, serverID: server, clientNonce: nonce, serverNonce: serverNonce) else { return nil }
            let proof = AuthFrame.proof(PeerAuth.proof(.client, secret: secret, clusterID: "test", clientID: id, serverID: server,
                                                       clientNonce: nonce, serverNonce: serverNonce)).encoded
            send(proof)
            return (hello, proof)
        }

        /// True once the server closed the connection.
        var closedByPeer: Bool {
            var b: UInt8 = 0
            return read(fd, &b, 1) == 0
        }
    }

    func port(_ c: LoopbackCluster, _ id: NodeID) -> UInt16 { UInt16(c.addresses[id]!.split(separator: ":")[1])! }

    func heartbeat(from: NodeID, to: NodeID, term: Term) -> [UInt8] {
        MessageCodec.encode(Message(from: from, to: to, term: term, body: .appendEntries(AppendEntries(prevIndex: 0, prevTerm: 0, commitIndex: 0))))
    }

    @Test func withoutTheSecretNoHelloIsAdmitted() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        for id in c.ids { c.secrets[id] = Self.secrets(Self.secret) }
        try c.startAll()
        #expect(c.submit("1") == .applied(Array("1".utf8)))
        let n1 = c.nodes["n1"]!
        let before = n1.transportStats.authFailed
        // An unauthenticated hello claiming to be n2, then a message from a term far ahead.
        let plain = RawPeer(port: port(c, "n1"))
        plain.send(Handshake(clusterID: "test", nodeID: "n2", address: "").encoded)
        plain.send(heartbeat(from: "n2", to: "n1", term: 99))
        #expect(plain.closedByPeer)
        // An authenticated hello without the secret: the challenge comes, no proof can follow.
        let guesser = RawPeer(port: port(c, "n1"))
        guesser.send(AuthFrame.hello(clusterID: "test", nodeID: "n2", address: "", nonce: PeerAuth.nonce()).encoded)
        #expect(guesser.receive().map { AuthFrame.version(of: $0) } == 2)
        guesser.send(AuthFrame.proof([UInt8](repeating: 7, count: 32)).encoded)
        #expect(guesser.closedByPeer)
        #expect(waitUntil { n1.transportStats.authFailed >= before + 2 })
        #expect((n1.status()?.term ?? 99) < 99)
        #expect(c.submit("1") == .applied(Array("2".utf8)))
    }

    @Test func aReplayedHandshakeIsRefused() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        for id in c.ids { c.secrets[id] = Self.secrets(Self.secret) }
        try c.startAll()
        #expect(waitUntil { c.leader != nil })
        let n1 = c.nodes["n1"]!
        // A real client's handshake as n2, recorded.
        let first = RawPeer(port: port(c, "n1"))
        guard let (hello, proof) = first.authenticate(as: "n2", to: "n1", secret: Self.secret) else {
            Issue.record("no valid challenge")
            return
        }
        usleep(100_000)
        let before = n1.transportStats.authFailed
        // The same bytes again: the server's fresh nonce makes the recorded proof worthless.
        let replay = RawPeer(port: port(c, "n1"))
        replay.send(hello)
        _ = replay.receive()
        replay.send(proof)
        #expect(replay.closedByPeer)
        #expect(waitUntil { n1.transportStats.authFailed == before + 1 })
    }

    @Test func anAuthenticatedPeerCannotSpeakForAnotherId() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        for id in c.ids { c.secrets[id] = Self.secrets(Self.secret) }
        try c.startAll()
        #expect(c.submit("1") == .applied(Array("1".utf8)))
        let n1 = c.nodes["n1"]!
        let peer = RawPeer(port: port(c, "n1"))
        #expect(peer.authenticate(as: "n3", to: "n1", secret: Self.secret) != nil)
        // Authenticated as n3, it sends a message claiming to come from n2.
        peer.send(heartbeat(from: "n2", to: "n1", term: 99))
        #expect(peer.closedByPeer)
        #expect(waitUntil { n1.transportStats.spoofedSender >= 1 })
        #expect((n1.status()?.term ?? 99) < 99)
        #expect(c.submit("1") == .applied(Array("2".utf8)))
    }

    @Test func anUnsecuredNodeRefusesAnAuthenticatedHello() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        try c.startAll()
        #expect(waitUntil { c.leader != nil })
        let peer = RawPeer(port: port(c, "n1"))
        peer.send(AuthFrame.hello(clusterID: "test", nodeID: "n2", address: "", nonce: PeerAuth.nonce()).encoded)
        #expect(peer.closedByPeer)
        #expect(waitUntil { c.nodes["n1"]!.transportStats.authFailed == 1 })
    }
}
