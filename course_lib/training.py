"""Training helpers: the fast path's compile settings that every notebook passes to
``model.compile`` (:func:`fast_settings`), the input pipelines' last step
(:func:`steady_input`), watching the gradient norm while ``fit`` runs,
resetting stateful layers between epochs, and the course's callbacks (learning-rate schedules,
early stopping).

Keras callbacks never see the gradients of the training step, so :class:`GradientNormLogger`
measures them itself: every ``every`` batches it computes the global gradient norm of the loss
on one fixed probe batch with ``tf.GradientTape``. The probe makes successive values comparable
(the same data every time) at the cost of one extra forward/backward pass per measurement.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from course_lib.recurrent import uses_cpu_kernel

__all__ = [
    "global_norm", "GradientNormLogger", "seconds_per_train_step", "reset_recurrent_states",
    "ProgressLine", "ResetStatesEachEpoch", "EpochTimer", "XLA_MAX_RECURRENT_WEIGHTS",
    "CPU_STEPS_PER_EXECUTION", "FastPath", "walk_layers", "find_recurrent_layers",
    "choose_fast_path", "fast_settings", "fast_compile", "PREFETCH_BATCHES", "steady_input",
    "SCHEDULES", "PATIENCE",
    "LearningRateLogger", "CosineWithWarmup", "course_callbacks",
]


#: Batches the course's input pipelines prepare ahead of the training step (see steady_input).
PREFETCH_BATCHES = 2


def steady_input(dataset: tf.data.Dataset, prefetch: int = PREFETCH_BATCHES) -> tf.data.Dataset:
    """``dataset`` preparing ``prefetch`` batches ahead, with tf.data's autotuning off.

    ``fit`` opens a new iterator on its dataset every epoch. With autotuning on (tf.data's
    default), on the course's 2-core machine that held some epochs' first batch back by 0.1-0.5 s:
    notebook 04's three forecasters, 45 epochs, stalled in 4 and 5 epochs of two runs (21.2 and
    21.6 s of epochs in all); with it off, in none (20.1 and 18.9 s). The course's pipelines
    read arrays held in memory, so a small fixed buffer is all they need to keep the step fed.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(prefetch).with_options(options)


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
                f"compile with steps_per_execution=1, e.g. model.compile(..., **training."
                f"fast_settings(model, steps_per_execution=1)), or pick `every` as a multiple "
                f"of {per_call}")
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


class ProgressLine(keras.callbacks.Callback):
    """A compact progress report for ``fit(..., verbose=0)``: one line such as
    ``lm: epoch 3/10  loss 1.234  val_loss 1.456  (12 s)`` when at least ``min_seconds`` have
    passed since the last line, and always for the last epoch run (early stopping included). A
    run of a few seconds prints one line; a run of minutes prints one every ``min_seconds`` —
    students see that it is running, and stored notebooks stay short."""

    def __init__(self, min_seconds: float = 10.0):
        super().__init__()
        self.min_seconds = min_seconds
        self._started = self._last = 0.0
        self._pending: str | None = None  # the latest epoch's line, if not printed yet

    def on_train_begin(self, logs=None):
        self._started = self._last = time.perf_counter()
        self._pending = None

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        values = "  ".join(f"{key} {value:.4g}" for key, value in (logs or {}).items()
                           if isinstance(value, float | int) and key != "learning_rate")
        self._pending = (f"{self.model.name}: epoch {epoch + 1}/{self.params.get('epochs')}  "
                         f"{values}  ({now - self._started:.0f} s)")
        if now - self._last >= self.min_seconds:
            self._flush(now)

    def on_train_end(self, logs=None):
        self._flush(time.perf_counter())

    def _flush(self, now: float) -> None:
        if self._pending is not None:
            print(self._pending, flush=True)
            self._pending, self._last = None, now


class ResetStatesEachEpoch(keras.callbacks.Callback):
    """Start every epoch of stateful training from zero states (the text starts over)."""

    def on_epoch_begin(self, epoch, logs=None):
        reset_recurrent_states(self.model)


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


# --------------------------------------------------------------------------------------------
# The fast path: compile settings picked per model and device
# --------------------------------------------------------------------------------------------

