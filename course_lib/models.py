"""Model builders shared by the notebooks. Each returns a plain ``keras.Model``: inspect it with
``summary()``, train it with ``fit``. Recurrent layers are the course's
(:mod:`course_lib.recurrent`): Keras' classes, defaults and weights, cuDNN on a GPU, and on a
CPU the course's kernel where it measured faster than Keras' loop."""

from __future__ import annotations

import keras

from course_lib import recurrent

__all__ = [
    "RECURRENT_LAYERS", "recurrent_layer", "char_lm", "recurrent_param_count", "forecaster",
    "sequence_classifier", "sequence_tagger", "WordDropout", "PaddingMask", "char_aware_tagger",
    "MIXERS", "sequence_mixer", "residual_lm", "sequence_regressor", "width_for_parameters",
]

RECURRENT_LAYERS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def recurrent_layer(cell: str, units: int, **kwargs):
    """The course's ``SimpleRNN``/``LSTM``/``GRU`` by short name (``"simple_rnn"|"lstm"|"gru"``):
    subclasses of ``keras.layers.*`` with the same arguments and weights, that train with
    :mod:`course_lib.recurrent`'s CPU kernel where :data:`~course_lib.recurrent.
    CPU_KERNEL_BY_DEFAULT` says it is faster (``cpu_kernel=`` overrides)."""

    if cell not in RECURRENT_LAYERS:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(RECURRENT_LAYERS)}")
    return getattr(recurrent, RECURRENT_LAYERS[cell])(units, **kwargs)


def char_lm(vocab_size: int, units: int = 256, embedding_dim: int = 32, cell: str = "simple_rnn",
            stateful_batch_size: int | None = None):
    """A next-character language model: ids (batch, time) -> logits (batch, time, vocab).

    Layers are named ``embedding``, ``rnn`` and ``logits`` so that the sampler in
    :mod:`course_lib.decoding` can run them one step at a time. With ``stateful_batch_size``
    the recurrent layer is stateful (it keeps its final state for the next batch) and the batch
    size is fixed to that number, as Keras requires.
    """

    stateful = stateful_batch_size is not None
    ids = (keras.Input(batch_shape=(stateful_batch_size, None), dtype="int32", name="ids")
           if stateful else keras.Input(shape=(None,), dtype="int32", name="ids"))
    x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(ids)
    x = recurrent_layer(cell, units, return_sequences=True, stateful=stateful, name="rnn")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(ids, logits, name=f"char_lm_{cell}")


def recurrent_param_count(cell: str, features: int, units: int, reset_after: bool = True) -> int:
    """Trainable parameters of a Keras recurrent layer, by formula.

    Each gate (1 for SimpleRNN, 3 for GRU, 4 for LSTM) has a kernel (features x units), a
    recurrent kernel (units x units) and a bias (units); GRU with ``reset_after`` has a second
    bias per gate for the recurrent part.
    """
    gates = {"simple_rnn": 1, "gru": 3, "lstm": 4}
    if cell not in gates:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(gates)}")
    extra_bias = gates[cell] * units if cell == "gru" and reset_after else 0
    return gates[cell] * units * (features + units + 1) + extra_bias


def forecaster(cell: str, window: int, horizon: int, units: int = 32, features: int = 1):
    """Sequence-to-vector forecaster: (batch, window, features) -> (batch, horizon)."""

    inputs = keras.Input(shape=(window, features), name="history")
    state = recurrent_layer(cell, units, name="rnn")(inputs)
    return keras.Model(inputs, keras.layers.Dense(horizon, name="forecast")(state),
                       name=f"forecaster_{cell}")


