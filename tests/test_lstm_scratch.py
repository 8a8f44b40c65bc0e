import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import scratch

SHAPES = [(1, 1, 1, 1), (2, 5, 3, 4), (3, 1, 2, 3), (4, 6, 3, 2)]  # batch, time, features, units


def _problem(batch, time, features, units, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, time, features)).astype(dtype)
    h0, c0 = (rng.normal(size=(batch, units)).astype(dtype) for _ in range(2))
    weights = [rng.normal(scale=0.5, size=shape).astype(dtype)
               for shape in [(features, 4 * units), (units, 4 * units), (4 * units,)]]
    upstream = rng.normal(size=(batch, time, units)).astype(dtype)
    return x, h0, c0, weights, upstream


@pytest.mark.parametrize("shape", SHAPES)
def test_lstm_forward_matches_keras(shape):
    x, h0, c0, weights, _ = _problem(*shape, dtype="float32")
    layer = keras.layers.LSTM(shape[3], return_sequences=True, return_state=True)
    layer.build((None, None, shape[2]))
    layer.set_weights(weights)
    sequence, h_last, c_last = (keras.ops.convert_to_numpy(t)
                                for t in layer(x, initial_state=[h0, c0]))
    hidden, cells = scratch.lstm_forward(x, h0, c0, *weights)
    np.testing.assert_allclose(hidden, sequence, atol=1e-5)
    np.testing.assert_allclose(cells[:, -1], c_last, atol=1e-5)
    np.testing.assert_allclose(hidden[:, -1], h_last, atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_lstm_backward_matches_central_differences(shape):
    x, h0, c0, (kernel, recurrent, bias), upstream = _problem(*shape)
    cell_upstream = np.random.default_rng(9).normal(size=upstream.shape)

    def loss() -> float:
        hidden, cells = scratch.lstm_forward(x, h0, c0, kernel, recurrent, bias)
        return float(np.sum(upstream * hidden) + np.sum(cell_upstream * cells))

    hidden, cells = scratch.lstm_forward(x, h0, c0, kernel, recurrent, bias)
    grads = scratch.lstm_backward(upstream, x, h0, c0, hidden, cells, kernel, recurrent, bias,
                                  d_cells=cell_upstream)
    for name, array in [("kernel", kernel), ("recurrent_kernel", recurrent), ("bias", bias),
                        ("x", x), ("h0", h0), ("c0", c0)]:
        numeric = scratch.numerical_gradient(loss, array)
        assert scratch.relative_error(getattr(grads, name), numeric) < 1e-6, name


@pytest.mark.parametrize("shape", SHAPES)
def test_lstm_backward_matches_gradient_tape_on_keras_lstm(shape):
    x, h0, c0, weights, upstream = _problem(*shape, dtype="float32", seed=2)
    layer = keras.layers.LSTM(shape[3], return_sequences=True)
    layer.build((None, None, shape[2]))
    layer.set_weights(weights)
    x_tf, h0_tf, c0_tf = tf.Variable(x), tf.Variable(h0), tf.Variable(c0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(upstream * layer(x_tf, initial_state=[h0_tf, c0_tf]))
    expected = tape.gradient(loss, [*layer.trainable_weights, x_tf, h0_tf, c0_tf])
    hidden, cells = scratch.lstm_forward(x, h0, c0, *weights)
    grads = scratch.lstm_backward(upstream, x, h0, c0, hidden, cells, *weights)
    got = [grads.kernel, grads.recurrent_kernel, grads.bias, grads.x, grads.h0, grads.c0]
    for ours, theirs in zip(got, expected, strict=True):
        assert scratch.relative_error(ours, theirs.numpy()) < 1e-5


def test_lstm_forward_names_the_gate_layout_on_bad_weights():
    with pytest.raises(ValueError, match=r"gates i, f, c, o side by side"):
        scratch.lstm_forward(np.zeros((1, 2, 3)), None, None, np.zeros((3, 8)),
                             np.zeros((2, 4)), np.zeros(8))


def test_lstm_input_gradient_decays_by_the_forget_gate_per_step():
    """With no recurrent weights and constant gates, the gradient reaching x_t travels only
    along the cell state, multiplied by the forget gate at every step: f = sigmoid(b_f)."""
    units, features, time = 3, 2, 12
    rng = np.random.default_rng(0)
    kernel = np.zeros((features, 4 * units))
    kernel[:, 2 * units:3 * units] = rng.normal(size=(features, units))  # x feeds the candidate
    bias = np.zeros(4 * units)
    bias[units:2 * units] = 2.0  # forget gate f = sigmoid(2) ≈ 0.881
    norms = scratch.last_step_gradient_norms(np.zeros((1, time, features)), kernel,
                                             np.zeros((units, 4 * units)), bias, cell="lstm",
                                             wrt="input")
    np.testing.assert_allclose(norms[:-1] / norms[1:], 1 / (1 + np.exp(-2.0)), rtol=1e-6)


def test_last_step_gradient_norms_rejects_unknown_cell_and_target():
    args = (np.zeros((1, 2, 1)), np.zeros((1, 1)), np.zeros((1, 1)), np.zeros(1))
    with pytest.raises(ValueError, match="choose simple_rnn or lstm"):
        scratch.last_step_gradient_norms(*args, cell="gru")
    with pytest.raises(ValueError, match="choose state or input"):
        scratch.last_step_gradient_norms(*args, wrt="weights")
