"""Small-cell suppression in the data: primary cells, then complementary ones, to a fixpoint.

Health data publishes no count from 1 to 10 (the threshold, $RW_SUPPRESS_BELOW, 11 by
default): such a cell is *primary* suppressed, published as null, and its row flagged
`is_suppressed`. Hiding it alone is not enough when a total is known: a row or column total
minus the other cells gives it back. So, as statistical agencies do, other cells are
*complementary* suppressed until no suppressed cell is the only one hidden in any total a
reader could know:

- within a row: when the row's base count (its denominator) is hidden, every count is; when
  one part of a declared total (the leakage reasons of `leaked_count`) is hidden, so is
  another;
- across rows: for every key, the cells that differ only in that key add up to a total (all
  locations of a month and specialty); where exactly one is hidden, the smallest other
  non-zero cell is hidden too (the whole table is such a group when it has one key).

Hiding a cell can leave another group with a single hidden cell, so the rules repeat until
nothing changes. A group whose other cells are all zero has a total under the threshold
itself, which is suppressed wherever it is published. Zeros are never suppressed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.serve.bi_tables import BiTable

DEFAULT_THRESHOLD = 11
SUPPRESSED_FLAG = "is_suppressed"


def suppress(frame: pd.DataFrame, table: BiTable, threshold: int = DEFAULT_THRESHOLD
             ) -> pd.DataFrame:
    """Return which count cells to hide (a frame of booleans shaped like the counts)."""
    counts = list(table.counts)
    values = frame[counts].astype(float).fillna(0.0).to_numpy()
    hidden = (values > 0) & (values < threshold)
    groups = [_group_ids(frame, [k for k in table.keys if k != key]) for key in table.keys]
    while True:
        before = int(hidden.sum())
        if table.base:
            hidden[hidden[:, counts.index(table.base)], :] = True
        for total, parts in table.partitions:
            columns = [counts.index(c) for c in (total, *parts)]
            _hide_a_second(values[:, columns], hidden, columns, np.arange(len(frame)))
        for group in groups:
            for column in range(len(counts)):
                _hide_a_second_in_groups(values[:, column], hidden[:, column], group)
        if int(hidden.sum()) == before:
            return pd.DataFrame(hidden, columns=counts, index=frame.index)


def apply(frame: pd.DataFrame, table: BiTable, threshold: int = DEFAULT_THRESHOLD
          ) -> pd.DataFrame:
    """Return the published table: hidden counts and their amounts null, rates recomputed."""
    hidden = suppress(frame, table, threshold)
    published = frame.copy()
    for column in table.counts:
        published[column] = published[column].astype("float64").mask(hidden[column])
    for amount, count in table.amounts.items():
        published[amount] = published[amount].astype("float64").mask(hidden[count])
    for rate, (numerator, denominator) in table.rates.items():
        inputs = published[sorted(table.rate_inputs(rate))]
        value = published.eval(numerator) / published[denominator].astype("float64")
        known = inputs.notna().all(axis=1) & (published[denominator] != 0)
        published[rate] = value.where(known)
    published[SUPPRESSED_FLAG] = hidden.any(axis=1)
    return published


def _group_ids(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    if not keys:
        return np.zeros(len(frame), dtype=np.int64)
    return frame.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()


def _hide_a_second_in_groups(values: np.ndarray, hidden: np.ndarray, group: np.ndarray
                             ) -> None:
    """Where a group has exactly one hidden cell, hide its smallest other non-zero cell."""
    if not len(group):
        return
    hidden_per_group = np.bincount(group, weights=hidden.astype(np.float64))
    lonely = hidden_per_group[group] == 1
    candidates = lonely & ~hidden & (values > 0)
    if not candidates.any():
        return
    rows = np.flatnonzero(candidates)
    order = rows[np.lexsort((rows, values[rows], group[rows]))]  # per group, smallest first
    _, first = np.unique(group[order], return_index=True)
    hidden[order[first]] = True


def _hide_a_second(values: np.ndarray, hidden: np.ndarray, columns: list[int],
                   rows: np.ndarray) -> None:
    """Within each row, where one of the columns is hidden, hide its smallest other one."""
    cells = hidden[:, columns]
    lonely = cells.sum(axis=1) == 1
    for row in rows[lonely]:
        open_cells = [(values[row, i], i) for i in range(len(columns))
                      if not cells[row, i] and values[row, i] > 0]
        if open_cells:
            hidden[row, columns[min(open_cells)[1]]] = True