def _recurrent_stack(x, cell: str, units: int, depth: int, bidirectional: bool, merge_mode: str,
                     dropout: float, residual: bool, last_returns_sequences: bool):
    """``depth`` recurrent layers (optionally bidirectional) with dropout between them and, for
    layers after the first, optional residual connections. Masks flow through."""

    for level in range(depth):
        returns_sequences = last_returns_sequences or level < depth - 1
        layer = recurrent_layer(cell, units, return_sequences=returns_sequences)
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, merge_mode=merge_mode)
        output = layer(x)
        if residual and level > 0 and returns_sequences and output.shape[-1] == x.shape[-1]:
            output = keras.layers.Add()([x, output])
        x = keras.layers.Dropout(dropout)(output) if dropout and level < depth - 1 else output
    return x


def sequence_classifier(vocab_size: int, n_classes: int = 2, embedding_dim: int = 64,
                        units: int = 32, cell: str = "lstm", depth: int = 1,
                        bidirectional: bool = False, merge_mode: str = "concat",
                        dropout: float = 0.0, residual: bool = False,
                        input_dropout: float = 0.0):
    """ids (batch, time), 0 = padding -> class logits (batch, n_classes).

    Padding is masked (``mask_zero``), so padded steps never reach the recurrent layers'
    state; ``dropout`` is applied between stacked layers (``keras.layers.Dropout``: a new mask
    per step and unit, cuDNN-compatible) and ``input_dropout`` the same way to the embedded
    words before the first recurrent layer (single numbers of the word vectors; not the
    "embedding dropout" of Gal & Ghahramani 2016, which drops whole word types: see
    :class:`WordDropout`, which drops words: each occurrence on its own, to the unknown id).
    """

    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(ids)
    if input_dropout:
        x = keras.layers.Dropout(input_dropout, name="input_dropout")(x)
    x = _recurrent_stack(x, cell, units, depth, bidirectional, merge_mode, dropout, residual,
                         last_returns_sequences=False)
    return keras.Model(ids, keras.layers.Dense(n_classes, name="logits")(x),
                       name="sequence_classifier")


def sequence_tagger(vocab_size: int, n_tags: int, embedding_dim: int = 64, units: int = 32,
                    cell: str = "lstm", depth: int = 1, bidirectional: bool = True,
                    merge_mode: str = "concat", dropout: float = 0.0, residual: bool = False):
    """ids (batch, time), 0 = padding -> tag logits (batch, time, n_tags), one per token."""

    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(ids)
    x = _recurrent_stack(x, cell, units, depth, bidirectional, merge_mode, dropout, residual,
                         last_returns_sequences=True)
    return keras.Model(ids, keras.layers.Dense(n_tags, name="logits")(x), name="sequence_tagger")


@keras.saving.register_keras_serializable(package="course_lib")
class WordDropout(keras.layers.Layer):
    """Word dropout: while training, replace each word id by ``unknown_id`` with probability
    ``rate`` (padding, id 0, is kept), so that the unknown word's embedding is trained and the
    model learns to tag from context and spelling when a word is new. ids (batch, time) int32
    -> the same shape. Identity at inference."""

    def __init__(self, rate: float, unknown_id: int = 1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"rate must be in [0, 1), got {rate}")
        self.rate, self.unknown_id, self.seed = rate, unknown_id, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, ids, training=None):
        if not training or self.rate == 0.0:
            return ids
        dropped = keras.random.uniform(keras.ops.shape(ids), seed=self.seed_generator) < self.rate
        return keras.ops.where(dropped & (ids != 0), keras.ops.cast(self.unknown_id, ids.dtype),
                               ids)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return super().get_config() | {"rate": self.rate, "unknown_id": self.unknown_id,
                                       "seed": self.seed}


