import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import scratch

SHAPES = [(1, 1, 1, 1), (2, 5, 3, 4), (3, 1, 2, 3), (4, 6, 3, 2)]  # batch, time, features, units


def _weights(features, units, reset_after, rng, dtype):
    bias_shape = (2, 3 * units) if reset_after else (3 * units,)
    return [rng.normal(scale=0.5, size=shape).astype(dtype)
            for shape in [(features, 3 * units), (units, 3 * units), bias_shape]]


def _problem(batch, time, features, units, reset_after, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, time, features)).astype(dtype)
    h0 = rng.normal(size=(batch, units)).astype(dtype)
    upstream = rng.normal(size=(batch, time, units)).astype(dtype)
    return x, h0, _weights(features, units, reset_after, rng, dtype), upstream


def _keras_gru(units, features, reset_after, weights):
    layer = keras.layers.GRU(units, return_sequences=True, reset_after=reset_after)
    layer.build((None, None, features))
    layer.set_weights(weights)
    return layer


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_gru_forward_matches_keras(shape, reset_after):
    x, h0, weights, _ = _problem(*shape, reset_after, dtype="float32")
    layer = _keras_gru(shape[3], shape[2], reset_after, weights)
    expected = keras.ops.convert_to_numpy(layer(x, initial_state=h0))
    np.testing.assert_allclose(scratch.gru_forward(x, h0, *weights), expected, atol=1e-5)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_gru_backward_matches_central_differences(shape, reset_after):
    x, h0, (kernel, recurrent, bias), upstream = _problem(*shape, reset_after)

    def loss() -> float:
        return float(np.sum(upstream * scratch.gru_forward(x, h0, kernel, recurrent, bias)))

    states = scratch.gru_forward(x, h0, kernel, recurrent, bias)
    grads = scratch.gru_backward(upstream, x, h0, states, kernel, recurrent, bias)
    for name, array in [("kernel", kernel), ("recurrent_kernel", recurrent), ("bias", bias),
                        ("x", x), ("h0", h0)]:
        numeric = scratch.numerical_gradient(loss, array)
        assert scratch.relative_error(getattr(grads, name), numeric) < 1e-6, name


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("shape", SHAPES[1:])
def test_gru_backward_matches_gradient_tape_on_keras_gru(shape, reset_after):
    x, h0, weights, upstream = _problem(*shape, reset_after, dtype="float32", seed=3)
    layer = _keras_gru(shape[3], shape[2], reset_after, weights)
    x_tf, h0_tf = tf.Variable(x), tf.Variable(h0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(upstream * layer(x_tf, initial_state=h0_tf))
    expected = tape.gradient(loss, [*layer.trainable_weights, x_tf, h0_tf])
    states = scratch.gru_forward(x, h0, *weights)
    grads = scratch.gru_backward(upstream, x, h0, states, *weights)
    got = [grads.kernel, grads.recurrent_kernel, grads.bias, grads.x, grads.h0]
    for ours, theirs in zip(got, expected, strict=True):
        assert scratch.relative_error(ours, theirs.numpy()) < 1e-5


def test_gru_rejects_a_bias_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"bias of shape \(2, 6\).*or \(6,\)"):
        scratch.gru_forward(np.zeros((1, 2, 3)), None, np.zeros((3, 6)), np.zeros((2, 6)),
                            np.zeros(5))
