"""Shipping a recurrent language model for streaming: one token in, state in -> logits and
state out, exported to a SavedModel and to TensorFlow Lite.

A server or a phone that streams text keeps the state itself and calls the step once per
token, so the model's memory is the state (a few hundred numbers for the course's char LM)
whatever the length of the stream; a transformer would carry a KV cache that grows.

    step_model(lm): {"token": (batch,) int32, "state_0": (batch, units), ...}
                    -> [logits (batch, vocab), new state_0, ...]

built from the trained ``embedding``, ``rnn`` cell and ``logits`` layers of
:func:`course_lib.models.char_lm` (shared, not copied). :func:`export_saved_model` writes it
with ``keras.Model.export``; :func:`to_tflite` converts that SavedModel; the three runners
(:func:`keras_runner`, :func:`saved_model_runner`, :func:`tflite_runner`) share one call
signature, ``run(token, states) -> (logits, states)``, so outputs and latencies can be compared
on the same stream.
"""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

__all__ = ["step_model", "state_sizes", "export_saved_model", "to_tflite", "keras_runner",
           "saved_model_runner", "tflite_runner", "stream", "greedy_continuation",
           "seconds_per_token", "folder_bytes"]

Runner = Callable[[np.ndarray, list[np.ndarray]], tuple[np.ndarray, list[np.ndarray]]]


def state_sizes(rnn) -> list[int]:
    """The sizes of a Keras recurrent layer's states: [units, units] for an LSTM, [units]
    otherwise."""
    sizes = rnn.cell.state_size
    return list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]


def step_model(lm: keras.Model) -> keras.Model:
    """A one-token step of a char LM with layers named ``embedding``, ``rnn`` (a Keras
    SimpleRNN/LSTM/GRU) and ``logits``: inputs ``token`` (batch,) and ``state_i``
    (batch, size_i); outputs logits (batch, vocab) and the new states."""
    try:
        embedding, rnn, head = (lm.get_layer(name) for name in ("embedding", "rnn", "logits"))
    except ValueError as error:
        raise ValueError(f"step_model needs a char LM with layers named embedding, rnn and "
                         f"logits (course_lib.models.char_lm); {lm.name!r} has "
                         f"{[layer.name for layer in lm.layers]} ({error})") from None
    if not isinstance(rnn, (keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU)):
        raise ValueError(f"step_model exports Keras SimpleRNN, LSTM and GRU layers; the layer "
                         f"'rnn' is a {type(rnn).__name__}. Fix: give the layer a step of its "
                         "own (as course_lib.minimal_rnn's layers have) and export that")
    token = keras.Input(shape=(), dtype="int32", name="token")
    states = [keras.Input(shape=(size,), name=f"state_{i}")
              for i, size in enumerate(state_sizes(rnn))]
    output, new_states = rnn.cell(embedding(token), states if len(states) > 1 else states[0])
    new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
    outputs = [head(output), *new_states]
    return keras.Model({"token": token, **{f"state_{i}": s for i, s in enumerate(states)}},
                       outputs, name=f"{lm.name}_step")


def export_saved_model(step: keras.Model, folder: str | Path) -> Path:
    """Write ``step`` as a TensorFlow SavedModel (``keras.export.ExportArchive``; endpoint
    ``serve``, taking the step's dict of inputs) to ``folder``; returns the folder."""
    folder = Path(folder)
    # An explicit endpoint taking the step's dict of inputs: ``step.export`` traces a list of
    # inputs on Keras 3.8 (the oldest the course admits), which a model built on a dict rejects.
    signature = {name: tf.TensorSpec(tensor.shape, tensor.dtype, name=name)
                 for name, tensor in step.input.items()}
    archive = keras.export.ExportArchive()
    archive.track(step)
    archive.add_endpoint("serve", lambda inputs: step(inputs), input_signature=[signature])
    quiet = ({"verbose": False} if "verbose" in inspect.signature(archive.write_out).parameters
             else {})  # Keras 3.8 has no verbose and prints the endpoint
    archive.write_out(str(folder), **quiet)
    return folder


