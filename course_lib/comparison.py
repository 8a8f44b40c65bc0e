"""Comparing architectures on equal terms: one task and budget, cost against sequence length,
and the per-token cost of streaming inference.

Every number here is measured in the running process (wall time with ``time.perf_counter``;
memory from TensorFlow's allocator statistics), so a comparison made on a laptop CPU and one
made on a GPU can disagree — that is the point of measuring rather than quoting.

Memory: TensorFlow keeps allocator statistics on GPUs. On a CPU it keeps them only with its
BFC allocator, switched on by ``TF_CPU_ALLOCATOR_USE_BFC=true`` in the environment *before*
TensorFlow starts (notebook 07 sets it in its first cell); without them memory is reported as
None.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import keras
import numpy as np
import tensorflow as tf

from course_lib.training import EpochTimer

K = TypeVar("K")

__all__ = [
    "Contender", "compare_contenders", "compare_cells", "EpochMetric", "contender_table",
    "median_seconds", "interleaved_rounds", "PassCost", "memory_stats_device",
    "forward_backward_cost", "output_and_gradient_gap", "scaling_curves", "loglog_slope",
    "StreamingCost", "streaming_costs",
]


@dataclass
class Contender:
    """One model's result on a shared task: what it cost and how well it did."""

    name: str
    parameters: int
    train_seconds: float
    metric: float
    latency_seconds: float
    model: keras.Model
    history: dict[str, list[float]]  # the training ``History.history`` (per-epoch logs)


def compare_contenders(builders: dict[str, Callable[[], keras.Model]],
                       train: Callable[[keras.Model], object],
                       evaluate: Callable[[keras.Model], float] | None = None,
                       infer: Callable[[keras.Model], object] | None = None, seed: int = 0,
                       latency_repeats: int = 3) -> list[Contender]:
    """Build, train, evaluate and time each contender the same way.

    Args:
        builders: name -> function returning a fresh (uncompiled) model; built after seeding.
        train: trains a model in place (the same data and number of steps for all — the
            budget) and returns the ``fit`` history. ``train_seconds`` is its wall time, or,
            when an :class:`EpochMetric` evaluated during training, the time without those
            evaluations.
        evaluate: model -> validation metric (higher is better); None: ``metric`` is NaN.
        infer: the inference workload to time (e.g. greedy-decode the validation set); its
            median over ``latency_repeats`` runs after one warm-up run is ``latency_seconds``
            (NaN when None).
    """
    results = []
    for name, build in builders.items():
        keras.utils.set_random_seed(seed)
        model = build()
        started = time.perf_counter()
        history = train(model)
        train_seconds = time.perf_counter() - started
        if history is not None and "train_seconds" in history.history:
            train_seconds = history.history["train_seconds"][-1]
        # keep the fit history now: before Keras 3.9, evaluate/predict replace model.history
        logs = dict(history.history) if history is not None else {}
        metric = float(evaluate(model)) if evaluate else math.nan
        latency = (median_seconds(lambda m=model: infer(m), latency_repeats) if infer
                   else math.nan)
        results.append(Contender(name, model.count_params(), train_seconds, metric, latency,
                                 model, logs))
    return results


