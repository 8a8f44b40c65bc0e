"""Recurrent layers whose recurrence is linear with coefficients from the input x_t alone, so that
training runs as a parallel scan: minGRU and minLSTM (Feng et al., 2024, "Were RNNs All We
Needed?"), a diagonal linear RNN in the spirit of the LRU (Orvieto et al., 2023) and of S4D, and
a small *selective* one whose decay depends on the input (the idea of Mamba, Gu & Dao, 2023).

    minGRU:   z_t = σ(x_t W_z + b_z),  h̃_t = x_t W_h + b_h,
              h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t
    minLSTM:  f_t = σ(x_t W_f + b_f),  i_t = σ(x_t W_i + b_i),  h̃_t = x_t W_h + b_h,
              h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h̃_t  with  f' = f / (f + i),  i' = i / (f + i)

    diagonal:  h_t = λ ⊙ h_{t-1} + γ ⊙ (x_t B + c),  λ = exp(-exp(ν)) in (0, 1), γ = √(1 - λ²)
    selective: Δ_t = softplus(x_t W_Δ + b_Δ),
               h_t = exp(-Δ_t ⊙ exp(ν)) ⊙ h_{t-1} + Δ_t ⊙ (x_t B + c)

All four are h_t = a_t ⊙ h_{t-1} + b_t with (a_t, b_t) known for all steps at once, which
:func:`course_lib.scan.linear_recurrence` evaluates in parallel (or sequentially). At inference
``step(x_t, state)`` advances one token with a constant-size state, like any RNN. Compared with
the real GRU/LSTM they lose the state's influence on the gates (no h_{t-1} inside σ) and the
tanh on the candidate; depth (stacking layers) restores some of the lost expressiveness.

Inputs (batch, time, features); an optional mask (batch, time) keeps the state unchanged at
masked steps (a = 1, b = 0). Output (batch, time, units), or (batch, units) for the last state
when ``return_sequences=False``.
"""

from __future__ import annotations

import keras
from keras import ops

from course_lib.scan import linear_recurrence

__all__ = ["MinGRU", "MinLSTM", "DiagonalRNN", "SelectiveRNN"]


class _MinimalRNN(keras.layers.Layer):
    """Shared machinery: one Dense projection of x_t to all gates, then a linear recurrence."""

    gates: int  # blocks of ``units`` in the input projection, set by each subclass

    def __init__(self, units: int, return_sequences: bool = True, parallel: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        self.units, self.return_sequences, self.parallel = units, return_sequences, parallel
        self.supports_masking = True
        self.projection = keras.layers.Dense(self.gates * units, name="projection")

    def build(self, input_shape):
        self.projection.build(tuple(input_shape))
        super().build(input_shape)

    def coefficients(self, x):
        """(a, b), each (..., units), of h_t = a ⊙ h_{t-1} + b for inputs x (..., features)."""
        raise NotImplementedError

    def call(self, inputs, mask=None, initial_state=None):
        a, b = self.coefficients(inputs)
        if mask is not None:  # a masked step keeps the state: a = 1, b = 0
            keep = ops.expand_dims(ops.cast(mask, a.dtype), -1)
            a, b = keep * a + (1 - keep), keep * b
        states = linear_recurrence(a, b, initial_state, parallel=self.parallel)
        return states if self.return_sequences else states[:, -1]

    def compute_output_shape(self, input_shape):
        batch, time = input_shape[0], input_shape[1]
        return (batch, time, self.units) if self.return_sequences else (batch, self.units)

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def step(self, x_t, state):
        """One token at inference: x_t (batch, features), state (batch, units) -> (output,
        state), both (batch, units)."""
        a, b = self.coefficients(ops.convert_to_tensor(x_t))
        state = a * ops.convert_to_tensor(state, a.dtype) + b
        return state, state

    def get_initial_state(self, batch_size: int):
        return ops.zeros((batch_size, self.units))

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "return_sequences": self.return_sequences, "parallel": self.parallel}


