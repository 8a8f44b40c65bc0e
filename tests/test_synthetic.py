import numpy as np
import pytest

from course_lib import synthetic


def test_adding_problem_target_is_sum_of_marked_values():
    x, y = synthetic.adding_problem(64, 30, seed=3)
    assert x.shape == (64, 30, 2) and y.shape == (64,)
    assert np.all(x[..., 1].sum(axis=1) == 2)
    np.testing.assert_allclose((x[..., 0] * x[..., 1]).sum(axis=1), y, rtol=1e-6)


def test_adding_problem_puts_one_marker_in_each_half():
    x, _ = synthetic.adding_problem(200, 20, seed=0)
    assert np.all(x[:, :10, 1].sum(axis=1) == 1) and np.all(x[:, 10:, 1].sum(axis=1) == 1)


def test_adding_problem_is_deterministic_given_seed():
    a, b = synthetic.adding_problem(8, 10, seed=7), synthetic.adding_problem(8, 10, seed=7)
    c = synthetic.adding_problem(8, 10, seed=8)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])


def test_adding_problem_constant_baseline_mse_is_one_sixth():
    _, y = synthetic.adding_problem(100_000, 10, seed=0)
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.005


def test_copy_task_layout():
    x, y = synthetic.copy_task(4, delay=6, n_copy=3, n_symbols=5, seed=1)
    assert x.shape == y.shape == (4, 12)
    assert np.array_equal(y[:, -3:], x[:, :3])
    assert np.all(x[:, 3 + 6 - 1] == 6) and np.all(y[:, :9] == 0)
    assert x[:, :3].min() >= 1 and x[:, :3].max() <= 5


def test_copy_task_is_deterministic_and_validates_arguments():
    first, again = synthetic.copy_task(3, 4, seed=2), synthetic.copy_task(3, 4, seed=2)
    assert np.array_equal(first[0], again[0])
    with pytest.raises(ValueError, match="delay"):
        synthetic.copy_task(3, 0)


def test_delayed_echo_targets_are_inputs_shifted_by_delay():
    x, y = synthetic.delayed_echo(4, length=10, delay=3, seed=0)
    assert x.shape == y.shape == (4, 10, 1)
    assert np.array_equal(y[:, 3:], x[:, :-3]) and not y[:, :3].any()
    assert set(np.unique(x)) == {-1.0, 1.0}
    with pytest.raises(ValueError, match="delay < length"):
        synthetic.delayed_echo(2, length=5, delay=5)
