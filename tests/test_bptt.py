import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import scratch

SHAPES = [(1, 1, 1, 1), (1, 5, 2, 3), (3, 1, 4, 2), (4, 7, 3, 5)]  # batch, time, features, units


def _problem(batch, time, features, units, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, time, features)).astype(dtype)
    h0 = rng.normal(size=(batch, units)).astype(dtype)
    weights = [rng.normal(scale=0.5, size=shape).astype(dtype)
               for shape in [(features, units), (units, units), (units,)]]
    upstream = rng.normal(size=(batch, time, units)).astype(dtype)  # L = sum(upstream * states)
    return x, h0, weights, upstream


@pytest.mark.parametrize("activation", ["tanh", "linear"])
@pytest.mark.parametrize("shape", SHAPES)
def test_rnn_backward_matches_central_differences(shape, activation):
    x, h0, (kernel, recurrent, bias), upstream = _problem(*shape)

    def loss() -> float:
        return float(np.sum(upstream * scratch.rnn_forward(x, h0, kernel, recurrent, bias,
                                                           activation)))

    states = scratch.rnn_forward(x, h0, kernel, recurrent, bias, activation)
    grads = scratch.rnn_backward(upstream, x, h0, states, kernel, recurrent, activation)
    for name, array in [("kernel", kernel), ("recurrent_kernel", recurrent), ("bias", bias),
                        ("x", x), ("h0", h0)]:
        numeric = scratch.numerical_gradient(loss, array)
        assert scratch.relative_error(getattr(grads, name), numeric) < 1e-6, name


