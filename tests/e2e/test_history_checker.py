"""The partition suite's checker (history.py) on hand-made histories: it must pass a
linearizable one and name the offending operations of each kind of violation."""

import history as h


def hist(*ops):
    """ops: (client, kind, key, value, invoke, complete, outcome)"""
    x = h.History()
    x.t0 = 0.0
    for c, kind, key, value, inv, comp, out in ops:
        x.record(h.Op(client=c, kind=kind, key=key, value=value, node="n1", first="n1", start=inv,
                      invoke=inv, complete=comp, outcome=out))
    return x


def test_a_linearizable_history_passes():
    x = hist((1, "w", "k1", 1, 0.0, 1.0, h.OK),
             (2, "r", "k1", 0, 0.5, 0.6, h.OK),      # concurrent with the write: old value
             (3, "r", "k1", 1, 0.5, 0.7, h.OK),      # or the new one
             (1, "w", "k1", 2, 1.1, 1.5, h.TIMEOUT),  # unknown
             (2, "r", "k1", 2, 1.6, 1.7, h.OK),      # the unknown write took effect
             (3, "r", "k1", 2, 1.8, 1.9, h.OK))
    assert h.check_registers(x) == []
    assert h.check_final(x, {"k1": x.ops[-1]}) == []


def test_a_stale_read_is_named_with_the_write_it_missed():
    x = hist((1, "w", "k1", 1, 0.0, 1.0, h.OK),
             (1, "w", "k1", 2, 1.1, 1.2, h.OK),
             (2, "r", "k1", 1, 1.3, 1.4, h.OK))
    [p] = h.check_registers(x)
    assert p.startswith("stale read") and "GET k1" in p and "SET k1 2" in p


def test_a_read_of_a_value_not_yet_invoked_is_caught():
    x = hist((2, "r", "k1", 3, 0.0, 0.5, h.OK),
             (1, "w", "k1", 3, 0.6, 0.7, h.OK))
    [p] = h.check_registers(x)
    assert p.startswith("read of a value not yet written")


def test_a_read_going_back_in_time_is_caught():
    x = hist((1, "w", "k1", 1, 0.0, 0.1, h.OK),
             (1, "w", "k1", 2, 0.2, 5.0, h.TIMEOUT),
             (2, "r", "k1", 2, 0.3, 0.4, h.OK),
             (3, "r", "k1", 1, 0.5, 0.6, h.OK))
    [p] = h.check_registers(x)
    assert p.startswith("read went back in time") and "#3" in p and "#2" in p


def test_a_missing_acknowledged_write_is_caught():
    x = hist((1, "w", "k1", 1, 0.0, 0.1, h.OK),
             (1, "w", "k1", 2, 0.2, 0.3, h.OK),
             (0, "r", "k1", 1, 0.1, 0.15, h.OK))
    final = h.Op(client=0, kind="r", key="k1", value=1, node="n2", first="n2", start=1.0, invoke=1.0,
                 complete=1.1, outcome=h.OK)
    x.record(final)
    problems = h.check_final(x, {"k1": final})
    assert len(problems) == 1 and problems[0].startswith("acknowledged write missing") and "SET k1 2" in problems[0]
    assert any(p.startswith("stale read") for p in h.check_registers(x))


def test_two_leaders_in_one_term_are_caught():
    x = hist()
    samples = [h.Sample(node="n1", invoke=0.0, complete=0.1, role="leader", term=3),
               h.Sample(node="n2", invoke=0.2, complete=0.3, role="leader", term=3),
               h.Sample(node="n2", invoke=0.2, complete=0.3, role="leader", term=4)]
    [p] = h.check_election_safety(x, samples)
    assert p.startswith("term 3 had 2 leaders")


def test_write_gap_counts_from_the_last_success_before_the_window():
    x = hist((1, "w", "k1", 1, 0.0, 1.0, h.OK),
             (1, "w", "k1", 2, 1.0, 4.0, h.OK),
             (1, "w", "k1", 3, 4.0, 4.5, h.OK))
    gap, (a, b) = h.longest_write_gap(x.ops, 2.0, 5.0)
    assert (gap, a, b) == (3.0, 1.0, 4.0)
