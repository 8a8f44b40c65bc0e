"""Training throughput of the course's recurrent shapes: plain Keras against the fast path.

    python -m course_lib.bench                 # table on stdout
    python -m course_lib.bench --json out.json --rounds 7 --shapes lstm char_lm
    python -m course_lib.bench --require-fast-path 0.95   # fails if the fast path lost anywhere
    python -m course_lib.bench --peer torch   # adds PyTorch eager: pip install "course_lib[bench]"

For each shape (SimpleRNN, LSTM and GRU regressors, and a character language model:
embedding + LSTM + softmax over the vocabulary) it trains on random data with batch 64 and
reports samples per second for plain Keras (``keras.layers`` and ``compile`` defaults), for the
course's layers with their CPU kernel on (:mod:`course_lib.recurrent`), for the candidate
settings (XLA on or off, 16 steps per execution, with the course's layers as
:func:`course_lib.models.recurrent_layer` builds them) and for what
:func:`course_lib.training.fast_compile` picks, each with its ratio to plain Keras. All
variants of a shape are built and warmed up first, then timed in turn for several rounds (at
least one second of whole epochs each), and the median per variant is reported: a machine
that slows down mid-run slows every variant alike.

With ``--peer torch`` each shape is also trained by PyTorch in eager mode (``torch.nn.RNN``/
``LSTM``/``GRU`` + ``nn.Linear``, ``torch.optim.Adam``, the same data, batch and number of
batches), timed in the same interleaved rounds, and the summary gives the fast path's ratio to
it per shape and as a geometric mean.

On a GPU it adds the cuDNN kernel forced on (``use_cudnn=True``, which raises if cuDNN cannot
be used — so a row there proves the fused kernel ran) and the generic kernel
(``use_cudnn=False``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict, dataclass

import keras
import numpy as np

__all__ = [
    "BATCH", "SHAPES", "FAST_PATH", "SETTINGS", "LAYERS", "GPU_KERNELS", "Measurement", "build",
    "measure_shape", "run", "geometric_mean", "geometric_mean_of_best", "summary",
    "slow_fast_paths", "PEER", "peer_ratios", "main",
]

BATCH = 64
SHAPES = {  # name: (cell, units, sequence length, features or vocabulary size)
    "simple_rnn": ("simple_rnn", 64, 100, 8),
    "lstm": ("lstm", 128, 100, 8),
    "gru": ("gru", 128, 50, 8),
    "char_lm": ("lstm", 256, 100, 65),
}
FAST_PATH = "course fast path"
SETTINGS = {  # name: compile keyword arguments (None: let the fast path choose)
    "plain Keras": {},
    "course layers": {},
    "spe 16": {"steps_per_execution": 16},
    "XLA": {"jit_compile": True},
    "XLA + spe 16": {"jit_compile": True, "steps_per_execution": 16},
    FAST_PATH: None,
}
#: Which recurrent layers a setting trains: ``"keras"`` (``keras.layers``), ``"kernel"`` (those of
#: :mod:`course_lib.recurrent` with the CPU kernel forced on) or, for the rest, the course's
#: defaults (:func:`course_lib.models.recurrent_layer`).
LAYERS = {"plain Keras": "keras", "course layers": "kernel"}
GPU_KERNELS = {"cuDNN forced": True, "generic kernel": False}  # name: use_cudnn
PEER = "PyTorch eager"


@dataclass
class Measurement:
    shape: str
    setting: str
    samples_per_second: float
    ratio_to_plain: float
    chosen: str = ""  # for the fast path: the settings it picked


def build(shape: str, use_cudnn: str | bool = "auto", layers: str = "course"
          ) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """The model of a benchmark shape and 16 batches of random data for it; ``layers``: the
    course's recurrent layers (``"course"``), Keras' own (``"keras"``) or the course's with the
    CPU kernel on (``"kernel"``), see :data:`LAYERS`."""
    from course_lib import recurrent
    from course_lib.models import RECURRENT_LAYERS, recurrent_layer

    cell, units, length, width = SHAPES[shape]
    module = keras.layers if layers == "keras" else recurrent
    forced = {"cpu_kernel": True} if layers == "kernel" else {}

    def layer(**kwargs):
        if layers == "course":
            return recurrent_layer(cell, units, **kwargs)
        return getattr(module, RECURRENT_LAYERS[cell])(units, **forced, **kwargs)
    rng = np.random.default_rng(0)
    n = 16 * BATCH
    extra = {} if cell == "simple_rnn" else {"use_cudnn": use_cudnn}
    if shape == "char_lm":
        inputs = keras.Input((length,), dtype="int32")
        x = keras.layers.Embedding(width, 32)(inputs)
        x = layer(return_sequences=True, **extra)(x)
        model = keras.Model(inputs, keras.layers.Dense(width)(x))
        data = rng.integers(0, width, size=(n, length + 1)).astype("int32")
        return model, data[:, :-1], data[:, 1:]
    inputs = keras.Input((length, width))
    x = layer(**extra)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    return model, rng.normal(size=(n, length, width)).astype("float32"), rng.normal(
        size=(n, 1)).astype("float32")


def _prepared(shape: str, compile_kwargs: dict | None, use_cudnn: str | bool = "auto",
              layers: str = "course"):
    """Build, compile and train one warm-up epoch (tracing, XLA compilation) of a variant."""
    from course_lib.training import fast_compile

    keras.utils.set_random_seed(0)
    model, x, y = build(shape, use_cudnn, layers)
    loss = (keras.losses.SparseCategoricalCrossentropy(from_logits=True) if shape == "char_lm"
            else "mse")
    chosen = ""
    if compile_kwargs is None:
        path = fast_compile(model, "adam", loss)
        chosen = f"jit_compile={path.jit_compile}, steps_per_execution={path.steps_per_execution}"
    else:
        model.compile(optimizer="adam", loss=loss, **compile_kwargs)
    model.fit(_batches(x, y), epochs=1, verbose=0, shuffle=False)
    return model, x, y, chosen


def _batches(x: np.ndarray, y: np.ndarray):
    """``(x, y)`` in batches of :data:`BATCH` as a ``tf.data`` pipeline with autotuning off.

    With NumPy arrays, ``fit`` builds an autotuned pipeline each epoch, and on 2 cores that
    sometimes held the epoch's first batch back ~0.5 s (LSTM: 0.78 s epochs became 1.3 s in
    3 of 24, none of 22 with autotuning off), which made some variants' rates jump between two
    values (~790 and ~1,400 samples/s) from round to round. Every variant gets this pipeline
    (:func:`course_lib.training.steady_input`, one batch ahead).
    """
    import tensorflow as tf

    from course_lib.training import steady_input

    return steady_input(tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH), prefetch=1)


def _keras_epoch(model, x, y):
    batches = _batches(x, y)

    def epoch() -> int:
        model.fit(batches, epochs=1, verbose=0, shuffle=False)
        return len(x)

    return epoch


def _torch_epoch(shape: str):
    """One epoch of the shape in PyTorch eager mode (the ``--peer torch`` row), after a warm-up
    epoch; same random data, batch size and optimiser as the Keras variants."""
    try:
        import torch
    except ImportError:
        raise SystemExit("--peer torch needs PyTorch: pip install 'course_lib[bench]' (the CPU "
                         "wheel, torch==2.13.0)") from None
    cell, units, length, width = SHAPES[shape]
    _, x, y = build(shape)
    torch.manual_seed(0)
    recurrent = {"simple_rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    language_model = shape == "char_lm"
    embedding = torch.nn.Embedding(width, 32) if language_model else None
    rnn = recurrent(32 if language_model else width, units, batch_first=True)
    head = torch.nn.Linear(units, width if language_model else 1)
    modules = torch.nn.ModuleList([m for m in (embedding, rnn, head) if m is not None])
    optimizer = torch.optim.Adam(modules.parameters())
    loss_function = torch.nn.CrossEntropyLoss() if language_model else torch.nn.MSELoss()
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    if language_model:
        inputs, targets = inputs.long(), targets.long()

    def epoch() -> int:
        for start in range(0, len(x), BATCH):
            batch, target = inputs[start:start + BATCH], targets[start:start + BATCH]
            states, _ = rnn(embedding(batch) if language_model else batch)
            output = head(states) if language_model else head(states[:, -1])
            loss = (loss_function(output.reshape(-1, width), target.reshape(-1))
                    if language_model else loss_function(output, target))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return len(x)

    epoch()  # warm-up
    return epoch


def _epoch_rate(epoch, min_seconds: float = 1.0) -> float:
    """Samples per second over whole epochs, repeated until ``min_seconds`` have passed (a
    0.2 s epoch alone is at the mercy of the machine's scheduler)."""
    samples, started = 0, time.perf_counter()
    while samples == 0 or time.perf_counter() - started < min_seconds:
        samples += epoch()
    return samples / (time.perf_counter() - started)


def measure_shape(shape: str, settings=tuple(SETTINGS), rounds: int = 5,
                  peer: str | None = None) -> list[Measurement]:
    """Every setting (and on a GPU every kernel, with ``peer="torch"`` PyTorch too) on one
    shape, timed in interleaved rounds."""
    from course_lib.comparison import interleaved_rounds
    from course_lib.runtime import gpu_names

    variants = {name: _prepared(shape, SETTINGS[name], layers=LAYERS.get(name, "course"))
                for name in settings}
    if gpu_names() and SHAPES[shape][0] != "simple_rnn":
        variants |= {name: _prepared(shape, {}, use_cudnn, layers="keras")
                     for name, use_cudnn in GPU_KERNELS.items()}
    epochs = {name: _keras_epoch(model, x, y) for name, (model, x, y, _) in variants.items()}
    chosen = {name: variant[3] for name, variant in variants.items()}
    if peer == "torch":
        epochs[PEER], chosen[PEER] = _torch_epoch(shape), ""
    rates = interleaved_rounds({name: lambda epoch=epoch: _epoch_rate(epoch)
                                for name, epoch in epochs.items()}, rounds)
    plain = statistics.median(rates[settings[0]])
    return [Measurement(shape, name, statistics.median(rates[name]),
                        statistics.median(rates[name]) / plain, chosen[name])
            for name in epochs]


def run(shapes=tuple(SHAPES), settings=tuple(SETTINGS), rounds: int = 5,
        peer: str | None = None) -> list[Measurement]:
    """All shapes, one after another; prints each row as it is measured."""
    results = []
    for shape in shapes:
        for m in measure_shape(shape, settings, rounds, peer):
            results.append(m)
            note = f"  ({m.chosen})" if m.chosen else ""
            print(f"{shape:<11}{m.setting:<18}{m.samples_per_second:>10.0f} samples/s  "
                  f"{m.ratio_to_plain:>5.2f}x{note}", flush=True)
    return results


def geometric_mean(results: list[Measurement], setting: str = FAST_PATH) -> float:
    """Geometric mean over shapes of one setting's ratio to plain Keras."""
    ratios = [m.ratio_to_plain for m in results if m.setting == setting]
    return float(np.exp(np.mean(np.log(ratios))))


def geometric_mean_of_best(results: list[Measurement]) -> float:
    """Geometric mean over shapes of the best setting's ratio to plain Keras."""
    best = {}
    for m in results:
        best[m.shape] = max(best.get(m.shape, 0.0), m.ratio_to_plain)
    return float(np.exp(np.mean(np.log(list(best.values())))))


def summary(results: list[Measurement]) -> str:
    """The lines printed under the table: fast path geometric mean and worst shape, best case."""
    lines = []
    fast = [m for m in results if m.setting == FAST_PATH]
    if fast:
        worst = min(fast, key=lambda m: m.ratio_to_plain)
        lines.append(f"course fast path: geometric mean {geometric_mean(results):.2f}x plain "
                     f"Keras, worst shape {worst.shape} {worst.ratio_to_plain:.2f}x")
    lines.append(f"best setting per shape: geometric mean {geometric_mean_of_best(results):.2f}x")
    ratios = peer_ratios(results)
    if ratios:
        per_shape = ", ".join(f"{shape} {ratio:.2f}x" for shape, ratio in ratios.items())
        mean = float(np.exp(np.mean(np.log(list(ratios.values())))))
        lines.append(f"course fast path / {PEER}: {per_shape}; geometric mean {mean:.2f}x")
    return "\n".join(lines)


def peer_ratios(results: list[Measurement]) -> dict[str, float]:
    """Per shape: the fast path's samples/s over the peer's (empty without a peer row)."""
    rate = {(m.shape, m.setting): m.samples_per_second for m in results}
    return {shape: rate[shape, FAST_PATH] / rate[shape, PEER]
            for shape, setting in rate if setting == PEER and (shape, FAST_PATH) in rate}


def slow_fast_paths(results: list[Measurement], floor: float) -> list[Measurement]:
    """The shapes whose fast path trains at less than ``floor`` × plain Keras."""
    return [m for m in results if m.setting == FAST_PATH and m.ratio_to_plain < floor]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_lib.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed epochs per variant (interleaved; the median is reported)")
    parser.add_argument("--json", help="also write the measurements to this JSON file")
    parser.add_argument("--peer", choices=["torch"],
                        help="also train every shape with this framework (PyTorch eager)")
    parser.add_argument("--require-fast-path", type=float, metavar="RATIO",
                        help="exit with status 1 when any shape's fast path is below RATIO x "
                             "plain Keras (the regression guard: run it with 0.95 before a "
                             "change to the fast path lands; a timing, so not a CI test)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if args.require_fast_path is not None and FAST_PATH not in args.settings:
        parser.error(f"--require-fast-path needs the '{FAST_PATH}' setting measured")
    if "plain Keras" in args.settings:
        args.settings.remove("plain Keras")
    args.settings.insert(0, "plain Keras")  # the reference every ratio is taken against
    results = run(args.shapes, args.settings, args.rounds, args.peer)
    print(summary(results))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump([asdict(m) for m in results], handle, indent=1)
    if args.require_fast_path is not None:
        slow = slow_fast_paths(results, args.require_fast_path)
        if slow:
            raise SystemExit("fast path below {:.2f}x plain Keras: {}".format(
                args.require_fast_path,
                ", ".join(f"{m.shape} {m.ratio_to_plain:.2f}x ({m.chosen})" for m in slow)))
        print(f"fast path at least {args.require_fast_path:.2f}x plain Keras on every shape")


if __name__ == "__main__":
    main()
