"""Attention layers for recurrent encoder–decoders: additive (Bahdanau) and multiplicative
(Luong) attention. (The transformer's pieces — positions, masks, blocks — are in
:mod:`course_lib.transformer`.)

Both take a *query* per target step and the encoder's *values* (also used as keys), score every
(target step, source step) pair, softmax the scores over the source steps that are not padding,
and return the weighted sum of the values:

    scores  (batch, target_time, source_time)
    weights = softmax(scores masked by the source mask)          rows sum to 1, 0 on padding
    context = weights @ values   (batch, target_time, value_units)

Keras ships ``keras.layers.Attention`` (dot score) and ``keras.layers.AdditiveAttention``
(``sum(tanh(q + k))``), but neither learns the projections of the papers: Bahdanau et al. (2015)
score with ``v·tanh(W_q q + W_k k)`` and Luong et al. (2015) add the "general" score
``q·(W k)``. These layers implement the papers' scores; with identity projections they reduce to
the Keras layers, which the tests check.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = [
    "SCORES", "masked_softmax", "AdditiveAttention", "MultiplicativeAttention",
    "attention_layer",
]

SCORES = ("dot", "general")


def masked_softmax(scores, mask=None):
    """Softmax over the last axis that gives exactly 0 weight where ``mask`` is False.

    Args:
        scores: (batch, target_time, source_time) float.
        mask: (batch, source_time) bool, True for real tokens; None means no padding.

    Returns:
        (batch, target_time, source_time) weights; each row sums to 1 over unmasked positions.
    """
    if mask is None:
        return ops.softmax(scores, axis=-1)
    keep = ops.expand_dims(ops.cast(mask, "bool"), axis=1)  # (batch, 1, source_time)
    very_negative = ops.full_like(scores, -1e9)
    weights = ops.softmax(ops.where(keep, scores, very_negative), axis=-1)
    return ops.where(keep, weights, ops.zeros_like(weights))


class _Attention(keras.layers.Layer):
    """Shared call: scores -> masked softmax -> context. Subclasses define ``score``.
    The query's padding mask (if any) passes through to the context."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, query, values, values_mask=None):
        """query: (batch, target_time, query_units); values: (batch, source_time, value_units);
        values_mask: (batch, source_time) bool or None.

        Returns:
            context (batch, target_time, value_units), weights (batch, target_time, source_time).
        """
        weights = masked_softmax(self.score(query, values), values_mask)
        return ops.matmul(weights, values), weights


@keras.saving.register_keras_serializable(package="course_lib")
class AdditiveAttention(_Attention):
    """Bahdanau's additive score ``v · tanh(W_q q + W_k k)`` with ``units`` hidden units."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.query_dense = keras.layers.Dense(units, use_bias=False, name="query_projection")
        self.key_dense = keras.layers.Dense(units, use_bias=False, name="key_projection")
        self.score_dense = keras.layers.Dense(1, use_bias=False, name="score_vector")

    def build(self, query_shape, values_shape, values_mask_shape=None):
        self.query_dense.build(query_shape)
        self.key_dense.build(values_shape)
        self.score_dense.build((*values_shape[:-1], self.units))

    def score(self, query, values):
        """(batch, target_time, source_time) additive scores."""
        q = ops.expand_dims(self.query_dense(query), axis=2)  # (batch, target, 1, units)
        k = ops.expand_dims(self.key_dense(values), axis=1)  # (batch, 1, source, units)
        return ops.squeeze(self.score_dense(ops.tanh(q + k)), axis=-1)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="course_lib")
class MultiplicativeAttention(_Attention):
    """Luong's multiplicative scores: ``"dot"`` = q·k (query and values of equal width) or
    ``"general"`` = q·(W k) with a learnt W (widths may differ)."""

    def __init__(self, score: str = "general", **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"unknown score {score!r}; choose one of {', '.join(SCORES)}")
        self.score_name = score
        self.key_dense = None

    def build(self, query_shape, values_shape, values_mask_shape=None):
        if self.score_name == "general":
            self.key_dense = keras.layers.Dense(query_shape[-1], use_bias=False,
                                                name="general_projection")
            self.key_dense.build(values_shape)
        elif query_shape[-1] != values_shape[-1]:
            raise ValueError(
                f"dot attention needs query and values of equal width, got {query_shape[-1]} "
                f"and {values_shape[-1]}; use score='general' to learn a projection")

    def score(self, query, values):
        """(batch, target_time, source_time) multiplicative scores."""
        keys = values if self.key_dense is None else self.key_dense(values)
        return ops.matmul(query, ops.transpose(keys, (0, 2, 1)))

    def get_config(self):
        return {**super().get_config(), "score": self.score_name}


def attention_layer(kind: str, units: int):
    """``"additive"`` (Bahdanau), ``"dot"`` or ``"general"`` (Luong) attention by name."""
    if kind == "additive":
        return AdditiveAttention(units, name="attention")
    if kind in SCORES:
        return MultiplicativeAttention(kind, name="attention")
    raise ValueError(f"unknown attention {kind!r}; choose additive, dot or general")


# ------------------------------------------------------------------------------------------------
# transformer pieces
