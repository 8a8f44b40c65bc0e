"""Training helpers: watching the gradient norm while ``fit`` runs, resetting stateful layers
between epochs, and comparing recurrent cells on one task under one budget.

Keras callbacks never see the gradients of the training step, so :class:`GradientNormLogger`
measures them itself: every ``every`` batches it computes the global gradient norm of the loss
on one fixed probe batch with ``tf.GradientTape``. The probe makes successive values comparable
(the same data every time) at the cost of one extra forward/backward pass per measurement.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import keras
import numpy as np


def global_norm(tensors) -> float:
    """sqrt(sum of squared entries) over a list of tensors — what ``global_clipnorm`` bounds."""
    return math.sqrt(sum(float(np.sum(np.square(keras.ops.convert_to_numpy(t))))
                         for t in tensors if t is not None))


class GradientNormLogger(keras.callbacks.Callback):
    """Record the global gradient norm on a probe batch during training.

    Args:
        x, y: a probe batch, e.g. the first 64 training examples.
        every: measure after every ``every``-th training batch (1 = every batch).

    After ``fit``: ``steps`` and ``norms`` hold the measurements (NaN once the model has
    diverged), and the epoch logs — hence ``history.history`` — get ``grad_norm``, the norm
    at the end of each epoch.
    """

    def __init__(self, x, y, every: int = 1):
        super().__init__()
        self.x, self.y, self.every = x, y, every
        self.steps: list[int] = []
        self.norms: list[float] = []
        self._step = 0

    def gradient_norm(self) -> float:
        import tensorflow as tf

        loss_fn = keras.losses.get(self.model.loss)
        with tf.GradientTape() as tape:
            # Loss objects reduce to a scalar; plain functions return one value per example.
            loss = keras.ops.mean(loss_fn(self.y, self.model(self.x, training=False)))
        return global_norm(tape.gradient(loss, self.model.trainable_weights))

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every == 0:
            self.steps.append(self._step)
            self.norms.append(self.gradient_norm())

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["grad_norm"] = self.gradient_norm()


def seconds_per_train_step(model, x, y, steps: int = 20) -> float:
    """Mean wall time of one ``train_on_batch(x, y)`` on a compiled model, after one untimed
    step that builds and traces it."""
    model.train_on_batch(x, y)
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return (time.perf_counter() - started) / steps


def reset_recurrent_states(model) -> None:
    """Zero the carried state of every stateful recurrent layer of ``model``."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


class ResetStatesEachEpoch(keras.callbacks.Callback):
    """Start every epoch of stateful training from zero states (the text starts over)."""

    def on_epoch_begin(self, epoch, logs=None):
        reset_recurrent_states(self.model)


def compare_cells(build: Callable[[str], keras.Model], train, validation, epochs: int,
                  cells: Sequence[str] = ("simple_rnn", "lstm", "gru"), seed: int = 0,
                  **fit_kwargs) -> list[dict]:
    """Train one compiled model per cell type on the same data and budget, and measure it.

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
    results = []
    for cell in cells:
        keras.utils.set_random_seed(seed)
        model = build(cell)
        timer = EpochTimer()
        inputs = train if isinstance(train, tuple) else (train,)  # (x, y) or a dataset
        history = model.fit(*inputs, validation_data=validation, epochs=epochs, verbose=0,
                            callbacks=[timer, *extra_callbacks], **fit_kwargs)
        layer = model.get_layer("rnn")
        features, units = layer.cell.kernel.shape[0], layer.cell.units
        seconds = float(np.median(timer.seconds[1:]))
        results.append({
            "cell": cell,
            "params": model.count_params(),
            "rnn_params": layer.count_params(),
            "rnn_params_formula": recurrent_param_count(
                cell, features, units, getattr(layer.cell, "reset_after", True)),
            "seconds_per_epoch": seconds,
            "examples_per_second": _count_examples(train) / seconds,
            **{key: values[-1] for key, values in history.history.items()
               if key.startswith("val_")},
            "model": model,
        })
    return results


def _count_examples(train) -> int:
    """Examples in one epoch of ``train``: an (x, y) tuple or a batched tf.data.Dataset."""
    if isinstance(train, tuple):
        return len(train[0])
    return int(sum(keras.ops.shape(inputs)[0] for inputs, _ in train))


class EpochTimer(keras.callbacks.Callback):
    """Wall time of the training part of each epoch (validation excluded)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._started = self._last_batch_end = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._last_batch_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(self._last_batch_end - self._started)


class ScheduledSampling(keras.callbacks.Callback):
    """Raise a seq2seq model's ``sampling_probability`` by epoch (see
    :class:`course_lib.seq2seq.EncoderDecoder`): ``schedule(epoch) -> probability`` in [0, 1].

    ``linear(end, epochs)`` goes from 0 at the first epoch to ``end`` at the last; a constant
    schedule (``lambda epoch: 1.0``) trains on the model's own predictions throughout. The
    probability used in each epoch is recorded in ``logs["sampling_probability"]``.
    """

    def __init__(self, schedule: Callable[[int], float]):
        super().__init__()
        self.schedule = schedule

    @staticmethod
    def linear(end: float, epochs: int) -> Callable[[int], float]:
        """0 at epoch 0, rising in equal steps to ``end`` at epoch ``epochs - 1``."""
        return lambda epoch: end * epoch / max(1, epochs - 1)

    def on_epoch_begin(self, epoch, logs=None):
        probability = float(self.schedule(epoch))
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"expected a sampling probability in [0, 1], got {probability} at "
                             f"epoch {epoch}")
        self.model.sampling_probability.assign(probability)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["sampling_probability"] = float(self.model.sampling_probability.numpy())
