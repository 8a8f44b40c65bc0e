import numpy as np
import pytest

from course_lib import forecast


def test_windows_from_tf_data_equal_the_numpy_reference():
    series = np.arange(50, dtype=np.float32)
    inputs, targets = forecast.window_arrays(series, window=5, horizon=3, first_target=20, end=30)
    assert inputs.shape == (8, 5) and targets.shape == (8, 3)
    assert inputs[0].tolist() == [15, 16, 17, 18, 19] and targets[-1].tolist() == [27, 28, 29]
    batches = list(forecast.windowed_dataset(series, 5, 3, 20, 30, batch_size=3))
    tf_inputs = np.concatenate([x.numpy() for x, _ in batches])
    tf_targets = np.concatenate([y.numpy() for _, y in batches])
    assert tf_inputs.shape == (8, 5, 1)
    np.testing.assert_array_equal(tf_inputs[..., 0], inputs)
    np.testing.assert_array_equal(tf_targets, targets)


def test_windows_reject_an_impossible_range():
    with pytest.raises(ValueError, match="window <= first_target"):
        forecast.window_arrays(np.arange(10), window=5, horizon=2, first_target=3, end=10)


def test_normalizer_round_trip_uses_training_statistics():
    scaler = forecast.Standardizer.fit(np.array([1.0, 3.0]))
    assert (scaler.mean, scaler.scale) == (2.0, 1.0)
    np.testing.assert_allclose(scaler.inverse(scaler.transform([5.0, -1.0])), [5.0, -1.0])


def test_baselines():
    series = np.arange(40, dtype=float)
    inputs, targets = forecast.window_arrays(series, 4, 2, 20, 30)
    naive = forecast.naive_forecast(inputs, 2)
    assert naive[0].tolist() == [19, 19]
    seasonal = forecast.seasonal_naive_forecast(series, 20, 30, horizon=2, period=12)
    np.testing.assert_array_equal(seasonal, targets - 12)
    assert forecast.mean_absolute_error(seasonal, targets) == 12.0


def test_linear_autoregression_recovers_a_linear_rule_and_validates_shapes():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(200, 5))
    rule = rng.normal(size=(5, 3))
    targets = inputs @ rule + 2.0  # three horizon steps, each linear in the window, plus 2
    model = forecast.LinearAutoregression.fit(inputs, targets)
    np.testing.assert_allclose(model.weights[:-1], rule, atol=1e-10)
    np.testing.assert_allclose(model.weights[-1], 2.0, atol=1e-10)
    np.testing.assert_allclose(model.predict(inputs[:4]), targets[:4], atol=1e-10)
    shrunk = forecast.LinearAutoregression.fit(inputs, targets, ridge=1e4)
    assert np.abs(shrunk.weights[:-1]).sum() < 0.2 * np.abs(rule).sum()
    with pytest.raises(ValueError, match="inputs \\(n, window\\) and targets"):
        forecast.LinearAutoregression.fit(inputs, targets[:10])
    with pytest.raises(ValueError, match="expected inputs \\(n, 5\\)"):
        model.predict(inputs[:, :4])
    with pytest.raises(ValueError, match="ridge must be >= 0"):
        forecast.LinearAutoregression.fit(inputs, targets, ridge=-1)
