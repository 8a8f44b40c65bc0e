"""Training helpers: the fast path every notebook compiles its models with (:func:`fast_compile`),
watching the gradient norm while ``fit`` runs, resetting stateful layers between epochs, and
comparing recurrent cells on one task under one budget.

Keras callbacks never see the gradients of the training step, so :class:`GradientNormLogger`
measures them itself: every ``every`` batches it computes the global gradient norm of the loss
on one fixed probe batch with ``tf.GradientTape``. The probe makes successive values comparable
(the same data every time) at the cost of one extra forward/backward pass per measurement.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np


def global_norm(tensors) -> float:
    """sqrt(sum of squared entries) over a list of tensors — what ``global_clipnorm`` bounds."""
    return math.sqrt(sum(float(np.sum(np.square(keras.ops.convert_to_numpy(t))))
                         for t in tensors if t is not None))


class GradientNormLogger(keras.callbacks.Callback):
    """Record the global gradient norm on a probe batch during training.

    Args:
        x, y: a probe batch, e.g. the first 64 training examples.
        every: measure after every ``every``-th training batch (1 = every batch); a model
            compiled with ``steps_per_execution`` > 1 needs ``every`` to be a multiple of it.
            ``None``: only the epoch-end norm.

    After ``fit``: ``steps`` and ``norms`` hold the measurements (NaN once the model has
    diverged), and the epoch logs — hence ``history.history`` — get ``grad_norm``, the norm
    at the end of each epoch.
    """

    def __init__(self, x, y, every: int | None = 1):
        super().__init__()
        self.x, self.y, self.every = x, y, every
        self.steps: list[int] = []
        self.norms: list[float] = []
        self._first_update = self._step = 0

    def gradient_norm(self) -> float:
        import tensorflow as tf

        loss_fn = keras.losses.get(self.model.loss)
        with tf.GradientTape() as tape:
            # Loss objects reduce to a scalar; plain functions return one value per example.
            loss = keras.ops.mean(loss_fn(self.y, self.model(self.x, training=False)))
        return global_norm(tape.gradient(loss, self.model.trainable_weights))

    def _updates(self) -> int:
        """Optimizer updates so far: counted by the optimizer itself, so the count is right
        whatever batch index a Keras version passes with several steps per call."""
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_begin(self, logs=None):
        per_call = getattr(self.model, "steps_per_execution", 1) or 1
        if self.every is not None and self.every % per_call:
            raise ValueError(
                f"GradientNormLogger(every={self.every}) cannot measure between the "
                f"{per_call} steps the model runs per call (steps_per_execution={per_call}); "
                f"compile with steps_per_execution=1, e.g. training.fast_compile(model, ..., "
                f"steps_per_execution=1), or pick `every` as a multiple of {per_call}")
        self._first_update = self._updates()
        self._step = 0

    def on_train_batch_end(self, batch, logs=None):
        if self.every is None:
            return
        previous = self._step  # Keras calls this once per compiled call
        self._step = self._updates() - self._first_update
        if self._step // self.every > previous // self.every:
            self.steps.append(self._step)
            self.norms.append(self.gradient_norm())

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["grad_norm"] = self.gradient_norm()


def seconds_per_train_step(model, x, y, steps: int = 20) -> float:
    """Mean wall time of one ``train_on_batch(x, y)`` on a compiled model, after one untimed
    step that builds and traces it."""
    model.train_on_batch(x, y)
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return (time.perf_counter() - started) / steps


def reset_recurrent_states(model) -> None:
    """Zero the carried state of every stateful recurrent layer of ``model``."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


class ResetStatesEachEpoch(keras.callbacks.Callback):
    """Start every epoch of stateful training from zero states (the text starts over)."""

    def on_epoch_begin(self, epoch, logs=None):
        reset_recurrent_states(self.model)


