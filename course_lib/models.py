"""Model builders shared by the notebooks. Each returns a plain ``keras.Model``: inspect it with
``summary()``, train it with ``fit``. Recurrent layers keep Keras' cuDNN-eligible defaults."""

from __future__ import annotations

RECURRENT_LAYERS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def recurrent_layer(cell: str, units: int, **kwargs):
    """``keras.layers.SimpleRNN``/``LSTM``/``GRU`` by short name (``"simple_rnn"|"lstm"|"gru"``)."""
    import keras

    if cell not in RECURRENT_LAYERS:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(RECURRENT_LAYERS)}")
    return getattr(keras.layers, RECURRENT_LAYERS[cell])(units, **kwargs)


def char_lm(vocab_size: int, units: int = 256, embedding_dim: int = 32, cell: str = "simple_rnn"):
    """A next-character language model: ids (batch, time) -> logits (batch, time, vocab).

    Layers are named ``embedding``, ``rnn`` and ``logits`` so that the sampler in
    :mod:`course_lib.decoding` can run them one step at a time.
    """
    import keras

    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(ids)
    x = recurrent_layer(cell, units, return_sequences=True, name="rnn")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(ids, logits, name=f"char_lm_{cell}")