#: Below this many weights in its largest recurrent kernel, a model's time steps are small enough
#: that per-operation overhead dominates on a CPU and XLA's fusion pays; above it the step is a
#: large matrix product that TensorFlow's own kernels already run well (measured with
#: ``python -m course_lib.bench``: XLA helps SimpleRNN 64 and slows a 256-unit LSTM language
#: model; Keras' LSTM/GRU loops keep it off at every size, see :func:`choose_fast_path`).
XLA_MAX_RECURRENT_WEIGHTS = 100_000
#: Training steps per call into the compiled graph on a CPU (fewer Python round trips), for all
#: but the large recurrent steps of :data:`XLA_MAX_RECURRENT_WEIGHTS` (see
#: :func:`choose_fast_path`).
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


def walk_layers(model: keras.Layer) -> list[keras.Layer]:
    """Every layer inside ``model``, depth first, each once: the layers of (nested) models,
    what wrappers wrap (``Bidirectional``'s two directions), and the layers a custom layer or
    subclassed model holds as attributes. Uses only public Keras attributes."""
    found: dict[int, keras.Layer] = {}

    def visit(layer: keras.Layer) -> None:
        children = list(getattr(layer, "layers", None) or [])
        if isinstance(layer, keras.layers.Bidirectional):
            children += [layer.forward_layer, layer.backward_layer]
        elif isinstance(layer, keras.layers.Wrapper):
            children.append(layer.layer)
        children += [value for value in vars(layer).values()
                     if isinstance(value, keras.Layer)]
        for child in children:
            if id(child) not in found and child is not model:
                found[id(child)] = child
                visit(child)

    visit(model)
    return list(found.values())


def find_recurrent_layers(model: keras.Model) -> list[keras.layers.RNN]:
    """The LSTM/GRU/SimpleRNN layers inside ``model`` (wrappers looked through)."""
    kinds = (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN)
    return [layer for layer in walk_layers(model) if isinstance(layer, kinds)]


def _largest_recurrent_kernel(model) -> int:
    """Weights in the biggest recurrent cell's kernel + recurrent kernel (0 if none is built)."""
    sizes = [int(np.prod(layer.cell.kernel.shape) + np.prod(layer.cell.recurrent_kernel.shape))
             for layer in find_recurrent_layers(model) if layer.built]
    return max(sizes, default=0)


def _generic_gated_loops(model) -> list[str]:
    """Names of the LSTM/GRU layers that run Keras' generic loop (not the CPU kernel of
    :mod:`course_lib.recurrent`)."""
    return [layer.name for layer in find_recurrent_layers(model)
            if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU))
            and not uses_cpu_kernel(layer)]


def _layers_without_xla(model) -> list[str]:
    """Names of layers that declare they cannot be compiled by XLA."""
    return [layer.name for layer in walk_layers(model) if not layer.supports_jit]


def _input_shapes(model, data) -> list[tuple]:
    """Shapes of what the model is fed: from ``data`` (a ``tf.data.Dataset`` of (inputs, targets)
    or an array / tuple of arrays of inputs) when given, else from the model's inputs."""

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
    (:data:`XLA_MAX_RECURRENT_WEIGHTS`), and no LSTM or GRU runs Keras' generic loop: XLA
    trained those slower than TensorFlow's own kernels (``python -m course_lib.bench``, each
    variant in its own process, 2-core Xeon: LSTM 128 with 16 steps per call 1,877 samples/s
    without XLA, 1,489 with; GRU 128 3,169 and 2,980), while SimpleRNN 64 gained (8,548 and
    13,270). Steps per execution is
    :data:`CPU_STEPS_PER_EXECUTION` on a CPU, except for those large recurrent steps: there it
    is 1, because several steps per call put the whole training step inside a loop of its own,
    which nests the recurrent layer's loop and its gradient, and that costs a large step more
    than the Python overhead it saves (measured with ``python -m course_lib.bench --shapes
    char_lm``: 16 steps per call 0.89x plain Keras in two runs, XLA 0.45x).

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
    large = largest > XLA_MAX_RECURRENT_WEIGHTS
    steps = 1 if large else CPU_STEPS_PER_EXECUTION
    one_step = (f"; one step per call: the largest recurrent kernel has {largest:,} weights "
                f"(> {XLA_MAX_RECURRENT_WEIGHTS:,})") if large else ""
    if blocking:
        return FastPath("CPU", False, steps, f"XLA off: layer {blocking[0]!r} cannot be "
                        f"compiled by XLA{one_step}", blocking[0])
    if _varying_length(_input_shapes(model, data)):
        return FastPath("CPU", False, steps,
                        "XLA off: the sequences vary in length and XLA would compile the model "
                        "again for each new length" + ("" if data is not None else
                                                       " (pass data= if they do not)") + one_step)
    if large:
        return FastPath("CPU", False, steps, f"XLA off{one_step}; both measured slower there")
    gated = _generic_gated_loops(model)
    if gated:
        return FastPath("CPU", False, steps, f"XLA off: Keras' LSTM/GRU loop ({gated[0]!r}) "
                        "trains faster without it on a CPU; several steps per call")
    return FastPath("CPU", True, steps, "XLA on, several steps per call")


