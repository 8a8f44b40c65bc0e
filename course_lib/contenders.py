"""The three date-normalisation contenders of notebook 07 (an attention RNN, a transformer, a
TCN) built at one size, and the one procedure that picks each one's learning rate.

Fairness needs the same procedure for all: every contender trains with Adam at each rate of
:data:`RATE_GRID` for the same epochs on the same batches, is scored by greedy exact match on
*validation* dates (drawn apart from both the training and the test dates), and gets the rate
that scored best. ``python tools/tune_learning_rates.py`` runs it and writes
:data:`TUNING_FILE`; :func:`tuned_rates` reads it back (it ships with the package, so a Colab
notebook has it too).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np

from course_lib import decoding, metrics, optimizers, synthetic, text, training
from course_lib.seq2seq import EncoderDecoder
from course_lib.tcn import TCNSeq2Seq
from course_lib.transformer import TransformerEncoderDecoder

__all__ = ["RATE_GRID", "TUNING_FILE", "date_builders", "greedy_iso", "validation_dates",
           "train_date_model", "tune_learning_rates", "tuned_rates"]

RATE_GRID = (3e-4, 1e-3, 3e-3, 6e-3, 1e-2, 2e-2)
TUNING_FILE = Path(__file__).with_name("learning_rates.json")
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)


def date_builders(task: synthetic.DateTask, rnn_units: int = 64, d_model: int = 48,
                  ff_units: int = 96, tcn_channels: int = 48,
                  tcn_dilations: Sequence[int] = (1, 2, 4, 8)
                  ) -> dict[str, Callable[[], keras.Model]]:
    """name -> function building a fresh contender for ``task`` (similar parameter counts at
    the defaults: about 57 k, 51 k and 59 k)."""
    sources, targets = len(task.source_vocab), len(task.target_vocab)
    return {
        "attention_rnn": lambda: EncoderDecoder(sources, targets, units=rnn_units,
                                                embedding_dim=32, attention="additive",
                                                name="attention_rnn"),
        "transformer": lambda: TransformerEncoderDecoder(
            sources, targets, d_model=d_model, heads=4, ff_units=ff_units, encoder_layers=1,
            decoder_layers=1, dropout=0.0, name="transformer"),
        "tcn": lambda: TCNSeq2Seq(sources, targets, channels=tcn_channels, kernel_size=3,
                                  dilations=tuple(tcn_dilations), name="tcn"),
    }


def greedy_iso(model, task: synthetic.DateTask, source_ids: np.ndarray) -> list[str]:
    """Greedy-decode source ids (batch, source_time) into ISO date strings."""
    ids = decoding.greedy_decode(model, source_ids, task.start_id, task.end_id, max_length=11)
    return decoding.to_texts(ids, task.target_vocab, task.end_id)


def validation_dates(task: synthetic.DateTask, n: int = 500, seed: int = 3
                     ) -> tuple[np.ndarray, list[str]]:
    """``n`` dates in neither the training nor the test set: (source ids (n, time), ISO)."""
    seen = {iso for _, iso, _ in task.train} | {iso for _, iso, _ in task.test}
    pairs = synthetic.date_pairs(n, seed=seed, exclude=seen)
    return (text.pad_batch(task.source_vocab.encode_many([w for w, _, _ in pairs])),
            [iso for _, iso, _ in pairs])


def train_date_model(model: keras.Model, task: synthetic.DateTask, learning_rate: float,
                     epochs: int, callbacks: Sequence[keras.callbacks.Callback] = ()):
    """Compile with the course's Adam and the padding-ignoring loss and fit on a fresh copy of
    the task's batches (:func:`course_lib.synthetic.date_dataset`), so every model trained
    this way sees the same batches in the same order; returns the history."""
    batches = synthetic.date_dataset(task.train, task.source_vocab, task.target_vocab)
    model.compile(optimizers.Adam(learning_rate), LOSS,
                  **training.fast_settings(model, data=batches))
    return model.fit(batches, epochs=epochs, verbose=0, callbacks=list(callbacks),
                     shuffle=False)  # the dataset shuffles itself


def tune_learning_rates(task: synthetic.DateTask, epochs: int,
                        rates: Sequence[float] = RATE_GRID, seed: int = 42,
                        **sizes) -> dict[str, dict[str, float]]:
    """Validation exact match of every contender at every rate: {name: {rate: score}} with
    the rates as strings ("0.003"), each run from the same seed."""
    source, iso = validation_dates(task)
    scores: dict[str, dict[str, float]] = {}
    for name, build in date_builders(task, **sizes).items():
        scores[name] = {}
        for rate in rates:
            keras.utils.set_random_seed(seed)
            model = build()
            train_date_model(model, task, rate, epochs)
            scores[name][repr(float(rate))] = metrics.exact_match(greedy_iso(model, task, source),
                                                                  iso)
    return scores


def tuned_rates(path: Path | str = TUNING_FILE) -> dict[str, float]:
    """Each contender's best rate in a tuning record written by
    ``tools/tune_learning_rates.py`` (ties: the lower rate)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no learning-rate record at {path}. Fix: run "
                                "`python tools/tune_learning_rates.py` from the repository root")
    scores = json.loads(path.read_text())["validation_exact_match"]
    return {name: float(max(sorted(by_rate, key=float), key=lambda r: by_rate[r]))
            for name, by_rate in scores.items()}
