"""Leader election: timeouts, pre-vote, RequestVote, vote counting (Raft 5.2, 5.4.1; thesis 9.6).

Layer: the pure Raft core. A mixin of RaftCore: it reads and writes the core's
state (`_term`, `_voted_for`, `_log`, ...) and only emits messages and events.
"""

from __future__ import annotations

from ._types import Message, MsgType, Role

M, R = MsgType, Role


class ElectionMixin:
    def _tick_election(self) -> None:
        """Follower / (pre-)candidate: campaign when no leader was heard for the timeout."""
        self._election_elapsed += 1
        if self._election_elapsed >= self._timeout:
            self._event("election_timeout", elapsed=self._election_elapsed)
            self._campaign(pre=self.cfg.pre_vote)

    def _in_lease(self, mtype: MsgType) -> bool:
        """Leader stickiness: a node that heard from a leader within the election timeout
        refuses to help depose it (thesis 9.6; etcd inLease). Real votes are refused only
        under check-quorum, which is what makes a lease-like guarantee hold."""
        if mtype is M.VOTE and not self.cfg.check_quorum:
            return False
        return self._leader is not None and self._election_elapsed < self.cfg.election_ticks

    def _campaign(self, pre: bool) -> None:
        if pre:
            self._set_role(R.PRE_CANDIDATE, self._term)
            term, mtype = self._term + 1, M.PRE_VOTE
        else:
            self._set_role(R.CANDIDATE, self._term + 1)
            self._voted_for = self.id
            term, mtype = self._term, M.VOTE
        self._votes = {self.id: True}
        if self._tally_won():
            return
        for peer in self._others():
            self._send(peer, mtype, term=term, index=self._log.last_index, log_term=self._log.last_term)

    def _on_vote_request(self, msg: Message) -> None:
        """RequestVote / PreVote (Raft 5.2, 5.4.1): grant if we may vote for the sender
        in that term and its log is at least as up-to-date as ours."""
        pre = msg.type is M.PRE_VOTE
        resp = M.PRE_VOTE_RESP if pre else M.VOTE_RESP
        if self._may_vote_for(msg) and self._log.is_up_to_date(msg.index, msg.log_term):
            if pre:
                self._send(msg.src, resp, term=msg.term)
                return
            self._voted_for = msg.src
            self._election_elapsed = 0
            self._event("vote_granted", candidate=msg.src)
            self._send(msg.src, resp)
        else:
            self._send(msg.src, resp, reject=True)

    def _may_vote_for(self, msg: Message) -> bool:
        if self._voted_for == msg.src:
            return True                            # a retransmitted request
        if msg.type is M.PRE_VOTE and msg.term > self._term:
            return True                            # a pre-vote promises nothing
        if msg.type is M.VOTE and self._bug("vote-twice"):
            return True                            # planted bug: voted_for is never consulted
        return self._voted_for is None and self._leader is None

    def _on_vote_response(self, msg: Message) -> None:
        pre = msg.type is M.PRE_VOTE_RESP
        if pre and not msg.reject and msg.term != self._term + 1:
            return                                 # a grant from an older pre-campaign
        self._votes[msg.src] = not msg.reject
        if self._tally_won():
            return
        rejected = sum(1 for granted in self._votes.values() if not granted)
        if rejected >= self._quorum():
            self._become_follower(self._term, None)

    def _tally_won(self) -> bool:
        granted = sum(1 for g in self._votes.values() if g)
        if granted < self._quorum():
            return False
        if self._role is R.PRE_CANDIDATE:
            self._campaign(pre=False)
        else:
            self._become_leader()
        return True