def compare_cells(build: Callable[[str], keras.Model], train, validation, epochs: int,
                  cells: Sequence[str] = ("simple_rnn", "lstm", "gru"), seed: int = 0,
                  **fit_kwargs) -> list[dict]:
    """Train one compiled model per cell type on the same data and budget, and measure it.

    Args:
        build: ``build(cell)`` returns a compiled model whose recurrent layer is named ``rnn``.
        train, validation: what ``fit`` takes as ``x`` and ``validation_data`` (a
            ``tf.data.Dataset`` or an (x, y) tuple).
        epochs: the budget, the same for every cell (at least 2: the first is warm-up).
        fit_kwargs: passed on to ``fit`` (e.g. ``batch_size``, ``callbacks``).

    Returns:
        One dict per cell: ``cell``, ``params`` (whole model), ``rnn_params`` (Keras) and
        ``rnn_params_formula`` (:func:`course_lib.models.recurrent_param_count`),
        ``seconds_per_epoch`` (median after the warm-up epoch), ``examples_per_second``, the
        final ``val_*`` metrics, and the trained ``model``.
    """
    from course_lib.models import recurrent_param_count

    if epochs < 2:
        raise ValueError(f"need epochs >= 2 (the first epoch is warm-up), got {epochs}")
    extra_callbacks = fit_kwargs.pop("callbacks", [])
    results = []
    for cell in cells:
        keras.utils.set_random_seed(seed)
        model = build(cell)
        timer = EpochTimer()
        inputs = train if isinstance(train, tuple) else (train,)  # (x, y) or a dataset
        history = model.fit(*inputs, validation_data=validation, epochs=epochs, verbose=0,
                            callbacks=[timer, *extra_callbacks], **fit_kwargs)
        layer = model.get_layer("rnn")
        features, units = layer.cell.kernel.shape[0], layer.cell.units
        seconds = float(np.median(timer.seconds[1:]))
        results.append({
            "cell": cell,
            "params": model.count_params(),
            "rnn_params": layer.count_params(),
            "rnn_params_formula": recurrent_param_count(
                cell, features, units, getattr(layer.cell, "reset_after", True)),
            "seconds_per_epoch": seconds,
            "examples_per_second": _count_examples(train) / seconds,
            **{key: values[-1] for key, values in history.history.items()
               if key.startswith("val_")},
            "model": model,
        })
    return results


def _count_examples(train) -> int:
    """Examples in one epoch of ``train``: an (x, y) tuple or a batched tf.data.Dataset."""
    if isinstance(train, tuple):
        return len(train[0])
    return int(sum(keras.ops.shape(inputs)[0] for inputs, _ in train))


class EpochTimer(keras.callbacks.Callback):
    """Wall time of the training part of each epoch (validation excluded)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._started = self._last_batch_end = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._last_batch_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(self._last_batch_end - self._started)


class ScheduledSampling(keras.callbacks.Callback):
    """Raise a seq2seq model's ``sampling_probability`` by epoch (see
    :class:`course_lib.seq2seq.EncoderDecoder`): ``schedule(epoch) -> probability`` in [0, 1].

    ``linear(end, epochs)`` goes from 0 at the first epoch to ``end`` at the last; a constant
    schedule (``lambda epoch: 1.0``) trains on the model's own predictions throughout. The
    probability used in each epoch is recorded in ``logs["sampling_probability"]``.
    """

    def __init__(self, schedule: Callable[[int], float]):
        super().__init__()
        self.schedule = schedule

    @staticmethod
    def linear(end: float, epochs: int) -> Callable[[int], float]:
        """0 at epoch 0, rising in equal steps to ``end`` at epoch ``epochs - 1``."""
        return lambda epoch: end * epoch / max(1, epochs - 1)

    def on_epoch_begin(self, epoch, logs=None):
        probability = float(self.schedule(epoch))
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"expected a sampling probability in [0, 1], got {probability} at "
                             f"epoch {epoch}")
        self.model.sampling_probability.assign(probability)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["sampling_probability"] = float(self.model.sampling_probability.numpy())


# --------------------------------------------------------------------------------------------
# The fast path: compile settings picked per model and device
# --------------------------------------------------------------------------------------------

#: Below this many weights in its largest recurrent kernel, a model's time steps are small enough
#: that per-operation overhead dominates on a CPU and XLA's fusion pays; above it the step is a
#: large matrix product that TensorFlow's own kernels already run well (measured with
#: ``python -m course_lib.bench``: XLA helps SimpleRNN 64 and GRU/LSTM 128, and slows a
#: 256-unit LSTM language model).
XLA_MAX_RECURRENT_WEIGHTS = 100_000
#: Training steps per call into the compiled graph on a CPU (fewer Python round trips).
CPU_STEPS_PER_EXECUTION = 16


@dataclass
class FastPath:
    """The compile settings :func:`fast_compile` chose for a model, and why."""

    device: str  # "CPU" or "GPU"
    jit_compile: bool | str
    steps_per_execution: int
    reason: str
    xla_blocked_by: str | None = None  # the layer that cannot be compiled by XLA, if one

    def __str__(self) -> str:
        return (f"fast path ({self.device}): jit_compile={self.jit_compile}, "
                f"steps_per_execution={self.steps_per_execution} — {self.reason}")


def recurrent_layers(model) -> list:
    """The LSTM/GRU/SimpleRNN layers inside ``model`` (Bidirectional wrappers looked through)."""
    kinds = (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN)
    return [layer for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, kinds)]


def _largest_recurrent_kernel(model) -> int:
    """Weights in the biggest recurrent cell's kernel + recurrent kernel (0 if none is built)."""
    sizes = [int(np.prod(layer.cell.kernel.shape) + np.prod(layer.cell.recurrent_kernel.shape))
             for layer in recurrent_layers(model) if layer.built]
    return max(sizes, default=0)


