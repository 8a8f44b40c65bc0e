"""Attention layers: additive (Bahdanau) and multiplicative (Luong) attention for recurrent
encoder–decoders, and the pieces of a transformer (positional encodings, encoder and decoder
blocks).

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

The transformer blocks (Vaswani et al., 2017) are built on ``keras.layers.MultiHeadAttention``
with *pre*-layer normalisation (Xiong et al., 2020: normalise before each sub-layer, add the
residual after), which trains without a learning-rate warm-up at the small budgets of the
course. Masks are explicit arguments: a padding mask (batch, time) bool, True for real tokens,
and a causal mask built inside the decoder block.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

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
# ------------------------------------------------------------------------------------------------
POSITIONS = ("sinusoidal", "learned")


def sinusoidal_encoding(length: int, depth: int) -> np.ndarray:
    """Vaswani et al.'s positional encoding as a (length, depth) float32 array:
    ``PE[p, 2i] = sin(p / 10000**(2i / depth))`` and ``PE[p, 2i + 1] = cos(...)`` (same angle)."""
    if depth % 2:
        raise ValueError(f"sinusoidal encodings pair sin and cos; depth must be even, got {depth}")
    angles = np.arange(length)[:, None] / 10000.0 ** (np.arange(0, depth, 2) / depth)[None, :]
    encoding = np.empty((length, depth), np.float32)
    encoding[:, 0::2], encoding[:, 1::2] = np.sin(angles), np.cos(angles)
    return encoding


def causal_mask(length: int) -> np.ndarray:
    """(length, length) bool: query step i may attend to key step j only if j <= i."""
    return np.tril(np.ones((length, length), bool))


def attention_mask(query_mask=None, key_mask=None, causal: bool = False, query_length=None,
                   key_length=None):
    """A (batch, query_time, key_time) bool mask for ``MultiHeadAttention`` (True = may attend),
    from (batch, time) padding masks and/or causality; None when nothing is masked.

    ``query_length``/``key_length`` are only needed for a causal mask without padding masks.
    """
    if query_mask is None and key_mask is None and not causal:
        return None
    parts = []
    if query_mask is not None:
        parts.append(ops.expand_dims(ops.cast(query_mask, "bool"), 2))  # (batch, q, 1)
    if key_mask is not None:
        parts.append(ops.expand_dims(ops.cast(key_mask, "bool"), 1))  # (batch, 1, k)
    if causal:
        q_len = query_length if query_mask is None else ops.shape(query_mask)[1]
        k_len = key_length if key_mask is None else ops.shape(key_mask)[1]
        rows, cols = ops.arange(q_len)[:, None], ops.arange(k_len)[None, :]
        parts.append(ops.expand_dims(cols <= rows, 0))  # (1, q, k)
    mask = parts[0]
    for part in parts[1:]:
        mask = ops.logical_and(mask, part)
    return mask


@keras.saving.register_keras_serializable(package="course_lib")
class SinusoidalPositionalEncoding(keras.layers.Layer):
    """Adds :func:`sinusoidal_encoding` to its input: (batch, time, depth) -> same shape.
    No weights and no maximum length; ``start`` shifts the positions (step-wise decoding)."""

    def call(self, inputs, start=0):
        depth = inputs.shape[-1]
        if depth % 2:
            raise ValueError(f"sinusoidal encodings pair sin and cos; depth must be even, got "
                             f"{depth}")
        positions = ops.cast(start + ops.arange(ops.shape(inputs)[1]), "float32")
        frequencies = 1.0 / 10000.0 ** (np.arange(0, depth, 2, dtype="float32") / depth)
        angles = positions[:, None] * frequencies[None, :]  # (time, depth / 2)
        interleaved = ops.reshape(ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1),
                                  (-1, depth))
        return inputs + ops.cast(interleaved, inputs.dtype)[None]


@keras.saving.register_keras_serializable(package="course_lib")
class LearnedPositionalEmbedding(keras.layers.Layer):
    """Adds a learnt vector per position (at most ``max_length`` positions):
    (batch, time, depth) -> same shape; ``start`` shifts the positions."""

    def __init__(self, max_length: int, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length

    def build(self, input_shape):
        self.position_vectors = self.add_weight(
            shape=(self.max_length, input_shape[-1]), initializer="glorot_uniform",
            name="position_vectors")

    def call(self, inputs, start=0):
        positions = start + ops.arange(ops.shape(inputs)[1])
        return inputs + ops.take(self.position_vectors, positions, axis=0)[None]

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length}


def positional_layer(kind: str | None, max_length: int = 512):
    """``"sinusoidal"``, ``"learned"`` (up to ``max_length`` positions) or None (no positions:
    the model then sees a *set* of tokens, not a sequence)."""
    if kind is None:
        return None
    if kind == "sinusoidal":
        return SinusoidalPositionalEncoding(name="positions")
    if kind == "learned":
        return LearnedPositionalEmbedding(max_length, name="positions")
    raise ValueError(f"unknown positions {kind!r}; choose sinusoidal, learned or None")


class _Block(keras.layers.Layer):
    """Shared parts of the transformer blocks: sizes, feed-forward network, residual dropout."""

    def __init__(self, d_model: int, heads: int, ff_units: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if d_model % heads:
            raise ValueError(f"d_model must be divisible by heads, got {d_model} and {heads}")
        self.d_model, self.heads, self.ff_units, self.dropout = d_model, heads, ff_units, dropout
        self.feed_forward = keras.Sequential([
            keras.layers.Dense(ff_units, activation="relu"), keras.layers.Dense(d_model)],
            name="feed_forward")
        self.residual_dropout = keras.layers.Dropout(dropout)

    def _attention(self, name: str):
        return keras.layers.MultiHeadAttention(self.heads, self.d_model // self.heads,
                                               dropout=self.dropout, name=name)

    def _add(self, x, update, training):
        return x + self.residual_dropout(update, training=training)

    def get_config(self):
        return {**super().get_config(), "d_model": self.d_model, "heads": self.heads,
                "ff_units": self.ff_units, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="course_lib")
class TransformerEncoderBlock(_Block):
    """Self-attention over the whole source, then a position-wise feed-forward network, each
    with pre-layer normalisation and a residual connection.

    call(x (batch, time, d_model), padding_mask (batch, time) bool or None) -> (batch, time,
    d_model). Padded positions are never attended to.
    """

    def __init__(self, d_model: int, heads: int, ff_units: int, dropout: float = 0.0, **kwargs):
        super().__init__(d_model, heads, ff_units, dropout, **kwargs)
        self.self_attention = self._attention("self_attention")
        self.norm_attention = keras.layers.LayerNormalization(name="norm_attention")
        self.norm_feed_forward = keras.layers.LayerNormalization(name="norm_feed_forward")

    def call(self, x, padding_mask=None, training=None):
        h = self.norm_attention(x)
        mask = attention_mask(padding_mask, padding_mask)
        x = self._add(x, self.self_attention(h, h, attention_mask=mask, training=training),
                      training)
        return self._add(x, self.feed_forward(self.norm_feed_forward(x)), training)


@keras.saving.register_keras_serializable(package="course_lib")
class TransformerDecoderBlock(_Block):
    """Causal self-attention over the target so far, cross-attention to the encoder output,
    then a feed-forward network; pre-layer normalisation and residuals as in the encoder block.

    call(x (batch, target_time, d_model), memory (batch, source_time, d_model),
    memory_mask (batch, source_time), target_mask (batch, target_time), past=None)
    -> (output (batch, target_time, d_model), keys (batch, past_time + target_time, d_model)).

    ``keys`` are the normalised inputs the self-attention attended over. Step-wise decoding
    passes them back as ``past`` with one new token (target_time = 1): the new token then
    attends to every earlier position without recomputing them (a cache that grows by one
    position per step; the causal mask is implicit).
    """

    def __init__(self, d_model: int, heads: int, ff_units: int, dropout: float = 0.0, **kwargs):
        super().__init__(d_model, heads, ff_units, dropout, **kwargs)
        self.self_attention = self._attention("self_attention")
        self.cross_attention = self._attention("cross_attention")
        self.norm_self = keras.layers.LayerNormalization(name="norm_self")
        self.norm_cross = keras.layers.LayerNormalization(name="norm_cross")
        self.norm_feed_forward = keras.layers.LayerNormalization(name="norm_feed_forward")

    def call(self, x, memory, memory_mask=None, target_mask=None, past=None, training=None):
        h = self.norm_self(x)
        if past is None:
            keys = h
            mask = attention_mask(target_mask, target_mask, causal=True,
                                  query_length=ops.shape(x)[1], key_length=ops.shape(x)[1])
        else:
            keys, mask = ops.concatenate([past, h], axis=1), None
        x = self._add(x, self.self_attention(h, keys, attention_mask=mask, training=training),
                      training)
        h = self.norm_cross(x)
        cross_mask = None if memory_mask is None else attention_mask(
            ops.ones(ops.shape(x)[:2], "bool"), memory_mask)
        x = self._add(x, self.cross_attention(h, memory, attention_mask=cross_mask,
                                              training=training), training)
        return self._add(x, self.feed_forward(self.norm_feed_forward(x)), training), keys
