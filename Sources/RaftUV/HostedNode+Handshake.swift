import RaftCore

/// The first frames of an inbound connection: who is calling, from which cluster, and — in a
/// secured cluster — the proof that it knows the secret. Nothing else is read before that.
extension HostedNode {
    enum Admission {
        case admitted(NodeID)
        case waiting
        case refused
    }

    /// An inbound connection between the client's hello and its proof.
    struct PendingAuth {
        var clientID: NodeID
        var address: String
        var clientNonce: [UInt8]
        var serverNonce: [UInt8]
    }

    func admit(_ frame: [UInt8], pending: inout PendingAuth?, conn: TCPConnection) -> Admission {
        if let p = pending {
            guard let secrets = config.secrets, case .proof(let proof)? = try? AuthFrame(decoding: frame),
                  PeerAuth.verify(proof, .client, secrets: secrets, clusterID: config.clusterID, clientID: p.clientID,
                                  serverID: id, clientNonce: p.clientNonce, serverNonce: p.serverNonce) else {
                pending = nil
                count(.authFailed)
                return .refused
            }
            pending = nil
            learnAddress(p.address, of: p.clientID)
            return .admitted(p.clientID)
        }
        switch AuthFrame.version(of: frame) {
        case Handshake.version?:
            guard let hello = try? Handshake(decoding: frame) else {
                count(.malformed)
                return .refused
            }
            guard hello.clusterID == config.clusterID else {
                count(.wrongCluster)
                return .refused
            }
            // A secured cluster admits no one on their word alone.
            guard config.secrets == nil else {
                count(.authFailed)
                return .refused
            }
            learnAddress(hello.address, of: hello.nodeID)
            return .admitted(hello.nodeID)
        case AuthFrame.version?:
            guard case .hello(let cluster, let nodeID, let address, let nonce)? = try? AuthFrame(decoding: frame),
                  nonce.count == PeerAuth.nonceSize, !nodeID.isEmpty else {
                count(.malformed)
                return .refused
            }
            guard cluster == config.clusterID else {
                count(.wrongCluster)
                return .refused
            }
            guard let secrets = config.secrets else {
                count(.authFailed)
                return .refused
            }
            let serverNonce = PeerAuth.nonce()
            let proof = PeerAuth.proof(.server, secret: secrets.current, clusterID: cluster, clientID: nodeID, serverID: id,
                                       clientNonce: nonce, serverNonce: serverNonce)
            var out: [UInt8] = []
            Frame.append(AuthFrame.challenge(nodeID: id, nonce: serverNonce, proof: proof).encoded, to: &out)
            conn.write(out)
            pending = PendingAuth(clientID: nodeID, address: address, clientNonce: nonce, serverNonce: serverNonce)
            return .waiting
        default:
            count(.malformed)
            return .refused
        }
    }

    private func learnAddress(_ address: String, of node: NodeID) {
        if !address.isEmpty, self.address(of: node) == nil { addressBook[node] = address }
    }
}