@keras.saving.register_keras_serializable(package="course_lib")
class PaddingMask(keras.layers.Layer):
    """``[values, ids]`` -> ``values`` (batch, time, features), masked where ``ids`` (batch,
    time) is 0. Needed after ``Concatenate``: Keras 3 combines its inputs' masks with *any*
    (a step is kept if any input keeps it), so an unmasked branch would unmask the padding."""

    def call(self, inputs):
        return inputs[0]

    def compute_mask(self, inputs, mask=None):
        return keras.ops.not_equal(inputs[1], 0)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def char_aware_tagger(word_vocab_size: int, char_vocab_size: int, n_tags: int,
                      word_dim: int = 64, char_dim: int = 24, char_filters: int = 64,
                      char_width: int = 3, max_chars: int = 16, units: int = 64,
                      bidirectional: bool = True, dropout: float = 0.3,
                      word_dropout: float = 0.1):
    """A tagger that reads each word twice: its word id and its spelling.

    Inputs ``{"words": (batch, time), "chars": (batch, time, max_chars)}`` int32, 0 = padding
    (chars from :func:`course_lib.text.encode_token_chars`); returns tag logits (batch, time,
    n_tags). The spelling goes through a character CNN (embedding, a convolution of width
    ``char_width`` over each word's characters, max over them: (batch, time, char_filters));
    it is concatenated with the word embedding (after
    :class:`WordDropout`), then an LSTM (bidirectional or forward) tags every position.
    """
    words = keras.Input(shape=(None,), dtype="int32", name="words")
    chars = keras.Input(shape=(None, max_chars), dtype="int32", name="chars")
    w = WordDropout(word_dropout, name="word_dropout")(words) if word_dropout else words
    w = keras.layers.Embedding(word_vocab_size, word_dim, mask_zero=True, name="embedding")(w)
    c = keras.layers.Embedding(char_vocab_size, char_dim, name="char_embedding")(chars)
    # (batch, time, max_chars, char_dim): a (1, width) kernel convolves along each word's
    # characters only; the max over them leaves (batch, time, char_filters)
    c = keras.layers.Conv2D(char_filters, (1, char_width), padding="same", activation="relu",
                            name="char_cnn")(c)
    c = keras.layers.MaxPooling2D((1, max_chars), name="char_pool")(c)
    c = keras.layers.Reshape((-1, char_filters), name="spelling")(c)
    x = keras.layers.Concatenate(name="word_and_spelling")([w, c])
    x = PaddingMask(name="padding_mask")([x, words])
    x = keras.layers.Dropout(dropout, name="input_dropout")(x)
    x = _recurrent_stack(x, "lstm", units, 1, bidirectional, "concat", 0.0, False,
                         last_returns_sequences=True)
    x = keras.layers.Dropout(dropout, name="output_dropout")(x)
    return keras.Model({"words": words, "chars": chars},
                       keras.layers.Dense(n_tags, name="logits")(x), name="char_aware_tagger")


# ------------------------------------------------------------------------------------------------
# one residual language model, different sequence mixers (notebook 09)
# ------------------------------------------------------------------------------------------------
MIXERS = ("lstm", "gru", "min_gru", "min_lstm", "diagonal", "selective", "attention")


