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
step; this decoder carries, per block, the (normalised) inputs of its self-attention at every
position so far — a cache that grows by one position per generated token, so that a new
token's cost and the state's memory grow with the output length. Ids 0 are padding.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from course_lib.layers import TransformerDecoderBlock, TransformerEncoderBlock, positional_layer
from course_lib.seq2seq import StepwiseDecoding


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
            x, _ = block(x, memory, source_mask, target_mask, training=training)
        return self.logits(self.decoder_norm(x))

    def call(self, inputs, training=None):
        source_ids, target_in = inputs
        memory, mask = self.encode(source_ids, training)
        return self.decode(target_in, memory, mask, training)

    # ------------------------------------------------------------------ step-wise inference
    def start_state(self, source_ids) -> list[np.ndarray]:
        """[memory (batch, source_time, d_model), source mask (batch, source_time), one empty
        cache (batch, 0, d_model) per decoder block]."""
        memory, mask = self.encode(ops.convert_to_tensor(source_ids, "int32"))
        memory = ops.convert_to_numpy(memory)
        empty = np.zeros((len(memory), 0, self.settings["d_model"]), np.float32)
        return [memory, ops.convert_to_numpy(mask), *([empty] * len(self.decoder_blocks))]

    def _step(self, tokens, memory, mask, *caches):
        """One token through the decoder blocks, each attending to its cache plus the token;
        the caches come back one position longer (see :class:`StepwiseDecoding`)."""
        position = ops.shape(caches[0])[1]  # tokens generated so far
        x = self._embed(tokens, self.target_embedding, self.target_positions, start=position)
        new_caches = []
        for block, past in zip(self.decoder_blocks, caches, strict=True):
            x, keys = block(x, memory, mask, past=past)
            new_caches.append(keys)
        logits = self.logits(self.decoder_norm(x))
        return [ops.log_softmax(logits[:, 0], axis=-1), *new_caches]

    def get_config(self):
        return {**super().get_config(), **self.settings}
