"""Small statistics shared by checkers and campaign comparisons (layer: checker)."""

from __future__ import annotations


def mid_ranks(values: list) -> list[float]:
    """1-based ranks of `values` in input order, ties sharing their mean rank (as the
    Mann-Whitney U test needs)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks
