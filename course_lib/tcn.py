"""A temporal convolutional network (TCN): causal, dilated ``Conv1D`` blocks with residuals.

    [source (padding moved to the front) ; target_in] ids ─ embeddings (zeros for padding)
        ─ RF-1 zeros prepended
        ─ block(dilation 1) ─ block(2) ─ … ─ block(2^(n-1)) ─ last target_time positions
        ─ Dense ─► logits (batch, target_time, target_vocab)

Each block is two causal convolutions (kernel ``k``, dilation ``d``, ReLU) and a residual
connection, so position ``t`` sees only positions ``≤ t``. The **receptive field** — how many
input positions one output can see — is ``1 + 2 (k - 1) Σ d`` (:func:`receptive_field`); a
TCN cannot use anything further back, however long it trains, so it must cover the longest
source plus target.

As a sequence-to-sequence model it is *decoder-only*: source and target are one sequence,
and the loss is taken on the target positions. Because the receptive field is finite,
step-wise decoding needs a bounded state: each convolution keeps a queue of its last
``(k - 1) d`` inputs (the fast-WaveNet cache, Paine et al. 2016), so a new token costs one
output per convolution, ``O(layers · k · channels²)``, whatever the context, and the state
never grows — like an RNN's, unlike a transformer's KV cache. Prepending ``RF - 1`` zero
vectors in training makes the teacher-forced pass see exactly what the steps see (tested).
Ids 0 are padding.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from course_lib.decoding import StepwiseDecoding

__all__ = [
    "receptive_field", "CausalConvBlock", "TCNSeq2Seq",
]


def receptive_field(kernel_size: int, dilations, convs_per_block: int = 2) -> int:
    """Input positions one output of a stack of causal dilated convolutions depends on."""
    return 1 + convs_per_block * (kernel_size - 1) * int(sum(dilations))


@keras.saving.register_keras_serializable(package="course_lib")
class CausalConvBlock(keras.layers.Layer):
    """x (batch, time, channels) -> same shape: two causal dilated convolutions + residual."""

    def __init__(self, channels: int, kernel_size: int = 3, dilation: int = 1,
                 dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.settings = dict(channels=channels, kernel_size=kernel_size, dilation=dilation,
                             dropout=dropout)
        self.convs = [keras.layers.Conv1D(channels, kernel_size, padding="causal",
                                          dilation_rate=dilation, activation="relu")
                      for _ in range(2)]
        self.dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.convs:
            conv.build(shape)
            shape = (*shape[:-1], self.settings["channels"])
        super().build(input_shape)

    @property
    def queue_length(self) -> int:
        """Earlier inputs one causal convolution reads: (kernel_size - 1) * dilation."""
        return (self.settings["kernel_size"] - 1) * self.settings["dilation"]

    def call(self, x, training=None):
        return self.forward(x, training)[0]

    def forward(self, x, training=None):
        """(output, [input of each convolution]), all (batch, time, channels)."""
        conv_inputs, y = [], x
        for conv in self.convs:
            conv_inputs.append(y)
            y = self.dropout(conv(y), training=training)
        return x + y, conv_inputs

    def step(self, x, queues):
        """One position (inference): x (batch, 1, channels) and, per convolution, a queue of
        its last ``queue_length`` inputs (batch, queue_length, channels) -> (output (batch, 1,
        channels), the queues one position on). Each convolution computes one output from
        ``kernel_size`` taps ``dilation`` apart, the newest being its current input."""
        dilation, new_queues, y = self.settings["dilation"], [], x
        for conv, queue in zip(self.convs, queues, strict=True):
            seen = ops.concatenate([queue, y], axis=1)  # (batch, queue_length + 1, channels)
            taps = seen[:, ::dilation]                   # t - (k-1)d, ..., t - d, t
            y = conv.activation(ops.einsum("btc,tco->bo", taps, conv.kernel) + conv.bias)
            y = y[:, None]
            new_queues.append(seen[:, 1:])
        return x + y, new_queues

    def get_config(self):
        return {**super().get_config(), **self.settings}


@keras.saving.register_keras_serializable(package="course_lib")
class TCNSeq2Seq(StepwiseDecoding, keras.Model):
    """A decoder-only TCN for sequence-to-sequence tasks, with the decoding protocol of
    :class:`course_lib.seq2seq.EncoderDecoder` (``start_state``/``step``), so greedy and beam
    search work unchanged.

    Call it on ``(source_ids (batch, source_time), target_in (batch, target_time))`` int32 to
    get logits (batch, target_time, target_vocab_size).
    """

    def __init__(self, source_vocab_size: int, target_vocab_size: int, channels: int = 64,
                 kernel_size: int = 3, dilations=(1, 2, 4, 8), dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.settings = dict(source_vocab_size=source_vocab_size,
                             target_vocab_size=target_vocab_size, channels=channels,
                             kernel_size=kernel_size, dilations=list(dilations), dropout=dropout)
        self.receptive_field = receptive_field(kernel_size, dilations)
        self.source_embedding = keras.layers.Embedding(source_vocab_size, channels)
        self.target_embedding = keras.layers.Embedding(target_vocab_size, channels)
        self.blocks = [CausalConvBlock(channels, kernel_size, d, dropout, name=f"block_d{d}")
                       for d in dilations]
        self.logits = keras.layers.Dense(target_vocab_size)

    @staticmethod
    def _padding_first(ids):
        """ids (batch, time) with each row's padding moved to the front, tokens kept in order:
        the source then ends right before the target, at the same distance in every row."""
        positions = ops.arange(ops.shape(ids)[1])[None, :]
        key = positions + ops.cast(ops.not_equal(ids, 0), positions.dtype) * ops.shape(ids)[1]
        return ops.take_along_axis(ids, ops.argsort(key, axis=1), axis=1)

    @staticmethod
    def _embed(ids, table):
        """ids (batch, time) -> (batch, time, channels), zero vectors at padding."""
        return table(ids) * ops.expand_dims(ops.cast(ops.not_equal(ids, 0), "float32"), -1)

    def _run(self, x, training=None):
        for block in self.blocks:
            x = block(x, training=training)
        return x

    def _pad_and_embed_source(self, source_ids):
        """(batch, RF - 1 + source_time, channels): what the training pass sees before the
        target — RF - 1 zero vectors, then the source with its padding moved to the front."""
        x = self._embed(self._padding_first(source_ids), self.source_embedding)
        return ops.pad(x, [[0, 0], [self.receptive_field - 1, 0], [0, 0]])

    def call(self, inputs, training=None):
        source_ids, target_in = inputs
        x = ops.concatenate([self._pad_and_embed_source(source_ids),
                             self._embed(target_in, self.target_embedding)], axis=1)
        hidden = self._run(x, training)
        return self.logits(hidden[:, -ops.shape(target_in)[1]:])

    # ------------------------------------------------------------------ step-wise inference
    def start_state(self, source_ids) -> list[np.ndarray]:
        """[source ids, source mask (batch, source_time), then per block and convolution its
        queue (batch, queue_length, channels)]: the last inputs of every convolution after
        the source, computed by one pass over the source."""
        source_ids = np.asarray(source_ids, np.int32)
        x = self._pad_and_embed_source(ops.convert_to_tensor(source_ids))
        queues = []
        for block in self.blocks:
            if not block.built:  # forward() bypasses __call__, which would build it
                block.build(tuple(x.shape))
            x, conv_inputs = block.forward(x)
            queues += [ops.convert_to_numpy(inputs[:, -block.queue_length:])
                       for inputs in conv_inputs]
        return [source_ids, source_ids != 0, *queues]

    def _step(self, tokens, source_ids, mask, *queues):
        """One token through every block, one output per convolution; each queue moves on by
        one position (see :class:`StepwiseDecoding`)."""
        x, new_queues = self._embed(tokens, self.target_embedding), []
        for i, block in enumerate(self.blocks):
            x, block_queues = block.step(x, queues[2 * i:2 * i + 2])
            new_queues += block_queues
        return [ops.log_softmax(self.logits(x[:, 0]), axis=-1), *new_queues]

    def get_config(self):
        return {**super().get_config(), **self.settings}
