"""Training throughput of the course's recurrent shapes under different compile settings.

    python -m course_lib.bench                 # table on stdout
    python -m course_lib.bench --json out.json --epochs 4 --shapes lstm char_lm

For each shape (SimpleRNN, LSTM and GRU regressors, and a character language model:
embedding + LSTM + softmax over the vocabulary) it trains on random data with batch 64 and
reports samples per second — the median over the timed epochs after one warm-up epoch — for
plain Keras ``compile`` defaults and for the candidate settings of a faster path (XLA on or off,
several steps per execution), with each one's ratio to plain Keras. On a GPU it adds the
generic kernel (``use_cudnn=False``) next to the default (cuDNN-eligible) one.

This is the measurement the fast training path of issue #11 will be chosen from; it does not
pick a setting itself.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict, dataclass

import keras
import numpy as np

BATCH = 64
SHAPES = {  # name: (cell, units, sequence length, features or vocabulary size)
    "simple_rnn": ("simple_rnn", 64, 100, 8),
    "lstm": ("lstm", 128, 100, 8),
    "gru": ("gru", 128, 50, 8),
    "char_lm": ("lstm", 256, 100, 65),
}
SETTINGS = {  # name: compile keyword arguments
    "plain Keras": {},
    "spe 16": {"steps_per_execution": 16},
    "XLA": {"jit_compile": True},
    "XLA + spe 16": {"jit_compile": True, "steps_per_execution": 16},
}


@dataclass
class Measurement:
    shape: str
    setting: str
    samples_per_second: float
    ratio_to_plain: float


def build(shape: str, use_cudnn: str | bool = "auto") -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """The model of a benchmark shape and 16 batches of random data for it."""
    from course_lib.models import recurrent_layer

    cell, units, length, width = SHAPES[shape]
    rng = np.random.default_rng(0)
    n = 16 * BATCH
    extra = {} if cell == "simple_rnn" else {"use_cudnn": use_cudnn}
    if shape == "char_lm":
        inputs = keras.Input((length,), dtype="int32")
        x = keras.layers.Embedding(width, 32)(inputs)
        x = recurrent_layer(cell, units, return_sequences=True, **extra)(x)
        model = keras.Model(inputs, keras.layers.Dense(width)(x))
        data = rng.integers(0, width, size=(n, length + 1)).astype("int32")
        return model, data[:, :-1], data[:, 1:]
    inputs = keras.Input((length, width))
    x = recurrent_layer(cell, units, **extra)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    return model, rng.normal(size=(n, length, width)).astype("float32"), rng.normal(
        size=(n, 1)).astype("float32")


def samples_per_second(shape: str, compile_kwargs: dict, epochs: int = 3,
                       use_cudnn: str | bool = "auto") -> float:
    """Median training throughput over ``epochs`` timed epochs after one warm-up epoch."""
    keras.utils.set_random_seed(0)
    model, x, y = build(shape, use_cudnn)
    loss = (keras.losses.SparseCategoricalCrossentropy(from_logits=True) if shape == "char_lm"
            else "mse")
    model.compile(optimizer="adam", loss=loss, **compile_kwargs)
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # build, trace, compile
    rates = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
        rates.append(len(x) / (time.perf_counter() - started))
    return statistics.median(rates)


def run(shapes=tuple(SHAPES), settings=tuple(SETTINGS), epochs: int = 3) -> list[Measurement]:
    """Every setting on every shape, in one process; on a GPU also the generic kernel."""
    from course_lib.runtime import gpu_names

    results = []
    for shape in shapes:
        plain = None
        variants = [(name, SETTINGS[name], "auto") for name in settings]
        if gpu_names() and SHAPES[shape][0] != "simple_rnn":
            variants.append(("no cuDNN", {}, False))
        for name, kwargs, use_cudnn in variants:
            rate = samples_per_second(shape, kwargs, epochs, use_cudnn)
            plain = rate if plain is None else plain
            results.append(Measurement(shape, name, rate, rate / plain))
            print(f"{shape:<11}{name:<15}{rate:>10.0f} samples/s  {rate / plain:>5.2f}x",
                  flush=True)
    return results


def geometric_mean_of_best(results: list[Measurement]) -> float:
    """Geometric mean over shapes of the best setting's ratio to plain Keras."""
    best = {}
    for m in results:
        best[m.shape] = max(best.get(m.shape, 0.0), m.ratio_to_plain)
    return float(np.exp(np.mean(np.log(list(best.values())))))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_lib.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per measurement")
    parser.add_argument("--json", help="also write the measurements to this JSON file")
    args = parser.parse_args(argv)
    if "plain Keras" not in args.settings:
        args.settings.insert(0, "plain Keras")  # the reference every ratio is taken against
    results = run(args.shapes, args.settings, args.epochs)
    print(f"geometric mean over shapes of the best setting: "
          f"{geometric_mean_of_best(results):.2f}x plain Keras")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump([asdict(m) for m in results], handle, indent=1)


if __name__ == "__main__":
    main()