def _layers_without_xla(model) -> list[str]:
    """Names of layers that declare they cannot be compiled by XLA."""
    return [layer.name for layer in model._flatten_layers(include_self=False)
            if not layer.supports_jit]


def _input_shapes(model, data) -> list[tuple]:
    """Shapes of what the model is fed: from ``data`` (a ``tf.data.Dataset`` of (inputs, targets)
    or an array / tuple of arrays of inputs) when given, else from the model's inputs."""
    import tensorflow as tf

    if data is None:
        return [tuple(tensor.shape) for tensor in model.inputs]
    if isinstance(data, tf.data.Dataset):
        inputs = data.element_spec[0] if isinstance(data.element_spec, tuple) else data.element_spec
        return [tuple(spec.shape) for spec in tf.nest.flatten(inputs)]
    return [np.shape(array) for array in tf.nest.flatten(data)]


def _varying_length(shapes: list[tuple]) -> bool:
    """True when a non-batch dimension is unknown (sequences of different lengths)."""
    return any(dim is None for shape in shapes for dim in shape[1:])


def choose_fast_path(model, data=None) -> FastPath:
    """Pick XLA and steps per execution for ``model`` on this machine (nothing is changed).

    On a GPU, recurrent layers keep the cuDNN kernel and Keras decides XLA (``"auto"`` turns it
    off for models with cuDNN layers, whose fused kernels XLA cannot compile). On a CPU there is
    no cuDNN; XLA is used when every layer supports it, the sequences have one fixed length
    (XLA compiles the model again for every new input shape) and the recurrent steps are small
    (:data:`XLA_MAX_RECURRENT_WEIGHTS`). Steps per execution is
    :data:`CPU_STEPS_PER_EXECUTION` on a CPU either way.

    Args:
        model: a built model (a functional model is; call a subclassed one once first).
        data: what it will be trained on — a ``tf.data.Dataset`` of (inputs, targets) or the
            input array(s); without it the model's declared input shapes are used.
    """
    from course_lib.runtime import gpu_names

    if gpu_names():
        return FastPath("GPU", "auto", 1, "cuDNN kernels for LSTM/GRU, XLA left to Keras")
    blocking = _layers_without_xla(model)
    largest = _largest_recurrent_kernel(model)
    if blocking:
        return FastPath("CPU", False, CPU_STEPS_PER_EXECUTION,
                        f"XLA off: layer {blocking[0]!r} cannot be compiled by XLA", blocking[0])
    if _varying_length(_input_shapes(model, data)):
        reason = ("XLA off: the sequences vary in length and XLA would compile the model again "
                  "for each new length" + ("" if data is not None else
                                           " (pass data= if they do not)"))
    elif largest > XLA_MAX_RECURRENT_WEIGHTS:
        reason = (f"XLA off: the largest recurrent kernel has {largest:,} weights "
                  f"(> {XLA_MAX_RECURRENT_WEIGHTS:,}), where XLA measured slower")
    else:
        return FastPath("CPU", True, CPU_STEPS_PER_EXECUTION, "XLA on, several steps per call")
    return FastPath("CPU", False, CPU_STEPS_PER_EXECUTION, reason)


def fast_compile(model, optimizer="adam", loss=None, metrics=None, *, data=None,
                 verbose: bool = False, **compile_kwargs) -> FastPath:
    """``model.compile`` with the fast path's settings for this device; returns them.

    Use it wherever a notebook would call ``model.compile``: the arguments are the same, plus
    ``data`` (see :func:`choose_fast_path`), and a ``jit_compile`` or ``steps_per_execution``
    you pass wins over the choice. Prints one line when XLA had to be left off because a layer
    cannot be compiled (or always, with ``verbose=True``).
    """
    path = choose_fast_path(model, data)
    path.jit_compile = compile_kwargs.pop("jit_compile", path.jit_compile)
    path.steps_per_execution = compile_kwargs.pop("steps_per_execution",
                                                  path.steps_per_execution)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics,
                  jit_compile=path.jit_compile, steps_per_execution=path.steps_per_execution,
                  **compile_kwargs)
    if verbose or path.xla_blocked_by:
        print(path)
    return path


