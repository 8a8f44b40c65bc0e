import keras
import numpy as np
import pytest

from course_lib import scratch
from course_lib.minimal_rnn import DiagonalRNN, MinGRU, MinLSTM, SelectiveRNN

LAYERS = [MinGRU, MinLSTM, DiagonalRNN, SelectiveRNN]

X = np.random.default_rng(0).normal(size=(3, 11, 4)).astype("float32")


def _layer(cls, **kwargs):
    keras.utils.set_random_seed(0)
    layer = cls(5, **kwargs)
    layer(X)
    return layer


@pytest.mark.parametrize("cls", LAYERS)
def test_parallel_sequential_numpy_and_step_by_step_agree(cls):
    layer = _layer(cls)
    parallel = keras.ops.convert_to_numpy(layer(X))
    layer.parallel = False
    sequential = keras.ops.convert_to_numpy(layer(X))
    a, b = (keras.ops.convert_to_numpy(v) for v in layer.coefficients(X))
    np.testing.assert_allclose(parallel, sequential, atol=1e-5)
    np.testing.assert_allclose(parallel, scratch.linear_recurrence(a, b), atol=1e-5)
    state = layer.get_initial_state(len(X))
    for t in range(X.shape[1]):
        output, state = layer.step(X[:, t], state)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(output), parallel[:, t], atol=1e-5)


def test_min_gru_is_the_gru_update_with_input_only_gates():
    layer = _layer(MinGRU)
    kernel, bias = layer.projection.get_weights()
    z = 1 / (1 + np.exp(-(X @ kernel[:, :5] + bias[:5])))
    candidate = X @ kernel[:, 5:] + bias[5:]
    h, expected = np.zeros((3, 5)), []
    for t in range(X.shape[1]):
        h = (1 - z[:, t]) * h + z[:, t] * candidate[:, t]
        expected.append(h)
    np.testing.assert_allclose(layer(X), np.stack(expected, 1), atol=1e-5)


def test_min_lstm_gates_are_normalised_so_the_state_stays_a_weighted_average():
    a, b = (keras.ops.convert_to_numpy(v) for v in _layer(MinLSTM).coefficients(X))
    assert np.all((a > 0) & (a < 1))


@pytest.mark.parametrize("cls", LAYERS)
def test_masked_steps_keep_the_state_and_the_last_state_ignores_padding(cls):
    layer = _layer(cls, return_sequences=False)
    padded = np.concatenate([X[:, :6], np.zeros((3, 5, 4), "float32")], axis=1)
    mask = np.arange(11)[None] < 6
    np.testing.assert_allclose(layer(padded, mask=np.repeat(mask, 3, 0)), layer(X[:, :6]),
                               atol=1e-5)


@pytest.mark.parametrize("cls", LAYERS)
def test_layers_round_trip_through_a_saved_model(cls, tmp_path):
    model = keras.Sequential([keras.Input((None, 4)), _layer(cls), keras.layers.Dense(2)])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(X), model(X), atol=1e-6)


@pytest.mark.parametrize("cls", LAYERS)
def test_layers_train_with_fit_and_the_loss_falls(cls):
    keras.utils.set_random_seed(0)
    target = np.cumsum(X[..., :1], axis=1) / 4  # a running sum: needs the recurrence
    model = keras.Sequential([keras.Input((11, 4)), cls(16), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    history = model.fit(X, target, epochs=30, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_diagonal_decay_stays_inside_the_unit_interval_for_any_log_rate():
    layer = _layer(DiagonalRNN)
    start = keras.ops.convert_to_numpy(layer.decay())
    np.testing.assert_allclose(start, np.linspace(0.9, 0.999, 5), rtol=1e-5)
    layer.log_rate.assign(np.array([-30.0, -3.0, 0.0, 3.0, 30.0], "float32"))
    decay = keras.ops.convert_to_numpy(layer.decay())
    assert np.all((decay >= 0) & (decay <= 1)) and decay[0] > decay[-1]
    a, b = (keras.ops.convert_to_numpy(v) for v in layer.coefficients(X))
    np.testing.assert_allclose(a, np.broadcast_to(decay, a.shape))  # the same λ every step
    with pytest.raises(ValueError, match="min_decay <= max_decay"):
        DiagonalRNN(4, min_decay=0.99, max_decay=0.9)


def test_selective_decay_depends_on_the_input_and_starts_with_long_memories():
    layer = _layer(SelectiveRNN)
    step = keras.ops.convert_to_numpy(layer.step_sizes(X))
    assert np.all(step > 0) and 0.002 < np.median(step) < 0.05
    a, _ = (keras.ops.convert_to_numpy(v) for v in layer.coefficients(X))
    assert np.std(a[:, :, 0]) > 0  # a differs between tokens: the gate is selective
    assert np.all((a > 0) & (a < 1))


def test_min_gru_update_bias_sets_the_gate_start_and_survives_saving():
    layer = _layer(MinGRU, update_bias=-3.0)
    _, bias = layer.projection.get_weights()
    np.testing.assert_allclose(bias[:5], -3.0)
    np.testing.assert_allclose(bias[5:], 0.0)
    assert MinGRU.from_config(layer.get_config()).update_bias == -3.0
