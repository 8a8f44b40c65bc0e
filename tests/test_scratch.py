import keras
import numpy as np
import pytest

from course_lib import scratch


@pytest.mark.parametrize("batch,time,features,units", [(1, 1, 1, 1), (3, 7, 4, 5), (2, 20, 3, 16)])
def test_rnn_forward_matches_keras_simple_rnn(batch, time, features, units):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, time, features)).astype("float32")
    h0 = rng.normal(size=(batch, units)).astype("float32")
    layer = keras.layers.SimpleRNN(units, return_sequences=True)
    expected = keras.ops.convert_to_numpy(layer(x, initial_state=h0))
    got = scratch.rnn_forward(x, h0, *layer.get_weights())
    assert got.shape == (batch, time, units)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_rnn_forward_default_initial_state_is_zeros():
    x = np.random.default_rng(1).normal(size=(2, 4, 3)).astype("float32")
    layer = keras.layers.SimpleRNN(6, return_sequences=True)
    expected = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(scratch.rnn_forward(x, None, *layer.get_weights()), expected,
                               atol=1e-5)


def test_rnn_forward_rejects_2d_input_with_expected_layout():
    kernel, recurrent, bias = np.zeros((3, 2)), np.zeros((2, 2)), np.zeros(2)
    with pytest.raises(ValueError, match=r"\(batch, time, features\), got \(32, 50\)"):
        scratch.rnn_forward(np.zeros((32, 50)), None, kernel, recurrent, bias)


def test_rnn_forward_names_mismatched_features():
    kernel, recurrent, bias = np.zeros((3, 2)), np.zeros((2, 2)), np.zeros(2)
    with pytest.raises(ValueError, match="4 features but kernel expects 3"):
        scratch.rnn_forward(np.zeros((1, 5, 4)), None, kernel, recurrent, bias)
