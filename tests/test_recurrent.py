"""course_lib.recurrent: Keras' recurrent layers with a CPU kernel, equal to Keras' own."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import recurrent

CELLS = ["SimpleRNN", "LSTM", "GRU"]
OPTIONS = {  # name: layer keyword arguments
    "last": {},
    "sequences": {"return_sequences": True},
    "states": {"return_state": True},
    "backwards_all": {"return_sequences": True, "return_state": True, "go_backwards": True},
}


def _pair(cell: str, features: int = 5, units: int = 6, **kwargs):
    """A Keras layer and the course's (CPU kernel on), built with the same weights."""
    keras.utils.set_random_seed(3)
    reference = getattr(keras.layers, cell)(units, **kwargs)
    reference.build((None, None, features))
    ours = getattr(recurrent, cell)(units, cpu_kernel=True, **kwargs)
    ours.build((None, None, features))
    ours.set_weights(reference.get_weights())
    return reference, ours


def _data(cell: str, batch: int = 3, time: int = 7, features: int = 5, units: int = 6):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(batch, time, features)).astype("float32"))
    states = [tf.constant(rng.normal(size=(batch, units)).astype("float32"))
              for _ in range(2 if cell == "LSTM" else 1)]
    return x, states


def _close(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    np.testing.assert_allclose(actual, expected, rtol=1e-5,
                               atol=1e-5 * max(1.0, float(np.abs(expected).max())))


def _outputs_and_gradients(layer, x, states):
    with tf.GradientTape() as tape:
        tape.watch([x, *states])
        outputs = tf.nest.flatten(layer(x, initial_state=states) if states else layer(x))
        # a weighted sum, so that every element of every output gets its own gradient
        loss = sum(tf.reduce_sum(o * tf.sin(tf.reshape(tf.range(tf.size(o), dtype=o.dtype),
                                                       tf.shape(o))))
                   for o in outputs)
    gradients = tape.gradient(loss, [x, *states, *layer.trainable_weights])
    return outputs, gradients


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("initial_state", [False, True], ids=["zero_state", "given_state"])
@pytest.mark.parametrize("cell", CELLS)
def test_outputs_states_and_every_gradient_equal_keras(cell, option, initial_state):
    reference, ours = _pair(cell, **OPTIONS[option])
    assert recurrent.uses_cpu_kernel(ours)
    x, states = _data(cell)
    states = states if initial_state else []
    expected_outputs, expected_gradients = _outputs_and_gradients(reference, x, states)
    outputs, gradients = _outputs_and_gradients(ours, x, states)
    assert len(outputs) == len(expected_outputs)
    for actual, expected in zip(outputs, expected_outputs, strict=True):
        _close(actual, expected)
    for actual, expected in zip(gradients, expected_gradients, strict=True):
        _close(actual, expected)


def test_kernel_is_used_where_it_applies_and_keras_code_elsewhere():
    defaults = {cell: recurrent.uses_cpu_kernel(getattr(recurrent, cell)(4)) for cell in CELLS}
    assert defaults == recurrent.CPU_KERNEL_BY_DEFAULT
    assert not recurrent.uses_cpu_kernel(keras.layers.SimpleRNN(4))  # Keras' own class
    not_applicable = [
        recurrent.SimpleRNN(4, unroll=True), recurrent.SimpleRNN(4, recurrent_dropout=0.1),
        recurrent.SimpleRNN(4, activation="relu"), recurrent.SimpleRNN(4, use_bias=False),
        recurrent.SimpleRNN(4, cpu_kernel=False), recurrent.GRU(4, reset_after=False,
                                                                 cpu_kernel=True),
        recurrent.LSTM(4, use_cudnn=True, cpu_kernel=True),
        recurrent.LSTM(4, recurrent_activation="hard_sigmoid", cpu_kernel=True)]
    assert not [layer for layer in not_applicable if recurrent.uses_cpu_kernel(layer)]
    assert not recurrent.uses_cpu_kernel(recurrent.SimpleRNN(4), mask=tf.ones((2, 3), bool))


def _count_kernel_calls(monkeypatch, cell: str) -> list:
    calls = []
    kernel = getattr(recurrent, cell)._kernel

    def counted(*args):
        calls.append(1)
        return kernel(*args)
    monkeypatch.setattr(getattr(recurrent, cell), "_kernel", staticmethod(counted))
    return calls


def test_on_a_gpu_the_layers_run_keras_code(monkeypatch):
    reference, ours = _pair("LSTM")
    calls = _count_kernel_calls(monkeypatch, "LSTM")
    x, _ = _data("LSTM")
    ours(x)
    assert calls == [1]
    monkeypatch.setattr(recurrent, "_on_gpu", lambda: True)
    assert not recurrent.uses_cpu_kernel(ours)
    _close(ours(x), reference(x))
    assert calls == [1]


def test_a_padding_mask_falls_back_to_keras_and_matches_it():
    reference, ours = _pair("SimpleRNN", return_sequences=True)
    x, _ = _data("SimpleRNN")
    mask = tf.constant(np.arange(7)[None, :] < np.array([[7], [4], [2]]))
    _close(ours(x, mask=mask), reference(x, mask=mask))


@pytest.mark.parametrize("cell", CELLS)
def test_bidirectional_and_dropout(cell):
    reference, ours = _pair(cell, dropout=0.3, return_sequences=True)
    x, _ = _data(cell)
    _close(ours(x, training=False), reference(x, training=False))  # dropout off at inference
    dropped = ours(x, training=True)
    assert dropped.shape == (3, 7, 6) and not np.allclose(dropped, ours(x, training=False))
    both = keras.layers.Bidirectional(getattr(recurrent, cell)(6, cpu_kernel=True))
    both_reference = keras.layers.Bidirectional(getattr(keras.layers, cell)(6))
    both_reference.build(x.shape)
    both.build(x.shape)
    both.set_weights(both_reference.get_weights())
    _close(both(x), both_reference(x))


def test_saves_loads_and_reads_keras_weights(tmp_path):
    def model(layer):
        return keras.Sequential([keras.Input((7, 5)), layer, keras.layers.Dense(1)])

    keras.utils.set_random_seed(0)
    keras_model = model(keras.layers.GRU(6))
    keras_model.save_weights(tmp_path / "keras.weights.h5")
    ours = model(recurrent.GRU(6, cpu_kernel=True))
    ours.load_weights(tmp_path / "keras.weights.h5")  # Keras' layout, names and gate order
    x, _ = _data("GRU")
    _close(ours(x), keras_model(x))
    ours.save(tmp_path / "ours.keras")
    loaded = keras.saving.load_model(tmp_path / "ours.keras")
    assert type(loaded.layers[0]) is recurrent.GRU and loaded.layers[0].cpu_kernel
    _close(loaded(x), keras_model(x))


def test_training_with_xla_follows_keras_step_for_step():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 20, 3)).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")
    weights = []
    for layer in (keras.layers.SimpleRNN, recurrent.SimpleRNN):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((20, 3)), layer(8), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=True)
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
        weights.append(model.get_weights())
    for actual, expected in zip(weights[1], weights[0], strict=True):
        _close(actual, expected)


@pytest.mark.parametrize("cell", ["SimpleRNN", "GRU"])
def test_stateful_layers_carry_their_state_as_keras_does(cell):
    x, _ = _data(cell)
    keras.utils.set_random_seed(3)
    reference = getattr(keras.layers, cell)(6, stateful=True, return_sequences=True)
    reference.build(x.shape)
    ours = getattr(recurrent, cell)(6, stateful=True, return_sequences=True, cpu_kernel=True)
    ours.build(x.shape)
    ours.set_weights(reference.get_weights())
    assert recurrent.uses_cpu_kernel(ours)
    for _ in range(2):  # the second batch starts from the first one's final state
        _close(ours(x), reference(x))
    reference.reset_state()
    ours.reset_state()
    _close(ours(x), reference(x))