# --------------------------------------------------------------------------------------------
# The course's callback set: learning-rate schedule, early stopping, gradient norms
# --------------------------------------------------------------------------------------------

SCHEDULES = ("constant", "plateau", "cosine")
#: Epochs without improvement before the learning rate drops / training stops, per profile:
#: short fast-profile runs cannot wait long.
PATIENCE = {"fast": {"plateau": 1, "stop": 2}, "full": {"plateau": 2, "stop": 5}}


class LearningRateLogger(keras.callbacks.Callback):
    """Put the optimizer's learning rate at the end of each epoch into the logs (and so into
    ``history.history["learning_rate"]``)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate))


class CosineWithWarmup(keras.callbacks.Callback):
    """Linear warm-up from 0 over ``warmup_epochs``, then cosine decay to 0 at the end of
    ``epochs``, peaking at the optimizer's own learning rate.

    At the start of ``fit`` it gives the optimizer Keras' ``CosineDecay`` schedule, which the
    optimizer evaluates at every step inside the compiled graph, so the rate is right per step
    however many steps run per call (``steps_per_execution``). Use it on a freshly compiled
    model: the schedule counts the optimizer's steps from 0.
    """

    def __init__(self, epochs: int, warmup_epochs: int = 1):
        super().__init__()
        if not 0 <= warmup_epochs < epochs:
            raise ValueError(f"need 0 <= warmup_epochs < epochs, got warmup_epochs="
                             f"{warmup_epochs}, epochs={epochs}")
        self.epochs, self.warmup_epochs = epochs, warmup_epochs

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        steps_per_epoch = self.params.get("steps")
        if not steps_per_epoch:
            raise ValueError("CosineWithWarmup needs the number of steps per epoch: pass "
                             "steps_per_epoch= to fit (the dataset's length is unknown)")
        if int(optimizer.iterations) > 0:
            raise ValueError(f"CosineWithWarmup needs a fresh optimizer, but this one has taken "
                             f"{int(optimizer.iterations)} steps: compile the model again "
                             "before fit")
        peak = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        warmup_steps = self.warmup_epochs * steps_per_epoch
        optimizer.learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=(self.epochs - self.warmup_epochs) * steps_per_epoch,
            warmup_target=peak, warmup_steps=warmup_steps)


def course_callbacks(schedule: str = "plateau", profile: str = "fast", epochs: int | None = None,
                     early_stopping: bool = True, monitor: str = "val_loss",
                     gradient_probe: tuple | None = None) -> list[keras.callbacks.Callback]:
    """The course's standard callbacks for ``fit``, chosen by one argument.

    Args:
        schedule: ``"constant"`` (the optimizer's rate throughout), ``"plateau"``
            (``ReduceLROnPlateau``: halve the rate when ``monitor`` stalls) or ``"cosine"``
            (:class:`CosineWithWarmup`, one warm-up epoch; needs ``epochs``).
        profile: ``"fast"`` or ``"full"``; it sets the patience (:data:`PATIENCE`).
        epochs: the ``epochs`` given to ``fit`` (needed by ``"cosine"``).
        early_stopping: add ``EarlyStopping(restore_best_weights=True)`` on ``monitor``.
        monitor: the logged quantity to watch, e.g. ``"val_loss"``.
        gradient_probe: an (x, y) batch; adds :class:`GradientNormLogger` on it (every epoch).

    Returns:
        Callbacks that put ``learning_rate`` (and with a probe ``grad_norm``) into the history,
        ready for :func:`course_lib.plotting.plot_training_dynamics`.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if profile not in PATIENCE:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PATIENCE)}")
    patience = PATIENCE[profile]
    callbacks: list[keras.callbacks.Callback] = []
    if schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, factor=0.5, patience=patience["plateau"], min_lr=1e-5))
    elif schedule == "cosine":
        if not epochs:
            raise ValueError("schedule='cosine' needs epochs= (the epochs given to fit)")
        callbacks.append(CosineWithWarmup(epochs, warmup_epochs=1 if epochs > 1 else 0))
    if early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=monitor, patience=patience["stop"], restore_best_weights=True))
    if gradient_probe is not None:
        x, y = gradient_probe
        callbacks.append(GradientNormLogger(x, y, every=None))
    callbacks.append(LearningRateLogger())
    return callbacks
