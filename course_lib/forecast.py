"""Time-series forecasting: windows, normalisation fitted on training data only, and the
baselines a model must beat.

A forecast looks at ``window`` past values and predicts the next ``horizon`` values. Windows are
indexed by the position of their first *target*: a window "belongs" to the split its targets
fall in, while its inputs may reach back into the previous split (they precede the targets, so
nothing leaks from the future).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from course_lib.training import steady_input

__all__ = [
    "Standardizer", "window_arrays", "windowed_dataset", "naive_forecast",
    "seasonal_naive_forecast", "LinearAutoregression", "mean_absolute_error",
]


@dataclass(frozen=True)
class Standardizer:
    """Standardise with a mean and scale measured on the training split only."""

    mean: float
    scale: float

    @classmethod
    def fit(cls, train_values: np.ndarray) -> Standardizer:
        return cls(float(np.mean(train_values)), float(np.std(train_values)))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values) - self.mean) / self.scale

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values) * self.scale + self.mean


def _check_range(series, window: int, horizon: int, first_target: int, end: int) -> None:
    if first_target < window or end > len(series) or end - first_target < horizon:
        raise ValueError(
            f"need window <= first_target and first_target + horizon <= end <= len(series); got "
            f"window={window}, horizon={horizon}, first_target={first_target}, end={end}, "
            f"len(series)={len(series)}"
        )


def window_arrays(series: np.ndarray, window: int, horizon: int, first_target: int,
                  end: int) -> tuple[np.ndarray, np.ndarray]:
    """All windows whose targets lie in ``series[first_target:end]``, as NumPy arrays.

    Returns:
        inputs (n, window) and targets (n, horizon), n = end - first_target - horizon + 1.
    """
    series = np.asarray(series)
    _check_range(series, window, horizon, first_target, end)
    starts = np.arange(first_target, end - horizon + 1)
    inputs = np.stack([series[s - window: s] for s in starts])
    targets = np.stack([series[s: s + horizon] for s in starts])
    return inputs, targets


def windowed_dataset(series: np.ndarray, window: int, horizon: int, first_target: int, end: int,
                     batch_size: int = 32, shuffle: bool = False, seed: int = 0):
    """The windows of :func:`window_arrays` as a ``tf.data.Dataset`` built by
    ``keras.utils.timeseries_dataset_from_array``: inputs (batch, window, 1), targets
    (batch, horizon)."""

    series = np.asarray(series, dtype=np.float32)
    _check_range(series, window, horizon, first_target, end)
    dataset = keras.utils.timeseries_dataset_from_array(
        series[:, None], None, sequence_length=window + horizon, sequence_stride=1,
        start_index=first_target - window, end_index=end, batch_size=batch_size,
        shuffle=shuffle, seed=seed)
    return steady_input(dataset.map(lambda chunk: (chunk[:, :window], chunk[:, window:, 0])))


def naive_forecast(inputs: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat each window's last value ``horizon`` times: (n, window) -> (n, horizon)."""
    return np.repeat(np.asarray(inputs)[:, -1:], horizon, axis=1)


def seasonal_naive_forecast(series: np.ndarray, first_target: int, end: int, horizon: int,
                            period: int) -> np.ndarray:
    """Predict each target with the value one ``period`` earlier: (n, horizon) for the windows
    of :func:`window_arrays` (needs first_target >= period)."""
    if first_target < period:
        raise ValueError(f"need first_target >= period, got {first_target} < {period}")
    series = np.asarray(series)
    starts = np.arange(first_target, end - horizon + 1)
    return np.stack([series[s - period: s - period + horizon] for s in starts])


@dataclass(frozen=True)
class LinearAutoregression:
    """The linear baseline: every horizon step a weighted sum of the window's values plus a
    constant, one least-squares fit per step (a direct multi-step AR(window) model).

    ``weights`` (window + 1, horizon): the last row is the constant. ``ridge`` adds
    ``ridge * ||w||²`` (constant excluded) to the squared error, to tame 60 correlated inputs.
    """

    weights: np.ndarray

    @classmethod
    def fit(cls, inputs: np.ndarray, targets: np.ndarray, ridge: float = 0.0
            ) -> LinearAutoregression:
        """inputs (n, window), targets (n, horizon), n > 0."""
        inputs, targets = np.asarray(inputs, np.float64), np.asarray(targets, np.float64)
        if inputs.ndim != 2 or targets.ndim != 2 or len(inputs) != len(targets) or not len(inputs):
            raise ValueError(f"expected inputs (n, window) and targets (n, horizon) with the same "
                             f"n > 0, got {inputs.shape} and {targets.shape}")
        if ridge < 0:
            raise ValueError(f"ridge must be >= 0, got {ridge}")
        design = np.hstack([inputs, np.ones((len(inputs), 1))])
        penalty = ridge * np.eye(design.shape[1])
        penalty[-1, -1] = 0.0  # the constant is not shrunk
        weights = np.linalg.solve(design.T @ design + penalty, design.T @ targets)
        return cls(weights)

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """(n, window) -> (n, horizon)."""
        inputs = np.asarray(inputs, np.float64)
        if inputs.ndim != 2 or inputs.shape[1] != len(self.weights) - 1:
            raise ValueError(f"expected inputs (n, {len(self.weights) - 1}), got {inputs.shape}")
        return inputs @ self.weights[:-1] + self.weights[-1]


def mean_absolute_error(prediction: np.ndarray, target: np.ndarray) -> float:
    """MAE over every window and horizon step."""
    return float(np.mean(np.abs(np.asarray(prediction) - np.asarray(target))))
