"""Western Electric rules 1–4 as pure functions: each fires on its pattern and not on near misses."""
from __future__ import annotations

import pytest

from engine.ingest import spc

L = spc.Limits(mean=10.0, sigma=1.0)


def rules_at_end(values):
    return sorted(v.rule for v in spc.check_latest(values, L))


def test_rule_1_one_point_beyond_3_sigma():
    assert rules_at_end([10.2, 9.8, 13.01]) == [1]
    assert 1 in rules_at_end([10, 10, 6.9])
    assert 1 not in rules_at_end([10, 10, 13.0])  # exactly 3 sigma is not beyond


def test_rule_2_two_of_three_beyond_2_sigma_same_side():
    assert rules_at_end([10, 12.1, 10.5, 12.2]) == [2]
    assert rules_at_end([12.1, 7.9, 10.0]) == []  # newest point not beyond 2 sigma
    assert 2 not in rules_at_end([10, 12.1, 7.8])  # opposite sides
    assert 2 not in rules_at_end([12.1, 10, 10, 12.2])  # 2 of 4, not 2 of 3
    assert rules_at_end([12.1, 12.2]) == [2]  # a series shorter than the window still signals


def test_rule_3_four_of_five_beyond_1_sigma_same_side():
    assert rules_at_end([11.1, 11.2, 9.0, 11.3, 11.4]) == [3]
    assert 3 not in rules_at_end([11.1, 11.2, 9.0, 10.5, 11.4])  # only 3 of 5
    assert 3 not in rules_at_end([11.1, 11.2, 11.3, 11.4, 10.5])  # newest not beyond 1 sigma


def test_rule_4_eight_in_a_row_on_one_side():
    assert rules_at_end([10.1, 10.2, 10.3, 10.1, 10.4, 10.2, 10.1, 10.3]) == [4]
    assert rules_at_end([10.1, 10.2, 10.3, 10.1, 10.4, 10.2, 10.1]) == []  # seven
    assert rules_at_end([10.1, 10.2, 10.3, 10.0, 10.4, 10.2, 10.1, 10.3]) == []  # on the line breaks it
    assert rules_at_end([9.9] * 8) == [4]


def test_in_control_series_has_no_violation():
    values = [10.3, 9.6, 10.1, 9.9, 10.4, 9.7, 10.2, 9.8, 10.0, 10.6, 9.5, 10.1]
    assert spc.check_series(values, L) == []


def test_series_backtest_reports_where_each_rule_fired():
    values = [10.2, 9.7, 10.1, 13.5, 10.0]
    found = spc.check_series(values, L)
    assert [(v.rule, v.index, v.code) for v in found] == [(1, 3, "SPC-WE1")]


def test_enabled_rules_are_respected():
    assert spc.check_latest([10, 13.5], L, rules=(2, 3, 4)) == []


def test_baseline_and_limits_validation():
    limits = spc.baseline([9, 10, 11, 10, 9, 11, 10, 10, 9, 11])
    assert limits.mean == pytest.approx(10.0)
    assert limits.sigma == pytest.approx(0.8165, rel=1e-3)
    with pytest.raises(ValueError, match="at least"):
        spc.baseline([1, 2, 3])
    with pytest.raises(ValueError, match="variation"):
        spc.baseline([5.0] * 12)
    with pytest.raises(ValueError):
        spc.Limits(1.0, 0.0)
    assert spc.parse_rules("1 2 4") == (1, 2, 4)
    with pytest.raises(ValueError):
        spc.parse_rules("1 9")
