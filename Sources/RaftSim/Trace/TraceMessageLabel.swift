import RaftCore

/// Spelled-out message descriptions for sequence diagrams, where there is room for names
/// that the table's shorthand abbreviates.
enum TraceMessageLabel {
    static func text(_ message: Message) -> String {
        let t = message.term
        switch message.body {
        case .preVote(let request):
            return "PreVoteRequest(term=\(t), lastIndex=\(request.lastIndex), lastTerm=\(request.lastTerm))"
        case .preVoteResponse(let response):
            return "PreVoteResponse(term=\(t), granted=\(TraceShorthand.flag(response.granted)))"
        case .requestVote(let request):
            return "RequestVote(term=\(t), lastIndex=\(request.lastIndex), lastTerm=\(request.lastTerm))"
        case .requestVoteResponse(let response):
            return "VoteResponse(term=\(t), granted=\(TraceShorthand.flag(response.granted)))"
        case .appendEntries(let append):
            return "AppendEntries(term=\(t), prevIndex=\(append.prevIndex), prevTerm=\(append.prevTerm), "
                + "\(entryCount(append.entries.count)), commitIndex=\(append.commitIndex))"
        case .appendResponse(let response):
            return "AppendResponse(term=\(t), success=\(TraceShorthand.flag(response.success)), "
                + "index=\(response.index), lastIndex=\(response.lastIndex))"
        case .installSnapshot(let chunk):
            return "InstallSnapshot(term=\(t), index=\(chunk.meta.index), snapshotTerm=\(chunk.meta.term), "
                + "offset=\(chunk.offset), bytes=\(chunk.data.count), done=\(TraceShorthand.flag(chunk.done)))"
        case .installSnapshotResponse(let response):
            return "SnapshotResponse(term=\(t), index=\(response.index), offset=\(response.offset), "
                + "success=\(TraceShorthand.flag(response.success)))"
        case .timeoutNow(let transfer):
            return "TransferPower(term=\(t), lastIndex=\(transfer.lastIndex), lastTerm=\(transfer.lastTerm))"
        case .membershipChange(let change):
            return "MembershipChange(op=\(change.op), node=\(change.member.id))"
        case .membershipChangeResponse(let response):
            return "MembershipChangeResponse(op=\(response.op), node=\(response.memberID), "
                + "ok=\(TraceShorthand.flag(response.ok)))"
        }
    }

    private static func entryCount(_ count: Int) -> String {
        switch count {
        case 0: return "heartbeat"
        case 1: return "1 entry"
        default: return "\(count) entries"
        }
    }
}