@keras.saving.register_keras_serializable(package="course_lib")
class MinGRU(_MinimalRNN):
    """minGRU: an update gate and a candidate, both from x_t (see the module docstring)."""

    gates = 2

    def __init__(self, units: int, update_bias: float = 0.0, **kwargs):
        """``update_bias`` initialises the update gate's bias: 0 (the paper's default) makes
        z = 0.5 at the start, so the state halves every step; a negative bias (e.g. -3, z ≈
        0.05) starts with memories of ~20 steps, like an LSTM's forget-gate bias of +1."""
        super().__init__(units, **kwargs)
        self.update_bias = update_bias

    def build(self, input_shape):
        super().build(input_shape)
        if self.update_bias:
            kernel, bias = self.projection.get_weights()
            bias[: self.units] = self.update_bias
            self.projection.set_weights([kernel, bias])

    def get_config(self):
        return {**super().get_config(), "update_bias": self.update_bias}

    def coefficients(self, x):
        z, candidate = ops.split(self.projection(x), 2, axis=-1)
        z = ops.sigmoid(z)
        return 1 - z, z * candidate


@keras.saving.register_keras_serializable(package="course_lib")
class MinLSTM(_MinimalRNN):
    """minLSTM: forget and input gates normalised to sum to 1, and a candidate, all from x_t."""

    gates = 3

    def coefficients(self, x):
        forget, write, candidate = ops.split(self.projection(x), 3, axis=-1)
        forget, write = ops.sigmoid(forget), ops.sigmoid(write)
        total = forget + write
        return forget / total, write / total * candidate


class _DecayingRNN(_MinimalRNN):
    """A per-unit decay rate exp(ν) > 0 as a weight: λ = exp(-exp(ν)) stays in (0, 1) for any
    ν, so the recurrence is stable whatever the optimiser does to ν (the LRU's
    parameterisation)."""

    def __init__(self, units: int, min_decay: float = 0.9, max_decay: float = 0.999, **kwargs):
        super().__init__(units, **kwargs)
        if not 0 < min_decay <= max_decay < 1:
            raise ValueError(f"expected 0 < min_decay <= max_decay < 1, got {min_decay}, "
                             f"{max_decay}")
        self.min_decay, self.max_decay = min_decay, max_decay

    def build(self, input_shape):
        super().build(input_shape)
        self.log_rate = self.add_weight(shape=(self.units,), initializer="zeros", name="log_rate")
        # λ spread evenly over [min_decay, max_decay]: memories from ~10 to ~1000 steps
        decay = ops.linspace(self.min_decay, self.max_decay, self.units)
        self.log_rate.assign(ops.log(-ops.log(decay)))

    def get_config(self):
        return {**super().get_config(), "min_decay": self.min_decay,
                "max_decay": self.max_decay}


@keras.saving.register_keras_serializable(package="course_lib")
class DiagonalRNN(_DecayingRNN):
    """A real diagonal linear RNN: a fixed, learnt decay λ per unit and an input projection,
    scaled by γ = √(1 - λ²) so that a unit with a long memory does not blow up its state (the
    LRU's normalisation). Time-invariant: the same λ at every step."""

    gates = 1

    def decay(self):
        """λ (units,) in (0, 1)."""
        return ops.exp(-ops.exp(self.log_rate))

    def coefficients(self, x):
        written = self.projection(x)
        decay = self.decay()
        return ops.broadcast_to(decay, ops.shape(written)), ops.sqrt(1 - decay**2) * written


@keras.saving.register_keras_serializable(package="course_lib")
class SelectiveRNN(_DecayingRNN):
    """A selective diagonal RNN: the step size Δ_t > 0 comes from the input, so each token
    decides how much of the state to keep (Δ small: keep, Δ large: forget and write). Δ's bias
    starts near log(e^0.01 - 1), so training starts with long memories."""

    gates = 2

    def build(self, input_shape):
        super().build(input_shape)
        kernel, bias = self.projection.get_weights()
        bias[: self.units] = float(ops.log(ops.expm1(0.01)))  # Δ = softplus(bias) = 0.01
        self.projection.set_weights([kernel, bias])

    def step_sizes(self, x):
        """Δ_t (..., units) > 0 for inputs x (..., features)."""
        return ops.softplus(ops.split(self.projection(x), 2, axis=-1)[0])

    def coefficients(self, x):
        step, written = ops.split(self.projection(x), 2, axis=-1)
        step = ops.softplus(step)
        return ops.exp(-step * ops.exp(self.log_rate)), step * written
