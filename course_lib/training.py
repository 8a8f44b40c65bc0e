"""Training helpers: watching the gradient norm while ``fit`` runs, and resetting stateful
layers between epochs.

Keras callbacks never see the gradients of the training step, so :class:`GradientNormLogger`
measures them itself: every ``every`` batches it computes the global gradient norm of the loss
on one fixed probe batch with ``tf.GradientTape``. The probe makes successive values comparable
(the same data every time) at the cost of one extra forward/backward pass per measurement.
"""

from __future__ import annotations

import math

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


def reset_recurrent_states(model) -> None:
    """Zero the carried state of every stateful recurrent layer of ``model``."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


class ResetStatesEachEpoch(keras.callbacks.Callback):
    """Start every epoch of stateful training from zero states (the text starts over)."""

    def on_epoch_begin(self, epoch, logs=None):
        reset_recurrent_states(self.model)
