"""`QueryMatcher.match_batch` for large batches: the same token rule, run column-wise.

Per batch, with pyarrow kernels (C++, no Python object per token): pad and
split every text; look each *distinct* token up once in the set of one-token
entries (Zipf: a batch of alt texts has far fewer distinct tokens than tokens)
and mark its occurrences with `is_in` against the small set of hits; then grow
n-grams only where they can still lead somewhere: from each position whose
(k-1)-gram is a prefix of a longer entry, join the next token on, look the
distinct k-grams up in the k-token entries and prefixes, and keep going. Finally
rebuild sorted, distinct per-text lists.

Results are identical to `QueryMatcher.match` on every text; the tests check it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from queries.matcher import PADDED, TO_SPACE


def _occurrences(values: pa.Array, lookup: frozenset[str] | set[str]) -> pa.Array:
    """Boolean mask of `values` that are in `lookup`, probing each distinct value once."""
    hits = lookup.intersection(pc.unique(values).to_pylist())
    return pc.is_in(values, value_set=pa.array(list(hits), pa.string()))


def _padded_tokens(texts: Sequence[str]) -> tuple[pa.Array, np.ndarray]:
    """All tokens of all padded texts, flat, and the index of the text each comes from."""
    arr = pa.array(texts, pa.string())
    for ch in TO_SPACE:
        arr = pc.replace_substring(arr, ch, " ")
    for ch in PADDED:
        arr = pc.replace_substring(arr, ch, f" {ch} ")
    lists = pc.split_pattern(arr, " ")
    return lists.flatten(), pc.list_parent_indices(lists).to_numpy()


def _group_sorted(parents: np.ndarray, values: pa.Array, n_texts: int) -> list[list[str]]:
    """Per-text sorted distinct lists from (text index, entry) pairs."""
    table = pa.table({"p": parents, "e": values})
    table = table.take(pc.sort_indices(table, sort_keys=[("p", "ascending"), ("e", "ascending")]))
    p = table.column("p").to_numpy()
    e = table.column("e").combine_chunks()
    keep = np.ones(len(p), dtype=bool)
    if len(p) > 1:
        same_entry = pc.equal(e.slice(0, len(p) - 1), e.slice(1)).to_numpy(zero_copy_only=False)
        keep[1:] = ~((p[1:] == p[:-1]) & same_entry)
    p, e = p[keep], e.filter(pa.array(keep))
    offsets = np.zeros(n_texts + 1, dtype=np.int32)
    np.cumsum(np.bincount(p, minlength=n_texts), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), e).to_pylist()


def match_columnar(
    texts: Sequence[str],
    entries_by_len: dict[int, frozenset[str]],
    prefixes_by_len: dict[int, frozenset[str]],
) -> list[list[str]]:
    """Matches of every text (see the module doc).

    `entries_by_len[k]`: the entries of k tokens; `prefixes_by_len[k]`: the first k
    tokens (space-joined) of every entry longer than k.
    """
    tokens, parents = _padded_tokens(texts)
    found_parents, found_values = [], []
    starts = np.arange(len(tokens))  # positions whose current gram may still grow
    grams, k = tokens, 1
    while len(starts):
        hit = _occurrences(grams, entries_by_len.get(k, frozenset())).to_numpy(
            zero_copy_only=False
        )
        found_parents.append(parents[starts[hit]])
        found_values.append(grams.filter(pa.array(hit)))
        grow = _occurrences(grams, prefixes_by_len.get(k, frozenset())).to_numpy(
            zero_copy_only=False
        )
        nxt = starts + k
        grow &= nxt < len(tokens)
        grow[grow] &= parents[nxt[grow]] == parents[starts[grow]]
        starts, grams = starts[grow], grams.filter(pa.array(grow))
        grams = pc.binary_join_element_wise(grams, tokens.take(pa.array(starts + k)), " ")
        k += 1
    return _group_sorted(
        np.concatenate(found_parents), pa.concat_arrays(found_values), len(texts)
    )
