"""An encoder–decoder (sequence-to-sequence) model with optional attention and scheduled sampling.

    source ids (batch, source_time) ─ embedding ─ encoder RNN ─► values (batch, source_time, units)
                                                        └─ final state ─┐
    target_in ids (batch, target_time) ─ embedding ─ decoder RNN ◄──────┘  (initial state)
        decoder outputs (batch, target_time, units)
        [attention: context = attend(decoder outputs, values); h = tanh(W [outputs; context])]
        ─ Dense ─► logits (batch, target_time, target_vocab)

Training uses **teacher forcing**: ``target_in`` is the true target shifted right behind a
start token, so all target steps run in one call of the (cuDNN-eligible) decoder layer.
The attention follows Luong et al. (2015): it is computed from the decoder RNN's outputs, after
the recurrent step, so it is computed for all target steps at once, outside the decoder's
recurrence (which runs step by step in any case); the score function is
additive (Bahdanau) or multiplicative (Luong), see :mod:`course_lib.layers`.

**Scheduled sampling** (Bengio et al., 2015) replaces some of the true previous tokens with the
model's own predictions during training. A recurrent decoder would have to run step by step
for that; here it is done in two passes (as in Duckworth et al., 2019, for parallel decoders):
a teacher-forced pass predicts every step, then each non-padding input token after the start
token is replaced by the prediction for it with probability ``sampling_probability`` (a
variable that :class:`ScheduledSampling` (below) raises during training), and the
loss and gradients come from a second pass on the mixed inputs (this happens inside ``call``
with ``training=True``, so Keras' own ``fit`` trains it).

Inference runs the decoder one step at a time (:meth:`EncoderDecoder.start_state`,
:meth:`EncoderDecoder.step`); :mod:`course_lib.decoding` builds greedy and beam search on
those two methods, so any model that has them (the transformer of notebook 07 too) decodes
the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from course_lib.decoding import StepwiseDecoding
from course_lib.layers import attention_layer
from course_lib.models import recurrent_layer

__all__ = [
    "EncoderDecoder", "ScheduledSampling",
]


@keras.saving.register_keras_serializable(package="course_lib")
class EncoderDecoder(StepwiseDecoding, keras.Model):
    """A recurrent encoder–decoder; ``attention`` is None, ``"additive"``, ``"dot"`` or
    ``"general"``. Ids 0 are padding (masked) in both vocabularies. With
    ``scheduled_sampling=True`` every training step makes the extra teacher-forced pass that
    mixes in the model's own predictions (at ``sampling_probability``, 0 until a
    :class:`ScheduledSampling` (below) callback raises it).

    Call it on ``(source_ids (batch, source_time), target_in (batch, target_time))`` int32 to
    get logits (batch, target_time, target_vocab_size).
    """

    def __init__(self, source_vocab_size: int, target_vocab_size: int, units: int = 64,
                 embedding_dim: int = 32, cell: str = "gru", attention: str | None = None,
                 bidirectional: bool = False, scheduled_sampling: bool = False, **kwargs):
        super().__init__(**kwargs)
        if bidirectional and units % 2:
            raise ValueError(f"a bidirectional encoder splits units in two; got odd {units}")
        self.settings = dict(source_vocab_size=source_vocab_size,
                             target_vocab_size=target_vocab_size, units=units,
                             embedding_dim=embedding_dim, cell=cell, attention=attention,
                             bidirectional=bidirectional,
                             scheduled_sampling=scheduled_sampling)
        self.source_embedding = keras.layers.Embedding(source_vocab_size, embedding_dim,
                                                       mask_zero=True, name="source_embedding")
        encoder = recurrent_layer(cell, units // 2 if bidirectional else units,
                                  return_sequences=True, return_state=True, name="encoder")
        self.encoder = keras.layers.Bidirectional(encoder, name="bi_encoder") if bidirectional \
            else encoder
        self.target_embedding = keras.layers.Embedding(target_vocab_size, embedding_dim,
                                                       mask_zero=True, name="target_embedding")
        self.decoder = recurrent_layer(cell, units, return_sequences=True, return_state=True,
                                       name="decoder")
        self.attention = None if attention is None else attention_layer(attention, units)
        self.combine = None if attention is None else keras.layers.Dense(
            units, activation="tanh", name="attentional_hidden")
        self.logits = keras.layers.Dense(target_vocab_size, name="logits")
        self.sampling_probability = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="sampling_probability")
        self.sampling_seed = keras.random.SeedGenerator(0)

    # ------------------------------------------------ one-call (teacher-forced training) pass
    def encode(self, source_ids, training=None):
        """Returns values (batch, source_time, units), the decoder's initial states (a list of
        (batch, units)) and the source mask (batch, source_time) bool."""
        mask = ops.not_equal(source_ids, 0)
        values, *states = self.encoder(self.source_embedding(source_ids), mask=mask,
                                       training=training)
        if self.settings["bidirectional"]:  # [forward states..., backward states...]
            half = len(states) // 2
            states = [ops.concatenate([f, b], axis=-1)
                      for f, b in zip(states[:half], states[half:], strict=True)]
        return values, states, mask

    def decode(self, target_in, values, source_mask, states, training=None):
        """Run the decoder over ``target_in`` (batch, target_time) from ``states``.

        Returns logits (batch, target_time, target_vocab), the final states, and the attention
        weights (batch, target_time, source_time) (None without attention).
        """
        outputs, *states = self.decoder(self.target_embedding(target_in), initial_state=states,
                                        mask=ops.not_equal(target_in, 0), training=training)
        weights = None
        if self.attention is not None:
            context, weights = self.attention(outputs, values, source_mask)
            outputs = self.combine(ops.concatenate([outputs, context], axis=-1))
        return self.logits(outputs), states, weights

    def call(self, inputs, training=None):
        source_ids, target_in = inputs
        values, states, mask = self.encode(source_ids, training)
        if training and self.settings["scheduled_sampling"]:  # mix in own predictions
            target_in = self._mix_in_predictions(target_in, values, mask, states)
        return self.decode(target_in, values, mask, states, training)[0]

    def attention_weights(self, source_ids, target_in) -> np.ndarray:
        """(batch, target_time, source_time) attention weights of a teacher-forced pass."""
        if self.attention is None:
            raise ValueError("this model has no attention (built with attention=None)")
        values, states, mask = self.encode(ops.convert_to_tensor(source_ids))
        return ops.convert_to_numpy(
            self.decode(ops.convert_to_tensor(target_in), values, mask, states)[2])

    def _mix_in_predictions(self, target_in, values, mask, states):
        """``target_in`` with each non-padding token after the first replaced, with probability
        ``sampling_probability``, by the teacher-forced prediction for that position."""
        logits = self.decode(target_in, values, mask, states, training=False)[0]
        predicted = ops.cast(ops.argmax(logits, axis=-1), target_in.dtype)
        # predicted[:, t] is the model's guess for target_in[:, t + 1]
        shifted = ops.concatenate([target_in[:, :1], predicted[:, :-1]], axis=1)
        draw = keras.random.uniform(ops.shape(target_in), seed=self.sampling_seed)
        position = ops.arange(ops.shape(target_in)[1])[None, :]
        replace = (draw < self.sampling_probability) & (position > 0) & (target_in != 0)
        return ops.stop_gradient(ops.where(replace, shifted, target_in))

    # ------------------------------------------------------------------ step-wise inference
    def start_state(self, source_ids) -> list[np.ndarray]:
        """Everything the step function needs, as arrays with a leading batch axis:
        [values (batch, source_time, units), source mask (batch, source_time), *states]."""
        values, states, mask = self.encode(ops.convert_to_tensor(source_ids, "int32"))
        return [ops.convert_to_numpy(t) for t in (values, mask, *states)]

    def _step(self, tokens, values, mask, *states):
        logits, states, _ = self.decode(tokens, values, mask, list(states))
        return [ops.log_softmax(logits[:, 0], axis=-1), *states]

    def get_config(self):
        return {**super().get_config(), **self.settings}


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