def compare_cells(build: Callable[[str], keras.Model], train, validation, epochs: int,
                  cells: Sequence[str] = ("simple_rnn", "lstm", "gru"), seed: int = 0,
                  **fit_kwargs) -> list[dict]:
    """:func:`compare_contenders` for recurrent cells: one compiled model per cell type, trained
    on the same data and budget, with its parameter count checked and its speed measured.

    Args:
        build: ``build(cell)`` returns a compiled model whose recurrent layer is named ``rnn``.
        train, validation: what ``fit`` takes as ``x`` and ``validation_data`` (a
            ``tf.data.Dataset`` or an (x, y) tuple).
        epochs: the budget, the same for every cell (at least 2: the first is warm-up).
        fit_kwargs: passed on to ``fit`` (e.g. ``batch_size``, ``callbacks``).

    Returns:
        One dict per cell: ``cell``, ``params`` (whole model), ``rnn_params`` (Keras) and
        ``rnn_params_formula`` (:func:`course_lib.models.recurrent_param_count`),
        ``seconds_per_epoch`` (median after the warm-up epoch), ``examples_per_second``, the
        final ``val_*`` metrics, and the trained ``model``.
    """
    from course_lib.models import recurrent_param_count

    if epochs < 2:
        raise ValueError(f"need epochs >= 2 (the first epoch is warm-up), got {epochs}")
    extra_callbacks = fit_kwargs.pop("callbacks", [])
    timers: list[EpochTimer] = []

    def fit(model: keras.Model):
        timers.append(EpochTimer())
        inputs = train if isinstance(train, tuple) else (train,)  # (x, y) or a dataset
        return model.fit(*inputs, validation_data=validation, epochs=epochs, verbose=0,
                         callbacks=[timers[-1], *extra_callbacks], **fit_kwargs)

    contenders = compare_contenders({cell: lambda cell=cell: build(cell) for cell in cells}, fit,
                                    seed=seed)
    results = []
    for contender, timer in zip(contenders, timers, strict=True):
        layer = contender.model.get_layer("rnn")
        features, units = layer.cell.kernel.shape[0], layer.cell.units
        seconds = float(np.median(timer.seconds[1:]))
        results.append({
            "cell": contender.name,
            "params": contender.parameters,
            "rnn_params": layer.count_params(),
            "rnn_params_formula": recurrent_param_count(
                contender.name, features, units, getattr(layer.cell, "reset_after", True)),
            "seconds_per_epoch": seconds,
            "examples_per_second": _count_examples(train) / seconds,
            **{key: values[-1] for key, values in contender.history.items()
               if key.startswith("val_")},
            "model": contender.model,
        })
    return results


def _count_examples(train) -> int:
    """Examples in one epoch of ``train``: an (x, y) tuple or a batched tf.data.Dataset."""
    if isinstance(train, tuple):
        return len(train[0])
    return int(sum(keras.ops.shape(inputs)[0] for inputs, _ in train))


class EpochMetric(EpochTimer):
    """After every epoch, ``logs[name] = evaluate(model)`` and ``logs["train_seconds"]`` = the
    training wall time so far (the evaluations excluded), so ``history.history`` holds a
    learning curve against both epochs and seconds."""

    def __init__(self, name: str, evaluate: Callable[[keras.Model], float]):
        super().__init__()
        self.name, self.evaluate = name, evaluate

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)  # times the epoch's training batches
        if logs is not None:
            logs[self.name] = float(self.evaluate(self.model))
            logs["train_seconds"] = sum(self.seconds)


def contender_table(results: Sequence[Contender], metric_name: str, latency_label: str) -> str:
    """The results as an aligned text table, one row per contender."""
    header = (f"{'model':<22}{'parameters':>11}{'train s':>9}{metric_name:>14}"
              f"{latency_label:>22}")
    rows = [f"{r.name:<22}{r.parameters:>11,}{r.train_seconds:>9.1f}{r.metric:>14.3f}"
            f"{r.latency_seconds * 1000:>19.0f} ms" for r in results]
    return "\n".join([header, *rows])


