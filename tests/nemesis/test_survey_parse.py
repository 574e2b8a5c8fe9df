"""Parsing the heal survey's output (the shell probe run on every node)."""

import pytest

from nemesis import NemesisError
from nemesis._probe import parse_survey


def test_reach_lines_and_listing_are_split():
    out = ("R 10.0.0.2 1\nR 10.0.0.3 0\n=listing\n-P INPUT ACCEPT\n-N HELIOS-NEMESIS\n"
           "qdisc noqueue 0: dev eth0 root\n")
    reach, listing = parse_survey(out)
    assert reach == {"10.0.0.2": True, "10.0.0.3": False}
    assert listing == "-P INPUT ACCEPT\n-N HELIOS-NEMESIS\nqdisc noqueue 0: dev eth0 root\n"


def test_output_without_a_listing_is_an_error_not_a_clean_heal():
    with pytest.raises(NemesisError, match="no listing"):
        parse_survey("R 10.0.0.2 1\n")
