import Testing
@testable import RaftCore

/// The majority rule by itself, table-driven as etcd's quorum tests are: each row is the
/// voters' values (match indexes, acknowledged read contexts, votes) and what a strict
/// majority agrees on.
@Suite struct QuorumTests {
    struct AgreedRow: CustomTestStringConvertible, Sendable {
        var values: [UInt64]
        var agreed: UInt64?
        var testDescription: String { "\(values) -> \(agreed.map(String.init) ?? "nil")" }
    }

    static let agreedRows: [AgreedRow] = [
        AgreedRow(values: [], agreed: nil),
        AgreedRow(values: [0], agreed: 0),
        AgreedRow(values: [7], agreed: 7),
        // Two voters: both must hold it (a strict majority of 2 is 2, not 1).
        AgreedRow(values: [5, 3], agreed: 3),
        AgreedRow(values: [3, 5], agreed: 3),
        AgreedRow(values: [4, 4], agreed: 4),
        // Three: the middle value.
        AgreedRow(values: [1, 2, 3], agreed: 2),
        AgreedRow(values: [3, 2, 1], agreed: 2),
        AgreedRow(values: [9, 0, 0], agreed: 0),
        AgreedRow(values: [9, 9, 0], agreed: 9),
        AgreedRow(values: [2, 2, 2], agreed: 2),
        // Four: three must hold it.
        AgreedRow(values: [10, 8, 6, 4], agreed: 6),
        AgreedRow(values: [10, 10, 1, 1], agreed: 1),
        // Five: three.
        AgreedRow(values: [5, 1, 4, 2, 3], agreed: 3),
        AgreedRow(values: [100, 100, 100, 0, 0], agreed: 100),
        AgreedRow(values: [100, 100, 0, 0, 0], agreed: 0),
        // Seven: four.
        AgreedRow(values: [7, 6, 5, 4, 3, 2, 1], agreed: 4),
        AgreedRow(values: [UInt64.max, UInt64.max, UInt64.max, UInt64.max, 0, 0, 0], agreed: UInt64.max),
    ]

    @Test(arguments: agreedRows)
    func agreedValueIsWhatAStrictMajorityReached(_ row: AgreedRow) {
        #expect(Quorum.agreedValue(row.values) { $0 } == row.agreed)
    }

    /// Against the rule written out: the largest v that more than half the values reach.
    @Test func agreedValueMatchesTheDefinitionOnEverySmallCase() {
        var rng = SplitMix64(seed: 18)
        for _ in 0..<2_000 {
            let n = Int(rng.next() % 8)
            let values = (0..<n).map { _ in rng.next() % 6 }
            let expected = values.filter { v in values.filter { $0 >= v }.count > n / 2 }.max()
            #expect(Quorum.agreedValue(values) { $0 } == expected, "\(values)")
        }
    }

    struct VoteRow: CustomTestStringConvertible, Sendable {
        var votes: [Bool?]
        var result: Quorum.VoteResult
        var testDescription: String {
            votes.map { $0 == true ? "y" : $0 == false ? "n" : "-" }.joined() + " -> \(result)"
        }
    }

    static let voteRows: [VoteRow] = [
        VoteRow(votes: [], result: .lost),
        VoteRow(votes: [nil], result: .pending),
        VoteRow(votes: [true], result: .won),
        VoteRow(votes: [false], result: .lost),
        VoteRow(votes: [true, nil], result: .pending),
        VoteRow(votes: [true, true], result: .won),
        VoteRow(votes: [true, false], result: .lost),
        VoteRow(votes: [true, nil, nil], result: .pending),
        VoteRow(votes: [true, true, nil], result: .won),
        VoteRow(votes: [true, false, nil], result: .pending),
        VoteRow(votes: [true, false, false], result: .lost),
        VoteRow(votes: [false, false, nil], result: .lost),
        VoteRow(votes: [true, true, false, nil], result: .pending),
        VoteRow(votes: [true, true, false, false], result: .lost),
        VoteRow(votes: [true, true, true, false], result: .won),
        VoteRow(votes: [true, true, nil, false, false], result: .pending),
        VoteRow(votes: [true, true, true, false, false], result: .won),
        VoteRow(votes: [true, false, false, false, nil], result: .lost),
        VoteRow(votes: [true, true, true, nil, nil, nil, false], result: .pending),
        VoteRow(votes: [true, true, true, true, nil, nil, nil], result: .won),
        VoteRow(votes: [true, true, true, false, false, false, false], result: .lost),
    ]

    @Test(arguments: voteRows)
    func voteResult(_ row: VoteRow) {
        #expect(Quorum.voteResult(row.votes) { $0 } == row.result)
    }

    /// Against the counts the election used before the rule had a function of its own.
    @Test func voteResultMatchesCountingOnEverySmallCase() {
        var rng = SplitMix64(seed: 17)
        for _ in 0..<2_000 {
            let n = Int(rng.next() % 8)
            let votes: [Bool?] = (0..<n).map { _ in [true, false, nil][Int(rng.next() % 3)] }
            let quorum = n / 2 + 1
            let yes = votes.filter { $0 == true }.count
            let no = votes.filter { $0 == false }.count
            let expected: Quorum.VoteResult = yes >= quorum ? .won : no > n - quorum ? .lost : .pending
            #expect(Quorum.voteResult(votes) { $0 } == expected, "\(votes)")
        }
    }

    @Test(arguments: [
        ([] as [Bool], false), ([true], true), ([false], false), ([true, false], false), ([true, true], true),
        ([true, false, false], false), ([true, true, false], true), ([true, true, false, false], false),
        ([true, true, true, false, false], true),
    ])
    func majority(_ heard: [Bool], _ expected: Bool) {
        #expect(Quorum.majority(heard) { $0 } == expected)
    }
}
