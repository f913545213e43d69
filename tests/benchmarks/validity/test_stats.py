"""The rank statistics of the validity benchmarks (benchmarks/validity/stats.py)."""

from __future__ import annotations

import math

from benchmarks.validity.stats import average_ranks, median, spearman


def test_tied_values_share_their_mean_rank() -> None:
    assert average_ranks([0.3, 0.1, 0.3, 0.2]) == [3.5, 1.0, 3.5, 2.0]


def test_spearman_matches_hand_computed_values_with_ties() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    # ranks x: 1, 2.5, 2.5, 4; y: 1, 2, 3, 4 -> Pearson of the ranks = 4.5 / sqrt(4.5 * 5)
    assert math.isclose(spearman([1, 2, 2, 3], [1, 2, 3, 4]), 4.5 / math.sqrt(4.5 * 5))


def test_spearman_of_a_flat_histogram_is_undefined() -> None:
    assert math.isnan(spearman([0.5, 0.5, 0.5], [1, 2, 3]))


def test_median_of_even_and_odd_counts() -> None:
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == 2.5
