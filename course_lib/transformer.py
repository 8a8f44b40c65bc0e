"""A small encoder–decoder transformer that trains and decodes like the recurrent
:class:`course_lib.seq2seq.EncoderDecoder`.

    source ids (batch, source_time) ─ embed·√d + positions ─ encoder blocks ─ norm ─► memory
    target_in ids (batch, target_time) ─ embed·√d + positions ─ decoder blocks (causal
        self-attention, cross-attention to memory) ─ norm ─ Dense ─► logits
        (batch, target_time, target_vocab)

It takes the same inputs ``(source_ids, target_in)`` and gives the same logits as the recurrent
model, so the same datasets, loss and ``fit`` train it; and it has the same inference methods,
``start_state(source_ids)`` and ``step(token_ids, state)``, so :func:`course_lib.decoding.
greedy_decode` and :func:`course_lib.decoding.beam_search` decode it unchanged.

The difference is in the state. A recurrent decoder carries a fixed-size vector from step to
step; this decoder carries, per block, a **KV cache**: the self-attention's projected keys and
values at every position so far. It grows by one position per generated token, and a new
token projects only itself (O(d²)) and attends to the cache (O(n·d) for n earlier tokens), so
a token's cost and the state's memory grow with the output length. Ids 0 are padding.

The blocks (Vaswani et al., 2017) are built on ``keras.layers.MultiHeadAttention`` with *pre*-layer
normalisation (Xiong et al., 2020: normalise before each sub-layer, add the residual after),
which trains without a learning-rate warm-up at the small budgets of the course. Masks are
explicit arguments: a padding mask (batch, time) bool, True for real tokens, and a causal mask
built inside the decoder block. Positions are sinusoidal (no weights) or learnt.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from course_lib.decoding import StepwiseDecoding

__all__ = [
    "POSITIONS", "sinusoidal_encoding", "causal_mask", "attention_mask",
    "SinusoidalPositionalEncoding", "LearnedPositionalEmbedding", "positional_layer",
    "TransformerEncoderBlock", "TransformerDecoderBlock", "TransformerEncoderDecoder",
]

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
    memory_mask (batch, source_time), target_mask (batch, target_time)) -> (batch,
    target_time, d_model): the teacher-forced pass, with a causal mask.

    step(x (batch, 1, d_model), memory, memory_mask, keys, values) -> (output (batch, 1,
    d_model), keys, values): one new token against the KV cache. ``keys`` and ``values``
    (batch, past_time, heads, head_dim) are the self-attention's projections of the earlier
    positions; they come back one position longer. The new token is projected once and attends
    to every earlier position without recomputing it (the causal mask is implicit).
    """

    def __init__(self, d_model: int, heads: int, ff_units: int, dropout: float = 0.0, **kwargs):
        super().__init__(d_model, heads, ff_units, dropout, **kwargs)
        self.self_attention = self._attention("self_attention")
        self.cross_attention = self._attention("cross_attention")
        self.norm_self = keras.layers.LayerNormalization(name="norm_self")
        self.norm_cross = keras.layers.LayerNormalization(name="norm_cross")
        self.norm_feed_forward = keras.layers.LayerNormalization(name="norm_feed_forward")

    def call(self, x, memory, memory_mask=None, target_mask=None, training=None):
        h = self.norm_self(x)
        mask = attention_mask(target_mask, target_mask, causal=True,
                              query_length=ops.shape(x)[1], key_length=ops.shape(x)[1])
        x = self._add(x, self.self_attention(h, h, attention_mask=mask, training=training),
                      training)
        return self._cross_and_feed_forward(x, memory, memory_mask, training)

    def step(self, x, memory, memory_mask, keys, values):
        """One token (batch, 1, d_model) against the KV cache (inference: no dropout)."""
        attended, keys, values = self._cached_self_attention(self.norm_self(x), keys, values)
        return self._cross_and_feed_forward(x + attended, memory, memory_mask, None), keys, values

    def _cached_self_attention(self, h, past_keys, past_values):
        """``MultiHeadAttention`` of ``h`` (batch, 1, d_model) over the cache and itself, with
        the layer's own projections: scaled dot-product per head, softmax over positions."""
        attention = self.self_attention
        if not attention.built:
            attention.build(h.shape, h.shape)
        query = attention.query_dense(h)  # (batch, 1, heads, head_dim)
        keys = ops.concatenate([past_keys, attention.key_dense(h)], axis=1)
        values = ops.concatenate([past_values, attention.value_dense(h)], axis=1)
        head_dim = self.d_model // self.heads
        scores = ops.einsum("bqhd,bkhd->bhqk", query, keys) / math.sqrt(head_dim)
        context = ops.einsum("bhqk,bkhd->bqhd", ops.softmax(scores, axis=-1), values)
        return attention.output_dense(context), keys, values

    def _cross_and_feed_forward(self, x, memory, memory_mask, training):
        h = self.norm_cross(x)
        cross_mask = None if memory_mask is None else attention_mask(
            ops.ones(ops.shape(x)[:2], "bool"), memory_mask)
        x = self._add(x, self.cross_attention(h, memory, attention_mask=cross_mask,
                                              training=training), training)
        return self._add(x, self.feed_forward(self.norm_feed_forward(x)), training)


