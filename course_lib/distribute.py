"""Data-parallel training with ``tf.distribute``, checked on one CPU machine.

Synchronous data parallelism: every replica holds the same weights, takes its share of each
global batch, computes gradients, and the gradients are summed across replicas (an all-reduce)
before every replica applies the same update. Done right, the result is the single-device
result on the same global batch, up to the order of floating-point additions. This module
proves it without a GPU or a second machine:

- :func:`split_cpu` makes one CPU look like several devices, so ``MirroredStrategy`` (one
  machine, several devices) can run on a laptop;
- :func:`run_workers` starts ``MultiWorkerMirroredStrategy`` workers as local processes, each
  with its ``TF_CONFIG`` naming the cluster on loopback ports, exactly as on N machines;
- :func:`train_data_parallel` trains the same small model (a GRU on the adding problem) under
  any strategy with one custom training loop, so the runs can be compared weight for weight.

Why a custom loop: in Keras 3 (through 3.15 at least) ``model.fit`` does not run under
``MultiWorkerMirroredStrategy`` on the TensorFlow backend (keras-team/keras#20585: "Attempt to
convert a value (PerReplica...)"); ``strategy.run`` inside a ``tf.function`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from course_lib.models import sequence_regressor
from course_lib.synthetic import adding_problem

__all__ = ["RECIPE", "TrainingRun", "split_cpu", "free_ports", "cluster_config",
           "train_data_parallel", "run_workers"]

# The shared recipe: a one-layer GRU (16 units) on the 50-step adding problem, plain SGD (so the
# update is linear in the gradient and the comparison is as sharp as it can be), no shuffling.
RECIPE = dict(examples=512, length=50, units=16, global_batch=64, epochs=3, learning_rate=0.1,
              seed=0)


@dataclass
class TrainingRun:
    """What one training run produced: the loss of every step and the final weights."""

    losses: np.ndarray  # (steps,) mean loss over each global batch
    weights: np.ndarray  # (parameters,) all weights, flattened in the model's order
    replicas: int
    seconds: float


def split_cpu(devices: int = 2) -> list[str]:
    """Make the first CPU appear as ``devices`` logical devices; returns their names
    ("/cpu:0", ...). Must run before TensorFlow creates its devices (before the first
    operation), once per process."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(devices)])
    except RuntimeError as error:
        if len(tf.config.list_logical_devices("CPU")) == devices:
            return [f"/cpu:{i}" for i in range(devices)]
        raise RuntimeError(
            f"split_cpu({devices}) must run before TensorFlow starts its devices, and this "
            f"process already has {len(tf.config.list_logical_devices('CPU'))} CPU device(s) "
            f"({error}). Fix: restart the kernel and call it first, before any model or tensor "
            "is created") from None
    return [f"/cpu:{i}" for i in range(devices)]


def free_ports(count: int) -> list[int]:
    """``count`` TCP ports on 127.0.0.1 that were free a moment ago (the OS picks them)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def cluster_config(ports: list[int], index: int, host: str = "127.0.0.1") -> dict:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of ``len(ports)`` workers: the same
    cluster list for all, a different task index for each (index 0 is the chief)."""
    return {"cluster": {"worker": [f"{host}:{port}" for port in ports]},
            "task": {"type": "worker", "index": index}}


def _adding_dataset(recipe: dict):
    x, y = adding_problem(recipe["examples"], recipe["length"], seed=recipe["seed"])
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(recipe["global_batch"])


def train_data_parallel(strategy=None, recipe: dict | None = None) -> TrainingRun:
    """Train :data:`RECIPE`'s model under ``strategy`` (None: the default, one device).

    Each global batch of ``global_batch`` examples is split across the replicas; each replica's
    loss is its examples' squared errors summed and divided by the *global* batch size
    (``tf.nn.compute_average_loss``), so that summing the replicas' gradients gives the
    gradient of the mean over the global batch, as on one device.
    """
    recipe = {**RECIPE, **(recipe or {})}
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(recipe["seed"])
    with strategy.scope():
        model = sequence_regressor("gru", recipe["units"], recipe["length"], features=2,
                                   layers=1)
        optimizer = keras.optimizers.SGD(recipe["learning_rate"])
        optimizer.build(model.trainable_variables)
    batches = strategy.experimental_distribute_dataset(_adding_dataset(recipe))

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            errors = tf.square(model(x, training=True)[:, 0] - y)
            loss = tf.nn.compute_average_loss(errors, global_batch_size=recipe["global_batch"])
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return loss

    @tf.function
    def train_step(batch):
        return strategy.reduce("SUM", strategy.run(replica_step, args=batch), axis=None)

    started, losses = time.perf_counter(), []
    for _ in range(recipe["epochs"]):
        for batch in batches:
            losses.append(float(train_step(batch)))
    weights = np.concatenate([w.ravel() for w in model.get_weights()])
    return TrainingRun(np.array(losses), weights, strategy.num_replicas_in_sync,
                       time.perf_counter() - started)


def run_workers(workers: int = 2, timeout: float = 120.0,
                recipe: dict | None = None) -> list[TrainingRun]:
    """Train with ``MultiWorkerMirroredStrategy`` in ``workers`` local processes (one CPU
    replica each) talking over loopback ports; returns each worker's run.

    Every worker is stopped when this returns, also on an error or after ``timeout`` seconds
    (then ``TimeoutError``). On N machines the same worker code runs unchanged: only
    ``TF_CONFIG``'s addresses change (see notebook 10).
    """
    ports = free_ports(workers)
    with tempfile.TemporaryDirectory(prefix="course_workers_") as folder:
        processes = []
        try:
            for index in range(workers):
                env = {**os.environ, "TF_CONFIG": json.dumps(cluster_config(ports, index)),
                       "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
                command = [sys.executable, "-m", "course_lib.distribute", "--out",
                           str(Path(folder) / f"worker{index}.npz"), "--recipe",
                           json.dumps(recipe or {})]
                processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                                  stderr=subprocess.STDOUT, text=True))
            deadline = time.monotonic() + timeout
            logs = []
            for process in processes:
                try:
                    logs.append(process.communicate(timeout=max(0.1, deadline - time.monotonic()))
                                [0])
                except subprocess.TimeoutExpired:
                    raise TimeoutError(f"the {workers} workers did not finish within {timeout:.0f}"
                                       " s; all were stopped") from None
            for index, (process, log) in enumerate(zip(processes, logs, strict=True)):
                if process.returncode != 0:
                    tail = "\n".join(log.strip().splitlines()[-8:])
                    raise RuntimeError(f"worker {index} of {workers} exited with code "
                                       f"{process.returncode}; its last lines:\n{tail}")
            return [_load_run(Path(folder) / f"worker{i}.npz") for i in range(workers)]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()


def _load_run(path: Path) -> TrainingRun:
    with np.load(path) as saved:
        return TrainingRun(saved["losses"], saved["weights"], int(saved["replicas"]),
                           float(saved["seconds"]))


def _worker(out: str, recipe: dict) -> None:
    """One worker process: join the cluster in TF_CONFIG, train, save the run."""
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    run = train_data_parallel(strategy, recipe)
    np.savez(out, losses=run.losses, weights=run.weights, replicas=run.replicas,
             seconds=run.seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="one MultiWorkerMirroredStrategy worker "
                                     "(started by course_lib.distribute.run_workers)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--recipe", default="{}")
    arguments = parser.parse_args()
    _worker(arguments.out, json.loads(arguments.recipe))