def median_seconds(run: Callable[[], object], repeats: int = 3, min_seconds: float = 0.0,
                   max_repeats: int = 100, warm_up: bool = True) -> float:
    """Median wall time of ``run()`` after one untimed warm-up call (unless ``warm_up`` is
    False), over at least ``repeats`` calls — and, for quick calls, more (up to
    ``max_repeats``) until ``min_seconds`` of timed calls have accumulated, so that short
    measurements are not one noisy sample."""
    if warm_up:
        run()
    times: list[float] = []
    while len(times) < repeats or (sum(times) < min_seconds and len(times) < max_repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def interleaved_rounds(measurements: Mapping[K, Callable[[], float]],
                       rounds: int) -> dict[K, list[float]]:
    """Each measurement's values over ``rounds`` rounds, every round taking every measurement in
    turn: load from elsewhere on the machine then falls on all of them alike instead of on
    whichever happened to run at that moment."""
    values: dict[K, list[float]] = {key: [] for key in measurements}
    for _ in range(rounds):
        for key, measure in measurements.items():
            values[key].append(measure())
    return values


# ------------------------------------------------------------------------------------------------
# cost of one training pass against sequence length
# ------------------------------------------------------------------------------------------------
@dataclass
class PassCost:
    """Time and extra memory of one forward + backward pass."""

    seconds: float
    peak_bytes: int | None  # None where the device keeps no allocator statistics


def memory_stats_device() -> str | None:
    """'GPU:0' or 'CPU:0' where TensorFlow reports allocator statistics, else None."""
    device = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"
    try:
        tf.config.experimental.get_memory_info(device)
    except ValueError:  # "Allocator stats not available": a CPU without the BFC allocator
        return None
    return device


def _gradient_pass(layer: keras.layers.Layer, inputs: np.ndarray) -> Callable[[], None]:
    """A call that computes (and waits for) the gradient of ``sum(layer(inputs))`` with respect
    to the layer's weights and its inputs (batch, time, features), compiled with
    ``tf.function``; the first call traces it."""
    x = tf.constant(inputs)
    layer(x)  # build

    @tf.function
    def gradients(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True))
        return tape.gradient(loss, [x, *layer.trainable_weights])

    def run():
        for gradient in gradients(x):
            gradient.numpy()  # wait for the result

    return run


def output_and_gradient_gap(layer: keras.layers.Layer, reference: keras.layers.Layer,
                            inputs: np.ndarray) -> float:
    """Largest difference between two built layers holding the same weights, over their outputs
    and the gradients of ``sum(output ** 2)`` with respect to the inputs (batch, time, features)
    and to each weight (in the layers' weight order); each tensor's largest absolute difference
    is divided by its largest magnitude in ``reference`` when that exceeds 1 (a weight's
    gradient sums over the batch and the steps, so float32 round-off grows with it)."""
    x = tf.constant(inputs)

    def outputs_and_gradients(of):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = of(x)
            loss = tf.reduce_sum(tf.square(outputs))
        return [outputs, *tape.gradient(loss, [x, *of.trainable_weights])]

    pairs = zip(outputs_and_gradients(layer), outputs_and_gradients(reference), strict=True)
    return max(float(tf.reduce_max(tf.abs(mine - theirs))
                     / max(1.0, float(tf.reduce_max(tf.abs(theirs)))))
               for mine, theirs in pairs)


def _peak_bytes(run: Callable[[], None]) -> int | None:
    """Peak memory allocated during one ``run()`` above what was allocated before it (None
    where the device keeps no allocator statistics)."""
    device = memory_stats_device()
    if device is None:
        return None
    tf.config.experimental.reset_memory_stats(device)
    before = tf.config.experimental.get_memory_info(device)["current"]
    run()
    return tf.config.experimental.get_memory_info(device)["peak"] - before


def forward_backward_cost(layer: keras.layers.Layer, inputs: np.ndarray,
                          repeats: int = 3, min_seconds: float = 0.25) -> PassCost:
    """Time and peak extra memory of the gradient of ``sum(layer(inputs))`` with respect to the
    layer's weights and its inputs, compiled with ``tf.function``.

    Args:
        inputs: (batch, time, features) float32.

    Returns:
        median seconds over ``repeats`` passes, or more for passes shorter than
        ``min_seconds`` in total (after a traced warm-up pass), and the peak
        memory allocated during one pass above what was allocated before it.
    """
    run = _gradient_pass(layer, inputs)
    return PassCost(median_seconds(run, repeats, min_seconds), _peak_bytes(run))