@keras.saving.register_keras_serializable(package="course_lib")
class TransformerEncoderDecoder(StepwiseDecoding, keras.Model):
    """Encoder–decoder transformer (Vaswani et al., 2017) with pre-layer normalisation.

    Args:
        d_model: width of every token vector; heads must divide it.
        ff_units: hidden width of each block's feed-forward network.
        positions: ``"sinusoidal"``, ``"learned"`` (at most ``max_length`` positions) or None.

    Call it on ``(source_ids (batch, source_time), target_in (batch, target_time))`` int32 to
    get logits (batch, target_time, target_vocab_size).
    """

    def __init__(self, source_vocab_size: int, target_vocab_size: int, d_model: int = 64,
                 heads: int = 4, ff_units: int = 128, encoder_layers: int = 2,
                 decoder_layers: int = 2, dropout: float = 0.1,
                 positions: str | None = "sinusoidal", max_length: int = 512, **kwargs):
        super().__init__(**kwargs)
        self.settings = dict(source_vocab_size=source_vocab_size,
                             target_vocab_size=target_vocab_size, d_model=d_model, heads=heads,
                             ff_units=ff_units, encoder_layers=encoder_layers,
                             decoder_layers=decoder_layers, dropout=dropout,
                             positions=positions, max_length=max_length)
        block = dict(d_model=d_model, heads=heads, ff_units=ff_units, dropout=dropout)
        self.source_embedding = keras.layers.Embedding(source_vocab_size, d_model,
                                                       name="source_embedding")
        self.target_embedding = keras.layers.Embedding(target_vocab_size, d_model,
                                                       name="target_embedding")
        self.source_positions = positional_layer(positions, max_length)
        self.target_positions = positional_layer(positions, max_length)
        self.embedding_dropout = keras.layers.Dropout(dropout)
        self.encoder_blocks = [TransformerEncoderBlock(**block, name=f"encoder_{i}")
                               for i in range(encoder_layers)]
        self.decoder_blocks = [TransformerDecoderBlock(**block, name=f"decoder_{i}")
                               for i in range(decoder_layers)]
        self.encoder_norm = keras.layers.LayerNormalization(name="encoder_norm")
        self.decoder_norm = keras.layers.LayerNormalization(name="decoder_norm")
        self.logits = keras.layers.Dense(target_vocab_size, name="logits")

    def _embed(self, ids, embedding, positions, start=0, training=None):
        x = embedding(ids) * math.sqrt(self.settings["d_model"])
        if positions is not None:
            x = positions(x, start=start)
        return self.embedding_dropout(x, training=training)

    def encode(self, source_ids, training=None):
        """memory (batch, source_time, d_model) and the source mask (batch, source_time) bool."""
        mask = ops.not_equal(source_ids, 0)
        x = self._embed(source_ids, self.source_embedding, self.source_positions,
                        training=training)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=mask, training=training)
        return self.encoder_norm(x), mask

    def decode(self, target_in, memory, source_mask, training=None):
        """Logits (batch, target_time, target_vocab) for a whole (teacher-forced) target."""
        target_mask = ops.not_equal(target_in, 0)
        x = self._embed(target_in, self.target_embedding, self.target_positions,
                        training=training)
        for block in self.decoder_blocks:
            x = block(x, memory, source_mask, target_mask, training=training)
        return self.logits(self.decoder_norm(x))

    def call(self, inputs, training=None):
        source_ids, target_in = inputs
        memory, mask = self.encode(source_ids, training)
        return self.decode(target_in, memory, mask, training)

    # ------------------------------------------------------------------ step-wise inference
    def start_state(self, source_ids) -> list[np.ndarray]:
        """[memory (batch, source_time, d_model), source mask (batch, source_time), then per
        decoder block an empty KV cache: keys and values (batch, 0, heads, head_dim)]."""
        memory, mask = self.encode(ops.convert_to_tensor(source_ids, "int32"))
        memory = ops.convert_to_numpy(memory)
        heads = self.settings["heads"]
        empty = np.zeros((len(memory), 0, heads, self.settings["d_model"] // heads), np.float32)
        return [memory, ops.convert_to_numpy(mask),
                *([empty] * (2 * len(self.decoder_blocks)))]

    def _step(self, tokens, memory, mask, *caches):
        """One token through the decoder blocks, each attending to its KV cache plus the token;
        the caches come back one position longer (see :class:`StepwiseDecoding`)."""
        position = ops.shape(caches[0])[1]  # tokens generated so far
        x = self._embed(tokens, self.target_embedding, self.target_positions, start=position)
        new_caches = []
        for i, block in enumerate(self.decoder_blocks):
            x, keys, values = block.step(x, memory, mask, caches[2 * i], caches[2 * i + 1])
            new_caches += [keys, values]
        logits = self.logits(self.decoder_norm(x))
        return [ops.log_softmax(logits[:, 0], axis=-1), *new_caches]

    def get_config(self):
        return {**super().get_config(), **self.settings}