def sequence_mixer(kind: str, width: int, heads: int = 4, **kwargs):
    """The layer that mixes information across time in :func:`residual_lm`: a Keras LSTM/GRU, a
    :mod:`course_lib.minimal_rnn` layer (``kwargs`` go to it, e.g. ``update_bias``), or
    multi-head self-attention (call it with ``use_causal_mask=True`` to see only the past);
    each maps (batch, time, width) -> (batch, time, width)."""
    from course_lib import minimal_rnn

    minimal = {"min_gru": minimal_rnn.MinGRU, "min_lstm": minimal_rnn.MinLSTM,
               "diagonal": minimal_rnn.DiagonalRNN, "selective": minimal_rnn.SelectiveRNN}
    if kind in ("lstm", "gru"):
        return recurrent_layer(kind, width, return_sequences=True, **kwargs)
    if kind in minimal:
        return minimal[kind](width, **kwargs)
    if kind == "attention":
        if width % heads:
            raise ValueError(f"width must be divisible by heads, got {width} and {heads}")
        return keras.layers.MultiHeadAttention(heads, width // heads)
    raise ValueError(f"unknown mixer {kind!r}; choose one of {', '.join(MIXERS)}")


def residual_lm(vocab_size: int, mixer: str, width: int = 64, blocks: int = 1,
                length: int | None = None, heads: int = 4):
    """A next-token language model whose blocks differ only in their sequence mixer: ids
    (batch, time) -> logits (batch, time, vocab).

        x = embedding(ids) [+ sinusoidal positions for attention]
        per block:  x = x + mixer(norm(x));  x = x + MLP(norm(x))   (MLP: width -> 2 width -> width)
        logits = Dense(norm(x))

    The pre-norm residual block of transformers, minGRU and Mamba language models, so that a
    comparison of mixers is not a comparison of everything else. ``length`` fixes the time axis
    (the parallel scans of :mod:`course_lib.minimal_rnn` need a known length when traced).
    """
    from course_lib.transformer import SinusoidalPositionalEncoding

    if mixer not in MIXERS:
        raise ValueError(f"unknown mixer {mixer!r}; choose one of {', '.join(MIXERS)}")
    ids = keras.Input(shape=(length,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size, width, name="embedding")(ids)
    if mixer == "attention":  # attention alone sees a set, not a sequence (notebook 07)
        x = SinusoidalPositionalEncoding(name="positions")(x)
    for block in range(blocks):
        h = keras.layers.LayerNormalization(name=f"norm_mix_{block}")(x)
        layer = sequence_mixer(mixer, width, heads)
        layer.name = f"mix_{block}"
        h = layer(h, h, use_causal_mask=True) if mixer == "attention" else layer(h)
        x = keras.layers.Add(name=f"residual_mix_{block}")([x, h])
        h = keras.layers.LayerNormalization(name=f"norm_mlp_{block}")(x)
        h = keras.layers.Dense(2 * width, activation="gelu", name=f"mlp_in_{block}")(h)
        h = keras.layers.Dense(width, name=f"mlp_out_{block}")(h)
        x = keras.layers.Add(name=f"residual_mlp_{block}")([x, h])
    x = keras.layers.LayerNormalization(name="norm_out")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(ids, logits, name=f"residual_lm_{mixer}")


def sequence_regressor(mixer: str, width: int, length: int, features: int, layers: int = 2,
                       heads: int = 4, **mixer_kwargs):
    """``layers`` stacked sequence mixers read at the last step, then one number: inputs
    (batch, length, features) -> (batch, 1). The recurrent mixers take the raw inputs, so a
    layer that is linear in its input (the diagonal RNN) stays linear in them; attention gets a
    Dense projection to ``width`` first and adds its output to it (a residual), without
    positions (the task of notebook 09 needs none)."""
    inputs = keras.Input(shape=(length, features), name="sequence")
    x = keras.layers.Dense(width, name="project")(inputs) if mixer == "attention" else inputs
    for number in range(layers):
        layer = sequence_mixer(mixer, width, heads, **mixer_kwargs)
        layer.name = f"mix_{number}"
        if mixer == "attention":
            x = keras.layers.Add(name=f"residual_{number}")([x, layer(x, x)])
        else:
            x = layer(x)
    return keras.Model(inputs, keras.layers.Dense(1, name="prediction")(x[:, -1]),
                       name=f"regressor_{mixer}")


def width_for_parameters(build, parameters: int, multiple: int = 8,
                         widths: range | None = None) -> int:
    """The width (a multiple of ``multiple``) at which ``build(width)`` has the parameter count
    closest to ``parameters``: how an equal-parameter comparison picks each contender's size."""
    widths = widths or range(multiple, 1024 + multiple, multiple)
    counts = {}
    for width in widths:
        counts[width] = build(width).count_params()
        if counts[width] >= parameters:
            break
    return min(counts, key=lambda width: abs(counts[width] - parameters))
