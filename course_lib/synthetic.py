"""Synthetic sequence tasks with a known long-range dependency, deterministic given a seed.

- :func:`adding_problem`: add the two marked numbers of a long sequence (regression).
- :func:`copy_task`: reproduce a few symbols after a long blank delay (classification per step).

Their difficulty is controlled by one number (the length or the delay), which makes them the
course's probes of how far back a recurrent network can carry information.
"""

from __future__ import annotations

import numpy as np

COPY_BLANK = 0


def adding_problem(n: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sequences whose target is the sum of two marked values.

    Channel 0 holds uniform values in [0, 1); channel 1 marks exactly two steps with 1, one in
    each half of the sequence, so the first marked value lies about ``length/2`` steps back.
    Predicting the constant 1.0 gives a mean squared error of 1/6 ≈ 0.167 (the baseline).

    Returns:
        x: (n, length, 2) float32, y: (n,) float32.
    """
    if length < 2:
        raise ValueError(f"expected length >= 2 (one marker per half), got {length}")
    rng = np.random.default_rng(seed)
    values = rng.random((n, length), dtype=np.float32)
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((n, length), dtype=np.float32)
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1)
    y = values[rows, first] + values[rows, second]
    return x, y.astype(np.float32)


def copy_task(
    n: int, delay: int, n_copy: int = 5, n_symbols: int = 8, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Remember ``n_copy`` symbols, wait ``delay`` steps, then write them out.

    Token ids: 0 is blank, 1..n_symbols are symbols, n_symbols + 1 is the "recall now" marker
    (the vocabulary size is ``n_symbols + 2``). With T = 2·n_copy + delay:

        x = s_1 … s_k, blank × (delay − 1), marker, blank × k
        y = blank × (k + delay),              s_1 … s_k

    A model that has forgotten the symbols can do no better than chance (1/n_symbols) on the
    last ``n_copy`` steps.

    Returns:
        x: (n, T) int32, y: (n, T) int32.
    """
    if delay < 1 or n_copy < 1 or n_symbols < 2:
        raise ValueError(
            f"expected delay >= 1, n_copy >= 1, n_symbols >= 2; got {delay}, {n_copy}, {n_symbols}"
        )
    rng = np.random.default_rng(seed)
    symbols = rng.integers(1, n_symbols + 1, size=(n, n_copy), dtype=np.int32)
    length = 2 * n_copy + delay
    x = np.full((n, length), COPY_BLANK, dtype=np.int32)
    y = np.full((n, length), COPY_BLANK, dtype=np.int32)
    x[:, :n_copy] = symbols
    x[:, n_copy + delay - 1] = n_symbols + 1
    y[:, n_copy + delay:] = symbols
    return x, y


def delayed_echo(n: int, length: int, delay: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Output at step t the input of step t − ``delay``: a dependency exactly ``delay`` long.

    Inputs are random ±1; targets are 0 for the first ``delay`` steps. Predicting 0 everywhere
    gives a mean squared error of 1 on the steps t >= delay (the baseline).

    Returns:
        x: (n, length, 1) float64, y: (n, length, 1) float64.
    """
    if not 1 <= delay < length:
        raise ValueError(f"expected 1 <= delay < length, got delay={delay}, length={length}")
    rng = np.random.default_rng(seed)
    x = rng.choice([-1.0, 1.0], size=(n, length, 1))
    y = np.zeros_like(x)
    y[:, delay:] = x[:, :-delay]
    return x, y