@pytest.mark.parametrize("shape", SHAPES)
def test_rnn_backward_matches_gradient_tape_on_keras_simple_rnn(shape):
    x, h0, weights, upstream = _problem(*shape, dtype="float32", seed=1)
    layer = keras.layers.SimpleRNN(shape[3], return_sequences=True)
    layer.build((None, None, shape[2]))
    layer.set_weights(weights)
    x_tf, h0_tf = tf.Variable(x), tf.Variable(h0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(upstream * layer(x_tf, initial_state=h0_tf))
    expected = tape.gradient(loss, [*layer.trainable_weights, x_tf, h0_tf])
    states = scratch.rnn_forward(x, h0, *weights)
    grads = scratch.rnn_backward(upstream, x, h0, states, weights[0], weights[1])
    for got, want in zip([grads.kernel, grads.recurrent_kernel, grads.bias, grads.x, grads.h0],
                         expected, strict=True):
        assert scratch.relative_error(got, want.numpy()) < 1e-5


@pytest.mark.parametrize("window", [7, 8, 100])
def test_truncation_at_least_the_sequence_length_is_full_bptt(window):
    x, h0, (kernel, recurrent, bias), upstream = _problem(2, 7, 3, 4)
    states = scratch.rnn_forward(x, h0, kernel, recurrent, bias)
    full = scratch.rnn_backward(upstream, x, h0, states, kernel, recurrent)
    cut = scratch.rnn_backward(upstream, x, h0, states, kernel, recurrent, truncate=window)
    for name in ("kernel", "recurrent_kernel", "bias", "x", "h0", "states"):
        np.testing.assert_allclose(getattr(cut, name), getattr(full, name), rtol=1e-12, atol=1e-12)


def test_window_of_one_keeps_only_the_direct_gradient():
    x, h0, (kernel, recurrent, bias), upstream = _problem(2, 6, 3, 4)
    states = scratch.rnn_forward(x, h0, kernel, recurrent, bias)
    grads = scratch.rnn_backward(upstream, x, h0, states, kernel, recurrent, truncate=1)
    np.testing.assert_array_equal(grads.states, upstream)


def test_truncated_gradient_does_not_reach_further_than_the_window():
    x, h0, (kernel, recurrent, bias), _ = _problem(1, 10, 2, 3)
    upstream = np.zeros((1, 10, 3))
    upstream[:, -1] = 1.0  # loss at the last step only
    states = scratch.rnn_forward(x, h0, kernel, recurrent, bias)
    grads = scratch.rnn_backward(upstream, x, h0, states, kernel, recurrent, truncate=4)
    reached = np.abs(grads.x).sum(axis=(0, 2)) > 0
    assert reached.tolist() == [False] * 6 + [True] * 4
    assert not grads.h0.any()


@pytest.mark.parametrize("chunk", [1, 3, 4, 10])
def test_chunked_truncation_is_full_bptt_on_each_chunk_with_the_state_carried(chunk):
    """What stateful training does: each chunk starts from the previous chunk's last state
    (as a constant) and backpropagates through itself only; the weight gradients add up."""
    x, h0, (kernel, recurrent, bias), upstream = _problem(2, 10, 3, 4)
    states = scratch.rnn_forward(x, h0, kernel, recurrent, bias)
    chunked = scratch.rnn_backward(upstream, x, h0, states, kernel, recurrent, chunk=chunk)
    totals = {"kernel": 0.0, "recurrent_kernel": 0.0, "bias": 0.0}
    for start in range(0, 10, chunk):
        part = slice(start, start + chunk)
        carried = h0 if start == 0 else states[:, start - 1]
        one = scratch.rnn_backward(upstream[:, part], x[:, part], carried, states[:, part],
                                   kernel, recurrent)
        np.testing.assert_allclose(chunked.x[:, part], one.x, rtol=1e-12, atol=1e-12)
        for name in totals:
            totals[name] = totals[name] + getattr(one, name)
    for name, total in totals.items():
        np.testing.assert_allclose(getattr(chunked, name), total, rtol=1e-12, atol=1e-12)


def test_chunked_truncation_gives_the_j_th_step_of_a_chunk_j_steps_of_reach():
    x, h0, (kernel, recurrent, bias), _ = _problem(1, 12, 2, 3)
    states = scratch.rnn_forward(x, h0, kernel, recurrent, bias)
    reach = []
    for t in range(12):
        upstream = np.zeros((1, 12, 3))
        upstream[:, t] = 1.0  # a loss at step t only
        grads = scratch.rnn_backward(upstream, x, h0, states, kernel, recurrent, chunk=4)
        reach.append(int((np.abs(grads.x).sum(axis=(0, 2)) > 0).sum()))
    assert reach == [1, 2, 3, 4] * 3  # BPTT(4) would give min(t + 1, 4)


def test_rnn_backward_validates_its_arguments():
    x, h0, (kernel, recurrent, bias), upstream = _problem(2, 3, 2, 2)
    states = scratch.rnn_forward(x, h0, kernel, recurrent, bias)
    with pytest.raises(ValueError, match="d_states of shape"):
        scratch.rnn_backward(upstream[:, :2], x, h0, states, kernel, recurrent)
    with pytest.raises(ValueError, match="truncate >= 1"):
        scratch.rnn_backward(upstream, x, h0, states, kernel, recurrent, truncate=0)
    with pytest.raises(ValueError, match="chunk >= 1"):
        scratch.rnn_backward(upstream, x, h0, states, kernel, recurrent, chunk=0)
    with pytest.raises(ValueError, match="not both"):
        scratch.rnn_backward(upstream, x, h0, states, kernel, recurrent, truncate=2, chunk=2)
    with pytest.raises(ValueError, match="choose one of tanh, linear"):
        scratch.rnn_forward(x, h0, kernel, recurrent, bias, activation="relu")


def test_relative_error_is_scale_free():
    assert scratch.relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert scratch.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert scratch.relative_error([1e-8], [2e-8]) == pytest.approx(1 / 3)


def test_numerical_gradient_of_a_quadratic():
    a = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(scratch.numerical_gradient(lambda: float(np.sum(a**2)), a), 2 * a,
                               rtol=1e-8)
    assert a.tolist() == [1.0, -2.0, 3.0]  # restored