def scaling_curves(layers: dict[str, Callable[[], keras.layers.Layer]], lengths: Sequence[int],
                   batch: int, features: int, repeats: int = 3, seed: int = 0,
                   min_seconds: float = 0.05) -> dict[str, dict[int, PassCost]]:
    """Time and peak extra memory of one forward + backward pass (as in
    :func:`forward_backward_cost`) of each layer (a fresh one per length) on random inputs
    (batch, length, features), for every length.

    The passes are timed in ``repeats`` rounds that take turns over every length and layer,
    and each pass's time is its fastest round's (a round of a quick pass is the median of as
    many calls as fill ``min_seconds``). Load from elsewhere on a shared machine only ever
    slows a pass down, so a moment of it spoils one round of a few points, which the minimum
    discards, instead of bending one curve.
    """
    rng = np.random.default_rng(seed)
    passes: dict[tuple[str, int], Callable[[], None]] = {}
    for length in lengths:
        inputs = rng.normal(size=(batch, length, features)).astype("float32")
        for name, make_layer in layers.items():
            passes[name, length] = _gradient_pass(make_layer(), inputs)
            passes[name, length]()  # trace and warm up
    seconds = interleaved_rounds(
        {key: lambda run=run: median_seconds(run, 1, min_seconds, warm_up=False)
         for key, run in passes.items()}, repeats)
    curves: dict[str, dict[int, PassCost]] = {name: {} for name in layers}
    for (name, length), run in passes.items():
        curves[name][length] = PassCost(min(seconds[name, length]), _peak_bytes(run))
    return curves


def loglog_slope(lengths: Sequence[float], values: Sequence[float]) -> float:
    """Least-squares slope of log(value) against log(length): the exponent k of value ∝ length^k
    (1 for linear growth, 2 for quadratic)."""
    return float(np.polyfit(np.log(lengths), np.log(values), 1)[0])


# ------------------------------------------------------------------------------------------------
# streaming: the cost of one more token
# ------------------------------------------------------------------------------------------------
@dataclass
class StreamingCost:
    """Per-token cost of step-wise decoding, measured at every step."""

    seconds: np.ndarray  # (steps,) wall time of step t
    state_bytes: np.ndarray  # (steps,) bytes of the state after step t

    def window_median(self, end: int, width: int = 32) -> float:
        """Median step time over the ``width`` steps before step ``end``."""
        return float(np.median(self.seconds[max(0, end - width):end]))

    def growth(self, width: int = 64) -> float:
        """Median step time of the last ``width`` steps over that of the first ``width`` (after
        the warm-up): 1 for a constant per-token cost."""
        return self.window_median(len(self.seconds), width) / self.window_median(width, width)


def streaming_costs(models: Mapping[str, object], source_ids: np.ndarray, token_id: int,
                    steps: int, turn: int = 64) -> dict[str, StreamingCost]:
    """Feed ``token_id`` to each model's ``step`` ``steps`` times from
    ``model.start_state(source_ids)`` and time every step.

    The models take turns, ``turn`` steps each, so a burst of load on the machine slows all of
    them at about the same tokens instead of falsifying one model's curve. The turns are whole
    blocks rather than single tokens because a model stepping right after another runs from a
    cache the other has filled: one token each, a transformer's KV cache (megabytes by the
    end of a long stream) made the RNN's and the TCN's constant per-token cost look 1.4-1.9x
    higher at the end than at the start (measured on one and on two cores); alone, or in
    blocks, it stays flat. The first two steps of each model, which compile the step, are run
    before timing starts. Works for any model with the decoding protocol of
    :mod:`course_lib.decoding`; the state's size is the sum of its arrays' bytes (the encoder
    output included, which is constant).
    """
    if turn < 1:
        raise ValueError(f"turn must be at least 1 step, got {turn}")
    tokens = np.full(len(source_ids), token_id, np.int32)
    for model in models.values():
        warm = model.start_state(source_ids)
        for _ in range(2):
            _, warm = model.step(tokens, warm)
    states = {name: model.start_state(source_ids) for name, model in models.items()}
    seconds = {name: np.empty(steps) for name in models}
    state_bytes = {name: np.empty(steps, np.int64) for name in models}
    for first in range(0, steps, turn):
        for name, model in models.items():
            for t in range(first, min(first + turn, steps)):
                started = time.perf_counter()
                _, states[name] = model.step(tokens, states[name])
                seconds[name][t] = time.perf_counter() - started
                state_bytes[name][t] = sum(np.asarray(s).nbytes for s in states[name])
    return {name: StreamingCost(seconds[name], state_bytes[name]) for name in models}