def to_tflite(saved_model: str | Path) -> bytes:
    """Convert a SavedModel to a TensorFlow Lite flatbuffer (float32, no quantisation)."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    return converter.convert()


def _feed(token, states) -> dict:
    return {"token": np.asarray(token, np.int32),
            **{f"state_{i}": np.asarray(s, np.float32) for i, s in enumerate(states)}}


def keras_runner(step: keras.Model) -> Runner:
    """Run the Keras step model eagerly (compiled with ``tf.function`` once)."""
    call = tf.function(lambda inputs: step(inputs))

    def run(token, states):
        logits, *states = call(_feed(token, states))
        return np.asarray(logits), [np.asarray(s) for s in states]

    return run


def saved_model_runner(folder: str | Path) -> Runner:
    """Run the exported SavedModel's ``serve`` endpoint."""
    loaded = tf.saved_model.load(str(folder))  # kept alive by the closure: it owns the weights

    def run(token, states):
        logits, *states = loaded.serve(_feed(token, states))
        return np.asarray(logits), [np.asarray(s) for s in states]

    return run


def tflite_runner(flatbuffer: bytes, batch: int) -> Runner:
    """Run a TFLite step with the LiteRT interpreter (``ai_edge_litert``) where installed, else
    TensorFlow's own (deprecated, same kernels). Inputs are matched by name, outputs by the
    SavedModel's output order (``output_0`` = logits, then the states)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
            Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "tf.lite.Interpreter is deprecated"
        interpreter = Interpreter(model_content=flatbuffer)
    for detail in interpreter.get_input_details():  # the exported batch axis is 1 (or -1)
        interpreter.resize_tensor_input(detail["index"], [batch, *detail["shape"][1:]])
    interpreter.allocate_tensors()
    runner = interpreter.get_signature_runner("serving_default")

    def run(token, states):
        result = runner(**_feed(token, states))
        ordered = [np.array(result[key])  # copies: the interpreter reuses its buffers
                   for key in sorted(result, key=lambda k: int(k.split("_")[-1]))]
        return ordered[0], ordered[1:]

    return run


def stream(run: Runner, tokens: np.ndarray, states: Sequence[np.ndarray]
           ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Feed tokens (batch, time) one step at a time; returns logits (batch, time, vocab) and
    the final states."""
    states, all_logits = list(states), []
    for t in range(tokens.shape[1]):
        logits, states = run(tokens[:, t], states)
        all_logits.append(logits)
    return np.stack(all_logits, axis=1), states


def greedy_continuation(run: Runner, prompt_ids: np.ndarray, states: Sequence[np.ndarray],
                        length: int) -> np.ndarray:
    """Read ``prompt_ids`` (batch, time >= 1) into the state, then generate ``length`` tokens,
    each the most likely after the one before; returns (batch, length) ids."""
    _, states = stream(run, prompt_ids[:, :-1], states)
    token, generated = prompt_ids[:, -1], []
    for _ in range(length):
        logits, states = run(token, states)
        token = np.argmax(logits, axis=-1).astype(np.int32)
        generated.append(token)
    return np.stack(generated, axis=1)


def seconds_per_token(run: Runner, tokens: np.ndarray, states: Sequence[np.ndarray]) -> float:
    """Median wall time of one step over a stream of ``tokens`` (batch, time), after two
    warm-up steps."""
    states = list(states)
    for t in range(2):
        _, states = run(tokens[:, t], states)
    times = []
    for t in range(tokens.shape[1]):
        started = time.perf_counter()
        _, states = run(tokens[:, t], states)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def folder_bytes(folder: str | Path) -> int:
    """Bytes of all files under ``folder`` (a SavedModel's size on disk)."""
    return sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file())
