import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import scan, scratch


def _problem(batch, time, units, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 1.0, size=(batch, time, units)).astype("float32")
    b = rng.normal(size=(batch, time, units)).astype("float32")
    h0 = rng.normal(size=(batch, units)).astype("float32")
    return a, b, h0


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 7, 3), (3, 64, 5), (1, 1000, 2)])
@pytest.mark.parametrize("with_h0", [False, True])
def test_parallel_and_sequential_scans_equal_the_numpy_loop(shape, with_h0):
    a, b, h0 = _problem(*shape)
    h0 = h0 if with_h0 else None
    expected = scratch.linear_recurrence(a.astype("float64"), b.astype("float64"),
                                         None if h0 is None else h0.astype("float64"))
    for parallel in (True, False):
        got = np.asarray(scan.linear_recurrence(a, b, h0, parallel=parallel))
        assert got.shape == shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_the_combine_operator_is_associative_and_composes_two_steps():
    rng = np.random.default_rng(1)
    x, y, z = ((rng.uniform(size=4), rng.normal(size=4)) for _ in range(3))
    left = scan.combine(scan.combine(x, y), z)
    right = scan.combine(x, scan.combine(y, z))
    np.testing.assert_allclose(left, right, rtol=1e-12)
    h = rng.normal(size=4)
    a, b = scan.combine(x, y)  # one step with (a, b) = two steps, x then y
    np.testing.assert_allclose(a * h + b, y[0] * (x[0] * h + x[1]) + y[1], rtol=1e-12)


def test_gradients_through_both_paths_agree():
    a, b, h0 = (tf.Variable(v) for v in _problem(2, 33, 4, seed=2))
    grads = []
    for parallel in (True, False):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.sin(scan.linear_recurrence(a, b, h0, parallel=parallel)))
        grads.append([g.numpy() for g in tape.gradient(loss, [a, b, h0])])
    for parallel_grad, sequential_grad in zip(*grads, strict=True):
        np.testing.assert_allclose(parallel_grad, sequential_grad, rtol=1e-4, atol=1e-5)


def test_mismatched_shapes_are_refused_with_the_shapes_named():
    a, b, h0 = _problem(2, 5, 3)
    with pytest.raises(ValueError, match=r"same shape \(batch, time, units\), got \(2, 5, 3\) "
                                         r"and \(2, 4, 3\)"):
        scan.linear_recurrence(a, b[:, :4])
    with pytest.raises(ValueError, match=r"h0 of shape \(batch, units\) = \(2, 3\), got \(2, 4\)"):
        scan.linear_recurrence(a, b, np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="same shape"):
        scan.linear_recurrence(a[0], b[0])


@pytest.mark.parametrize("parallel", [True, False])
def test_an_unknown_length_in_a_traced_graph_gets_a_clear_error(parallel):
    @tf.function(input_signature=[tf.TensorSpec((None, None, 3))] * 2)
    def traced(a, b):
        return scan.linear_recurrence(a, b, parallel=parallel)

    a, b, _ = _problem(2, 6, 3)
    with pytest.raises(ValueError, match="needs a known sequence length"):
        traced(a, b)
    fixed = tf.function(lambda a, b: scan.linear_recurrence(a, b, parallel=parallel))
    np.testing.assert_allclose(fixed(a, b), scratch.linear_recurrence(a, b), atol=1e-5)


@pytest.mark.parametrize("time", [1, 2, 11, 64])
def test_the_parallel_scan_compiles_with_xla(time):
    a, b, h0 = _problem(2, time, 3, seed=3)
    compiled = tf.function(lambda a, b, h0: scan.linear_recurrence(a, b, h0), jit_compile=True)
    np.testing.assert_allclose(compiled(a, b, h0), scratch.linear_recurrence(a, b, h0),
                               rtol=1e-5, atol=1e-5)


def test_log_space_recurrence_matches_the_plain_one_and_survives_underflow():
    from course_lib.scan import log_linear_recurrence

    rng = np.random.default_rng(5)
    a = rng.uniform(0.5, 0.99, size=(2, 37, 3)).astype("float32")
    b = rng.uniform(0.1, 2.0, size=(2, 37, 3)).astype("float32")
    h0 = rng.uniform(0.1, 1.0, size=(2, 3)).astype("float32")
    expected = scratch.linear_recurrence(a, b, h0)
    got = np.exp(keras.ops.convert_to_numpy(log_linear_recurrence(np.log(a), np.log(b),
                                                                  np.log(h0))))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # inputs of e^-120 underflow to 0 in float32; their logarithms do not
    tiny = np.log(b) - 120.0
    logs = keras.ops.convert_to_numpy(log_linear_recurrence(np.log(a), tiny))
    assert np.all(np.isfinite(logs))
    np.testing.assert_allclose(logs + 120.0, np.log(scratch.linear_recurrence(a, b)), atol=1e-4)
    assert not np.exp(tiny).any()  # the plain recurrence would only see zeros


def test_log_space_gradients_are_finite_and_match_the_plain_path():
    from course_lib.scan import linear_recurrence, log_linear_recurrence

    rng = np.random.default_rng(6)
    log_a = tf.Variable(np.log(rng.uniform(0.5, 0.99, size=(1, 9, 2))).astype("float32"))
    log_b = tf.Variable(rng.normal(size=(1, 9, 2)).astype("float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.exp(log_linear_recurrence(log_a, log_b)))
    log_grads = tape.gradient(loss, [log_a, log_b])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(linear_recurrence(tf.exp(log_a), tf.exp(log_b)))
    plain_grads = tape.gradient(loss, [log_a, log_b])
    for log_grad, plain_grad in zip(log_grads, plain_grads, strict=True):
        assert np.all(np.isfinite(log_grad))
        np.testing.assert_allclose(log_grad, plain_grad, rtol=1e-4, atol=1e-5)
