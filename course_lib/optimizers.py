"""Optimizers whose update is right for an Embedding: sparse gradients summed per row first.

An ``Embedding`` (a gather) gets a sparse gradient, ``tf.IndexedSlices``: one slice per
*occurrence* of an id in the batch, so an id seen 500 times brings 500 slices for the same row.
The true gradient of that row is their sum. Keras 3's optimizers (3.8 to 3.15 measured) hand the
slices to their update unsummed; a linear update (SGD) does not care, but Adam, AdamW and RMSprop
square the gradient, and the square of a sum is not the sum of squares: their second moment, hence
the step, is wrong for every row that occurs more than once in a batch. ``tests/test_optimizers.py``
reproduces it (a 0.29 difference after three steps on a 7-word table) and shows the classes below
equal to the same model trained densely (``one_hot @ table``) to float32 rounding.

The fix is the one TensorFlow 1's optimizers applied (de-duplicating the slices): before the
update, the slices of each row are summed into one (``tf.unique`` + ``unsorted_segment_sum``).
Dense gradients pass through untouched, so for models without an embedding these classes are
Keras' own. TensorFlow is used because ``IndexedSlices`` is TensorFlow's type.
"""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = ["sum_repeated_rows", "SummedSparseGradients", "Adam", "AdamW", "RMSprop"]


def sum_repeated_rows(gradient):
    """The gradient with the slices of each row summed into one.

    ``gradient``: a dense tensor (returned as is) or ``tf.IndexedSlices`` with ``values:
    (slices, *row_shape)`` and ``indices: (slices,)``; returns ``IndexedSlices`` with one slice
    per distinct index, ``values: (distinct, *row_shape)``, in first-occurrence order.
    """
    if not isinstance(gradient, tf.IndexedSlices):
        return gradient
    rows, slot = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(gradient.values, slot, tf.shape(rows)[0])
    return tf.IndexedSlices(values, rows, gradient.dense_shape)


class SummedSparseGradients:
    """Mixin for a Keras optimizer: sum each sparse gradient's repeated rows before ``apply``."""

    def apply(self, grads, trainable_variables=None):
        return super().apply([sum_repeated_rows(g) for g in grads], trainable_variables)


@keras.saving.register_keras_serializable(package="course_lib")
class Adam(SummedSparseGradients, keras.optimizers.Adam):
    """``keras.optimizers.Adam`` (same arguments) with the right update for an Embedding."""


@keras.saving.register_keras_serializable(package="course_lib")
class AdamW(SummedSparseGradients, keras.optimizers.AdamW):
    """``keras.optimizers.AdamW`` (same arguments) with the right update for an Embedding."""


@keras.saving.register_keras_serializable(package="course_lib")
class RMSprop(SummedSparseGradients, keras.optimizers.RMSprop):
    """``keras.optimizers.RMSprop`` (same arguments) with the right update for an Embedding."""
