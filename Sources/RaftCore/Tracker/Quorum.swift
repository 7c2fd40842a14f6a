/// Raft's majority rule in one place (etcd's quorum package): the commit index, an election's
/// result, a read's confirmation and check-quorum all ask what a strict majority of the voters
/// agree on. A strict majority, never half: the seed library's ceil(n/2) let half of an
/// even-sized cluster commit.
enum Quorum {
    /// The largest value that a strict majority of `voters` have each reached (`value` gives a
    /// voter's own): the committed index when values are match indexes, the newest read round
    /// confirmed when they are acknowledged read contexts. nil when there are no voters.
    static func agreedValue<Voters: Collection>(_ voters: Voters, _ value: (Voters.Element) -> UInt64) -> UInt64? {
        let n = voters.count
        guard n > 0 else { return nil }
        // A cluster has a handful of voters: sort them on the stack, largest first, and take the
        // quorum-th (index n/2), which that many voters reach or exceed.
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n) { sorted in
            var filled = 0
            for voter in voters where filled < n {
                let v = value(voter)
                var i = filled
                while i > 0 && sorted[i - 1] < v {
                    sorted[i] = sorted[i - 1]
                    i -= 1
                }
                sorted[i] = v
                filled += 1
            }
            return sorted[n / 2]
        }
    }

    enum VoteResult: Equatable {
        case won, lost, pending
    }

    /// An election's standing: won once a majority said yes, lost once no majority can (a
    /// majority said no or cannot say yes any more), pending otherwise. `vote` is true (yes),
    /// false (no) or nil (not heard). With no voters nobody can say yes: lost.
    static func voteResult<Voters: Collection>(_ voters: Voters, _ vote: (Voters.Element) -> Bool?) -> VoteResult {
        if agreedValue(voters, { vote($0) == true ? 1 : 0 }) == 1 { return .won }
        // Counting every voter not yet heard from as a yes: if even that is no majority, it is lost.
        if agreedValue(voters, { vote($0) == false ? 0 : 1 }) != 1 { return .lost }
        return .pending
    }

    /// Whether a strict majority of `voters` satisfy `test` (check-quorum: heard from lately).
    static func majority<Voters: Collection>(_ voters: Voters, _ test: (Voters.Element) -> Bool) -> Bool {
        agreedValue(voters, { test($0) ? 1 : 0 }) == 1
    }
}