def _fast_path(model: keras.Model, data, overrides: dict, verbose: bool) -> FastPath:
    """:func:`choose_fast_path` with explicit settings winning, and its one-line notice."""
    unknown = set(overrides) - {"jit_compile", "steps_per_execution"}
    if unknown:
        raise TypeError(f"fast settings take jit_compile and steps_per_execution overrides, "
                        f"got {sorted(unknown)}; pass other compile arguments to model.compile")
    path = choose_fast_path(model, data)
    path.jit_compile = overrides.get("jit_compile", path.jit_compile)
    path.steps_per_execution = overrides.get("steps_per_execution", path.steps_per_execution)
    if verbose or path.xla_blocked_by:
        print(path)
    return path


_announced = False  # whether fast_settings has printed its choice in this process


def fast_settings(model: keras.Model, data=None, *, verbose: bool | None = None,
                  **overrides) -> dict:
    """The fast path's ``compile`` arguments for ``model`` on this device, to pass on:

        model.compile(optimizer, loss, **training.fast_settings(model, data))

    Returns ``{"jit_compile": ..., "steps_per_execution": ...}`` as :func:`choose_fast_path`
    picks them; a ``jit_compile`` or ``steps_per_execution`` in ``overrides`` wins. Prints the
    choice the first time it is called in a process (once per notebook; ``verbose=True``:
    every time, ``False``: never), and always one line when XLA had to be left off because a
    layer cannot be compiled.
    """
    global _announced
    path = _fast_path(model, data, overrides, verbose=bool(verbose) or
                      (verbose is None and not _announced))
    _announced = True
    return {"jit_compile": path.jit_compile, "steps_per_execution": path.steps_per_execution}


def fast_compile(model: keras.Model, optimizer="adam", loss=None, metrics=None, *, data=None,
                 verbose: bool = False, **compile_kwargs) -> FastPath:
    """``model.compile(optimizer, loss, metrics=metrics, **fast_settings(model, data))`` in one
    call, returning the :class:`FastPath` chosen (the benchmark and the tests use it)."""
    overrides = {key: compile_kwargs.pop(key) for key in ("jit_compile", "steps_per_execution")
                 if key in compile_kwargs}
    path = _fast_path(model, data, overrides, verbose)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=path.jit_compile,
                  steps_per_execution=path.steps_per_execution, **compile_kwargs)
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

    def schedule(self, peak: float, steps_per_epoch: int):
        """The Keras schedule this callback installs (the rate at update ``step`` is
        ``schedule(step)``)."""
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=(self.epochs - self.warmup_epochs) * steps_per_epoch,
            warmup_target=peak, warmup_steps=self.warmup_epochs * steps_per_epoch)

    def rates(self, peak: float, steps_per_epoch: int) -> np.ndarray:
        """(epochs * steps_per_epoch,) the learning rate of every update, in order."""
        schedule = self.schedule(peak, steps_per_epoch)
        steps = np.arange(self.epochs * steps_per_epoch)
        return np.array([float(keras.ops.convert_to_numpy(schedule(step))) for step in steps])

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
        optimizer.learning_rate = self.schedule(peak, steps_per_epoch)


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
