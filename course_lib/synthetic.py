"""Synthetic sequence tasks with a known long-range dependency, deterministic given a seed.

- :func:`adding_problem`: add the two marked numbers of a long sequence (regression).
- :func:`copy_task`: reproduce a few symbols after a long blank delay (classification per step).
- :func:`date_pairs`: dates written in many human formats, to be normalised to ISO 8601
  (the sequence-to-sequence task of notebook 06).
- :func:`date_task`: those dates as a ready teacher-forcing task (vocabularies, batches, a
  held-out test set), shared by notebooks 06 and 07.
- :func:`reversal_pairs`: write a string backwards (the bottleneck probe of notebook 06).

Their difficulty is controlled by one number (the length or the delay), which makes them the
course's probes of how far back a recurrent network can carry information.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "COPY_BLANK", "adding_problem", "copy_task", "delayed_echo", "MONTHS", "WEEKDAYS",
    "DATE_FORMATS", "date_pairs", "DateTask", "date_task", "date_dataset", "reversal_pairs",
]

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


# --------------------------------------------------------------------------------------------
# date normalisation: many human formats -> ISO 8601
# --------------------------------------------------------------------------------------------

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


# each format turns a datetime.date into text; names say what the text looks like for
# 2021-03-07 (a Sunday)
DATE_FORMATS = {
    "7 march 2021": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    "march 7, 2021": lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    "07.03.2021": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "03/07/2021": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
    "7 mar 2021": lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}",
    "mar 7 2021": lambda d: f"{MONTHS[d.month - 1][:3]} {d.day} {d.year}",
    "07-mar-2021": lambda d: f"{d.day:02d}-{MONTHS[d.month - 1][:3]}-{d.year}",
    "7th of march 2021": lambda d: f"{_ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",
    "march 7th, 2021": lambda d: f"{MONTHS[d.month - 1]} {_ordinal(d.day)}, {d.year}",
    "sunday, 7 march 2021": lambda d: f"{WEEKDAYS[d.weekday()]}, {d.day} "
                                      f"{MONTHS[d.month - 1]} {d.year}",
    "sun, mar 7, 2021": lambda d: f"{WEEKDAYS[d.weekday()][:3]}, {MONTHS[d.month - 1][:3]} "
                                  f"{d.day}, {d.year}",
    "sunday the 7th of march, 2021": lambda d: f"{WEEKDAYS[d.weekday()]} the {_ordinal(d.day)} "
                                               f"of {MONTHS[d.month - 1]}, {d.year}",
    "2021/03/07": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "20210307": lambda d: f"{d.year}{d.month:02d}{d.day:02d}",
}


def date_pairs(n: int, seed: int = 0, formats: tuple[str, ...] | None = None,
               exclude: set | frozenset = frozenset(), first_year: int = 1900,
               last_year: int = 2099) -> list[tuple[str, str, str]]:
    """``n`` (text, iso, format name) triples: a random date between 1 January ``first_year``
    and 31 December ``last_year`` written in a random format (lower case) and as YYYY-MM-DD.

    Dates whose ISO string is in ``exclude`` are never drawn, so a test set can hold dates the
    training set never saw: ``date_pairs(n, exclude={iso for _, iso, _ in train})``.
    ``formats`` restricts the formats (keys of :data:`DATE_FORMATS`; default all). The same
    arguments always give the same triples.
    """
    import datetime

    names = tuple(DATE_FORMATS) if formats is None else tuple(formats)
    unknown = [name for name in names if name not in DATE_FORMATS]
    if unknown:
        raise ValueError(f"unknown date formats {unknown}; choose from {list(DATE_FORMATS)}")
    first = datetime.date(first_year, 1, 1).toordinal()
    days = datetime.date(last_year, 12, 31).toordinal() - first + 1
    if days - len(exclude) < n:
        raise ValueError(f"only {days - len(exclude)} dates left to draw {n} examples from")
    rng = np.random.default_rng(seed)
    triples: list[tuple[str, str, str]] = []
    while len(triples) < n:
        date = datetime.date.fromordinal(first + int(rng.integers(days)))
        iso = date.isoformat()
        if iso in exclude:
            continue
        name = names[int(rng.integers(len(names)))]
        triples.append((DATE_FORMATS[name](date), iso, name))
    return triples


@dataclass
class DateTask:
    """Date normalisation ready to train on: ``train``/``test`` (text, iso, format) triples (no
    test date occurs in training), character vocabularies with [START]/[END], the bucketed
    teacher-forcing ``dataset`` and the padded test sources (n_test, source_time)."""

    train: list[tuple[str, str, str]]
    test: list[tuple[str, str, str]]
    source_vocab: Any  # course_lib.text.Vocabulary
    target_vocab: Any
    dataset: Any  # tf.data.Dataset of ((source, target_in), target_out)
    test_source: np.ndarray
    start_id: int
    end_id: int

    @property
    def test_iso(self) -> list[str]:
        return [iso for _, iso, _ in self.test]


def date_dataset(train: list[tuple[str, str, str]], source_vocab, target_vocab,
                 batch_size: int = 64):
    """The bucketed, shuffled teacher-forcing batches of (text, iso, format) triples. A new
    dataset starts the same shuffle sequence again, so two models trained on two calls'
    datasets see the same batches in the same order (one dataset reshuffles every epoch)."""
    from course_lib import text

    start_id, end_id = target_vocab.id_of(text.START), target_vocab.id_of(text.END)
    return text.teacher_forcing_dataset(
        source_vocab.encode_many([w for w, _, _ in train]),
        target_vocab.encode_many([iso for _, iso, _ in train]), start_id, end_id,
        batch_size=batch_size)


def date_task(n_train: int, n_test: int = 2000, batch_size: int = 64, train_seed: int = 1,
              test_seed: int = 2) -> DateTask:
    """:func:`date_pairs` for training and held-out testing, encoded for an encoder–decoder."""
    from course_lib import text

    train = date_pairs(n_train, seed=train_seed)
    test = date_pairs(n_test, seed=test_seed, exclude={iso for _, iso, _ in train})
    specials = (text.START, text.END)
    source_vocab = text.char_vocabulary("".join(w for w, _, _ in train), specials=specials)
    target_vocab = text.char_vocabulary("0123456789-", specials=specials)
    start_id, end_id = target_vocab.id_of(text.START), target_vocab.id_of(text.END)
    dataset = date_dataset(train, source_vocab, target_vocab, batch_size)
    test_source = text.pad_batch(source_vocab.encode_many([w for w, _, _ in test]))
    return DateTask(train, test, source_vocab, target_vocab, dataset, test_source, start_id,
                    end_id)


def reversal_pairs(n: int, min_length: int, max_length: int, alphabet: str = "abcdefghij",
                   seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (text, reversed text) pairs of random strings over ``alphabet`` with lengths drawn
    uniformly from ``min_length..max_length``: ``("abcd", "dcba")``.

    Every output symbol depends on one input symbol at a known place, and the amount an
    encoder must remember grows with the length: the cleanest probe of the fixed-size
    bottleneck of an encoder–decoder without attention.
    """
    if not 1 <= min_length <= max_length:
        raise ValueError(f"expected 1 <= min_length <= max_length, got {min_length}, "
                         f"{max_length}")
    rng = np.random.default_rng(seed)
    symbols = np.array(list(alphabet))
    pairs = []
    for length in rng.integers(min_length, max_length + 1, size=n):
        word = "".join(rng.choice(symbols, size=int(length)))
        pairs.append((word, word[::-1]))
    return pairs
