# %% [markdown]
# # 10 · Outgrowing one device and shipping the model: input pipelines, data-parallel and multi-worker training, mixed precision, a streaming model for serving
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recurrent-course/rnn-keras3/blob/main/notebooks/10_scaling_and_serving.ipynb)
#
# **Learning goals**
# - measure what `tf.data`'s vectorised `map`, `cache` and `prefetch` do for a training loop, and read the numbers on a CPU honestly;
# - train with `tf.distribute.MirroredStrategy` over two devices and with `MultiWorkerMirroredStrategy` over two worker processes, and check that both reach the single-device weights;
# - know what changes on real hardware: global and per-replica batch, learning-rate scaling, cuDNN per replica, `TF_CONFIG` on N machines, `keras.distribution` on JAX;
# - explain mixed precision and loss scaling, and why they help on GPUs but not on this CPU;
# - export the character LM as a **step function with explicit state** to a SavedModel and to TensorFlow Lite, check that all three agree, and measure latency and size.
#
# **Prerequisites:** notebooks 01 and 03 (the char LM), 07 (streaming costs). · **Runtime:** about 1½ min on 2 CPU cores in the `fast` profile. Nothing here needs a GPU or a second machine: two logical CPU devices and two local processes stand in for them, and the same code runs unchanged on the real thing.

# %% [markdown]
# ## 0 · Setup
#
# One line must run before TensorFlow creates its devices: `distribute.split_cpu(2)` makes this machine's CPU appear as two devices, `/cpu:0` and `/cpu:1`, so that a strategy for several devices has something to distribute over. (Restart the kernel if you run it late; it says so.)

# %%
# Setup. Where course_lib is missing (Colab, or a kernel outside the course's environment) this
# installs it once and keeps the TensorFlow already there; after `make lab` it does nothing.
import glob
import importlib.util
import os
import subprocess
import sys

COURSE_REPO = os.environ.get("COURSE_REPO_URL", "https://github.com/recurrent-course/rnn-keras3")
COURSE_REF = os.environ.get("COURSE_REF", "main")
if importlib.util.find_spec("course_lib") is None:
    wheels = sorted(glob.glob("course_lib-*.whl"))  # an uploaded wheel wins
    source = wheels[-1] if wheels else f"git+{COURSE_REPO}@{COURSE_REF}"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", source],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        reason = (pip.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(
            f"course_lib could not be installed from {source} ({reason}).\n"
            "Fix: working from a fork? Run `%env COURSE_REPO_URL=https://github.com/<you>/<fork>`"
            " and run this cell again. Offline or no repository? Upload the wheel"
            " course_lib-<version>-py3-none-any.whl to the Files pane and run this cell again.")
    importlib.invalidate_caches()

from course_lib import distribute

DEVICES = distribute.split_cpu(2)  # before anything else touches TensorFlow

import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from course_lib import (checks, comparison, data, metrics, models, optimizers, runtime,
                        serving, text)

tf.get_logger().setLevel("WARNING")  # tf.distribute and the exporter narrate at INFO level
PROFILE = runtime.setup(seed=42)
print("logical CPU devices:", [d.name for d in tf.config.list_logical_devices("CPU")])

# %%
CONFIG = {
    "fast": dict(lm_chars=300_000, lm_units=128, lm_steps=300, pipeline_steps=40,
                 stream_tokens=64, latency_tokens=200),
    "full": dict(lm_chars=None, lm_units=256, lm_steps=2000, pipeline_steps=100,
                 stream_tokens=256, latency_tokens=1000),
}[PROFILE]
print(CONFIG)

# %% [markdown]
# ## 1 · Input pipelines: is the model waiting for data?
#
# A training step can only be as fast as its input. `tf.data` offers three tools, and each attacks a different cost:
#
# - **vectorised `map`**: transform a whole batch per call instead of one example (batch first, then map), so Python and op overhead is paid once per batch;
# - **`cache()`**: keep the transformed examples in memory after the first epoch, so the work is done once;
# - **`prefetch()`**: prepare the next batch while the model trains on this one, so input and training overlap.
#
# The char LM's input starts as raw text. The naive pipeline splits each 129-character window into characters and looks them up one window at a time; the tuned one batches first, maps once per batch, caches the ids and prefetches. The same LSTM trains on both for the same number of steps.

# %%
corpus = data.load_tiny_shakespeare()
vocab = text.char_vocabulary(corpus.train)
train_text = corpus.train[: CONFIG["lm_chars"]]
WINDOW, BATCH = 128, 64
windows = np.array([train_text[i:i + WINDOW + 1]
                    for i in range(0, len(train_text) - WINDOW - 1, WINDOW)])
lookup = keras.layers.StringLookup(vocabulary=list(vocab.tokens[2:]), num_oov_indices=0)
OFFSET = 2  # the course's vocabularies reserve ids 0 and 1 (padding, unknown)

def encode(window):
    """Raw strings (...,) -> (inputs, targets) ids (..., WINDOW)."""
    ids = tf.cast(lookup(tf.strings.unicode_split(window, "UTF-8")), tf.int32) + OFFSET
    if isinstance(ids, tf.RaggedTensor):
        ids = ids.to_tensor()
    return ids[..., :-1], ids[..., 1:]

def naive_pipeline():
    return (tf.data.Dataset.from_tensor_slices(windows).map(encode).batch(BATCH).repeat())

def tuned_pipeline():
    return (tf.data.Dataset.from_tensor_slices(windows).batch(BATCH)
            .map(encode, num_parallel_calls=tf.data.AUTOTUNE).cache().repeat()
            .prefetch(tf.data.AUTOTUNE))

def batches_per_second(dataset, batches=200):
    iterator = iter(dataset)
    next(iterator)  # start the pipeline
    started = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches / (time.perf_counter() - started)

def train_steps_per_second(dataset, steps):
    keras.utils.set_random_seed(0)
    model = models.char_lm(len(vocab), CONFIG["lm_units"], cell="lstm")
    model.compile(optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)  # trace, warm up
    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return steps / (time.perf_counter() - started)

pipelines = {"naive": naive_pipeline(), "tuned": tuned_pipeline()}
sample_inputs, sample_targets = next(iter(pipelines["tuned"]))
assert np.array_equal(vocab.encode(windows[0][:WINDOW]), sample_inputs[0].numpy())
throughput = {name: dict(input=batches_per_second(pipeline),
                         training=train_steps_per_second(pipeline, CONFIG["pipeline_steps"]))
              for name, pipeline in pipelines.items()}
for name, row in throughput.items():
    print(f"{name:<6} pipeline alone: {row['input']:8.0f} batches/s   "
          f"training: {row['training']:5.1f} steps/s")
input_speedup = throughput["tuned"]["input"] / throughput["naive"]["input"]
training_speedup = throughput["tuned"]["training"] / throughput["naive"]["training"]
print(f"tuned / naive: input {input_speedup:.1f}x, training {training_speedup:.2f}x")
runtime.report("pipeline_input_speedup", input_speedup, digits=1)
assert input_speedup > 3, throughput
assert training_speedup < input_speedup / 4, throughput  # the model, not the input, limits

# %% [markdown]
# The tuned pipeline produces batches many times faster (fast profile: the ratio is printed). The training speed changes far less (the ratio is printed: between 0.8× and 1.6× in our runs, in either direction, which is this machine's timing noise), because on two CPU cores the LSTM step, not the input, is the bottleneck: the naive pipeline already produces batches several times faster than the model consumes them. And there is no idle core for `prefetch` and the parallel `map` to use: their threads compete with training for the same two cores. On a GPU the step becomes ten or a hundred times faster and the naive pipeline becomes the bottleneck: that is where the tuned version pays. The course's own `text.next_token_dataset` does the encoding once in NumPy and feeds ready id windows (like `cache`) with `prefetch`; notebook 05's bucketing by length (`text.padded_dataset`) is the other input-side saving the course uses.
#
# ## 2 · Data parallel on one machine: `MirroredStrategy`
#
# **Synchronous data parallelism** copies the model to every device (a *replica*), splits each **global batch** into per-replica batches, lets every replica compute the gradient of its share, sums the gradients across replicas (an *all-reduce*), and applies the same update everywhere. Done right, that is exactly one step of single-device training on the global batch. "Done right" hides one detail: each replica's loss must be divided by the **global** batch size, not by its own, so that the sum over replicas is the mean over the global batch (`tf.nn.compute_average_loss`).
#
# `distribute.train_data_parallel` trains one recipe (a GRU of 16 units on the 50-step adding problem, SGD, global batch 64, no shuffling) under any strategy, with the loop written around `strategy.run`. Here once on one device and once mirrored over the two logical CPUs:

# %%
single = distribute.train_data_parallel()
mirrored = distribute.train_data_parallel(tf.distribute.MirroredStrategy(DEVICES))
mirrored_gap = float(np.abs(mirrored.weights - single.weights).max())
print(f"one device: {single.replicas} replica; mirrored: {mirrored.replicas} replicas, "
      f"{len(single.losses)} steps each")
print(f"max |weight difference| = {mirrored_gap:.1e}; max |loss difference| = "
      f"{np.abs(mirrored.losses - single.losses).max():.1e}; "
      f"loss {single.losses[0]:.3f} -> {single.losses[-1]:.3f}")
assert mirrored.replicas == 2 and mirrored_gap < 1e-6, mirrored_gap

# %% [markdown]
# The weights after 24 steps agree to about $10^{-8}$: the only difference is the order in which float32 numbers were added (tolerance in the test suite: $10^{-6}$). On real GPUs the same code changes in three places, and none of them is in the model:
#
# - **the batch**: the global batch is split, so with 8 GPUs a global batch of 512 gives each one 64. Keep the per-replica batch large enough to fill a GPU and let the global batch grow with the number of replicas;
# - **the learning rate**: a larger global batch means fewer, less noisy steps per epoch. The usual starting point is to scale the rate with the global batch (Goyal et al., 2017, linear scaling with a warm-up; the course's `training.CosineWithWarmup`), then tune;
# - **the kernels**: every replica runs its own copy of the layer, so the LSTM/GRU rules of notebook 03 apply per replica: a cuDNN-eligible layer (check `runtime.cudnn_eligibility`) uses the fused kernel on every GPU.
#
# With `MirroredStrategy`, Keras' own `model.fit` works too: build and compile inside `with strategy.scope():` and call `fit` as usual.
#
# **Exercise 10.3 — the learning rate for a larger global batch.** Write `scaled_learning_rate(base_rate, base_batch, global_batch, step, warmup_steps)`: a recipe tuned at `base_batch` with `base_rate` moves to `global_batch`. Use the linear scaling rule (multiply the rate by `global_batch / base_batch`) and reach the scaled rate by a linear warm-up: at step 0 the base rate, rising in a straight line to the scaled rate at `warmup_steps`, constant from then on.

# %%
# EXERCISE ex_10_3
def scaled_learning_rate(base_rate, base_batch, global_batch, step, warmup_steps):
    # BEGIN SOLUTION
    target = base_rate * global_batch / base_batch
    if step < warmup_steps:
        return base_rate + (target - base_rate) * step / warmup_steps
    return target
    # END SOLUTION


# %%
checks.ex_10_3(scaled_learning_rate)

# %% [markdown]
# ## 3 · Several machines: `MultiWorkerMirroredStrategy` on localhost
#
# Across machines, each **worker** is a separate process, usually on its own machine, with its own replicas. They find each other through the environment variable `TF_CONFIG`: the same list of all workers' addresses for everyone, and each worker's own index (worker 0 is the *chief*, which also writes checkpoints). `distribute.run_workers(2)` starts two worker processes on this machine, on two free loopback ports, runs the same recipe in each and stops both at the end, even on a timeout:

# %%
print("worker 0's TF_CONFIG:", distribute.cluster_config([12345, 12346], 0))
workers = distribute.run_workers(2, timeout=150)
worker_gaps = [float(np.abs(run.weights - single.weights).max()) for run in workers]
print(f"{len(workers)} workers, {workers[0].replicas} replicas in sync; max |weight difference| "
      f"to one device: {max(worker_gaps):.1e}; training took {workers[0].seconds:.1f} s per "
      f"worker (one device: {single.seconds:.1f} s)")
assert all(run.replicas == 2 for run in workers) and max(worker_gaps) < 1e-6, worker_gaps

# %% [markdown]
# Two processes, talking over gRPC, reach the single-device weights to float32 rounding. (They are slower than one process here: they share two cores and synchronise 24 times over the network stack for a tiny model. The point is the equality, not the speed.)
#
# On **N machines** nothing in the training code changes. Each machine runs the same script with its own `TF_CONFIG`, e.g. on the second of three machines `{"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222", "10.0.0.3:2222"]}, "task": {"type": "worker", "index": 1}}`. Cluster managers write `TF_CONFIG` for you: on **Kubernetes**, Kubeflow's training operator (a `TFJob`) sets it in every worker pod; on **TPU pods**, `tf.distribute.TPUStrategy` plays the same role as the mirrored strategies (see the TensorFlow guide "Distributed training with TensorFlow" and "Multi-worker training with Keras").
#
# One Keras 3 caveat, found while building this notebook: with `MultiWorkerMirroredStrategy`, Keras 3's `model.fit` fails on the TensorFlow backend ("Attempt to convert a value (PerReplica…)", keras-team/keras#20585, open). A loop around `strategy.run`, as in `course_lib.distribute`, works. On the **JAX backend**, Keras 3 has its own API, `keras.distribution`: `DataParallel` for this section's data parallelism, and `ModelParallel` with a `DeviceMesh` and a `LayoutMap` to shard large weights across devices, with `model.fit` unchanged.
#
# **Exercise 10.1 — one replica's loss.** Write `replica_loss(errors, global_batch)`: `errors` are the squared errors of one replica's examples (its share of the global batch); return the loss that replica must report so that the replicas' gradients, summed, are the gradient of the mean loss over the global batch.

# %%
# EXERCISE ex_10_1
def replica_loss(errors, global_batch):
    # BEGIN SOLUTION
    return float(np.sum(errors) / global_batch)
    # END SOLUTION


# %%
checks.ex_10_1(replica_loss)

# %% [markdown]
# ## 4 · Mixed precision
#
# Under the `mixed_float16` policy, layers compute in float16 and keep their weights in float32. On GPUs with tensor cores (NVIDIA Volta and newer) float16 matrix products run several times faster and activations take half the memory; the float32 weights keep small updates from being rounded away. `bfloat16` (`mixed_bfloat16`, the TPU's and recent GPUs' format) has float32's range with fewer digits and needs no loss scaling.
#
# float16's problem is its range: the smallest positive float16 is about $6 \cdot 10^{-8}$, and small gradients underflow to 0. **Loss scaling** multiplies the loss by a large factor $S$ before the backward pass, so that gradients are $S$ times larger and stay representable, then divides them by $S$ before the update; Keras' `LossScaleOptimizer` (which `compile` adds by itself under `mixed_float16`) picks $S$ dynamically, lowering it when it sees an infinite gradient:

# %%
gradient = 2e-8
print(f"a gradient of {gradient:g} in float16: {float(np.float16(gradient))}; scaled by 2^15 "
      f"first: {float(np.float16(gradient * 2**15))} -> /2^15 = "
      f"{float(np.float16(gradient * 2**15)) / 2**15:.2e}")
assert np.float16(gradient) == 0 and np.float16(gradient * 2**15) != 0

keras.mixed_precision.set_global_policy("mixed_float16")
half_model = models.char_lm(len(vocab), CONFIG["lm_units"], cell="lstm")
half_model.compile(optimizers.Adam(1e-2),
                   keras.losses.SparseCategoricalCrossentropy(from_logits=True))
half_lstm = half_model.get_layer("rnn")
print(f"LSTM under mixed_float16: computes in {half_lstm.compute_dtype}, weights in "
      f"{half_lstm.variable_dtype}; optimizer {type(half_model.optimizer).__name__}")
print(runtime.cudnn_eligibility(half_lstm))
assert runtime.cudnn_eligibility(half_lstm).eligible
assert isinstance(half_model.optimizer, keras.optimizers.LossScaleOptimizer)

inputs = np.random.default_rng(0).normal(size=(32, 100, 32)).astype("float32")
half_cost = comparison.forward_backward_cost(keras.layers.LSTM(128, return_sequences=True),
                                             inputs, repeats=3)
keras.mixed_precision.set_global_policy("float32")
full_cost = comparison.forward_backward_cost(keras.layers.LSTM(128, return_sequences=True),
                                             inputs, repeats=3)
half_over_full = half_cost.seconds / full_cost.seconds
print(f"one forward + backward pass of an LSTM(128), T=100, batch 32, on this CPU: float32 "
      f"{full_cost.seconds * 1000:.0f} ms, mixed_float16 {half_cost.seconds * 1000:.0f} ms "
      f"({half_over_full:.1f}x)")
# never a real speed-up on a CPU; measured 0.9x-1.9x across the machines this course runs on
# (1.9x where TensorFlow uses oneDNN; 0.88x-1.6x in five runs on a CPU where it does not)
assert half_over_full > 0.7, half_over_full

# %% [markdown]
# On a CPU, mixed precision buys **no speed** (this run's ratio is printed; more than 0.7, asserted): TensorFlow's CPU kernels have no fast float16 path, and the casts between float16 and float32 cost extra. Across the machines this course was run on, the float16 pass took from about 0.9× to 1.9× the float32 one: 0.9× to 1.6× where TensorFlow runs its generic kernels, 1.9× where it uses oneDNN. The LSTM stays cuDNN-eligible under the policy (the report above checks the layer's arguments; the dtype is not among cuDNN's conditions), so on a GPU the fused kernel runs in float16. Use mixed precision on GPUs and TPUs, never as a CPU optimisation. (No GPU here, so no GPU timing; `make gpu-check` measures the cuDNN rows when one is available.)
#
# ## 5 · Shipping a streaming model
#
# A chat box, a keyboard or a live caption streams: one token arrives, the model updates, the next arrives. What a server or a phone needs from an RNN is therefore not the whole-sequence model but a **step**: one token and the state in, the next-token logits and the new state out. The caller keeps the state, a few hundred numbers per stream whatever its length. First a char LM to export, trained briefly (fast profile: few updates; the point here is the export, not the perplexity):

# %%
keras.utils.set_random_seed(0)
lm = models.char_lm(len(vocab), CONFIG["lm_units"], cell="lstm")
lm.compile(optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
lm_train = text.next_token_dataset(vocab.encode(train_text), WINDOW, BATCH, seed=0).repeat()
lm_val = text.next_token_dataset(vocab.encode(corpus.val), WINDOW, BATCH, shuffle=False)
lm.fit(lm_train, steps_per_epoch=CONFIG["lm_steps"], epochs=1, verbose=0, shuffle=False)
print(f"char LM: {lm.count_params():,} parameters, validation perplexity "
      f"{metrics.perplexity(lm.evaluate(lm_val, verbose=0)):.2f} after {CONFIG['lm_steps']} "
      "updates")

# %% [markdown]
# `serving.step_model` builds the step from the trained layers (shared, not copied); `serving.export_saved_model` writes it with `keras.export.ExportArchive` (the machinery behind `keras.Model.export`, here with one endpoint, `serve`, that takes the step's dictionary of inputs) as a SavedModel, the format TensorFlow Serving and most clouds load; `serving.to_tflite` converts that SavedModel to TensorFlow Lite, the format for phones and microcontrollers (run by the LiteRT interpreter where installed, else TensorFlow's own). The three must produce the same logits and states, token after token:

# %%
step = serving.step_model(lm)
print("step inputs:", {name: tuple(t.shape) for name, t in step.input.items()})
export_folder = Path(tempfile.mkdtemp(prefix="course_export_"))
saved_model = serving.export_saved_model(step, export_folder / "char_lm_step")
flatbuffer = serving.to_tflite(saved_model)

STREAMS = 4
units = CONFIG["lm_units"]
start_states = [np.zeros((STREAMS, units), np.float32) for _ in range(2)]
prompt = np.stack([vocab.encode(corpus.val[i * 500: i * 500 + CONFIG["stream_tokens"]])
                   for i in range(STREAMS)])
runners = {"Keras": serving.keras_runner(step),
           "SavedModel": serving.saved_model_runner(saved_model),
           "TFLite": serving.tflite_runner(flatbuffer, STREAMS)}
outputs = {name: serving.stream(run, prompt, start_states) for name, run in runners.items()}
whole_sequence = lm.predict(prompt, verbose=0)
gaps = {name: float(np.abs(logits - whole_sequence).max())
        for name, (logits, _) in outputs.items()}
for name, gap in gaps.items():
    print(f"{name:<11} max |logits - whole-sequence model| over {CONFIG['stream_tokens']} "
          f"tokens x {STREAMS} streams: {gap:.1e}")
assert max(gaps.values()) < 1e-4, gaps

# %% [markdown]
# All three agree with the whole-sequence model to float32 rounding (tolerance $10^{-4}$ on logits of order 10). Now what each costs, per token and on disk:

# %%
latency_tokens = np.stack([vocab.encode(corpus.val[i * 900: i * 900 + CONFIG["latency_tokens"]])
                           for i in range(STREAMS)])
latency = {name: serving.seconds_per_token(run, latency_tokens, start_states)
           for name, run in runners.items()}
sizes = {"Keras": lm.count_params() * 4, "SavedModel": serving.folder_bytes(saved_model),
         "TFLite": len(flatbuffer)}
print(f"{'format':<11}{'µs per token (4 streams)':>26}{'size':>12}")
for name in runners:
    print(f"{name:<11}{latency[name] * 1e6:>26.0f}{sizes[name] / 1024:>9.0f} KiB")
state_bytes = sum(s.nbytes for s in start_states) // STREAMS
print(f"state carried per stream: {state_bytes:,} bytes, whatever the stream's length")
runtime.report("tflite_us_per_token", latency["TFLite"] * 1e6, digits=0)
runtime.report("keras_us_per_token", latency["Keras"] * 1e6, digits=0)
assert latency["TFLite"] < latency["Keras"], latency

# %% [markdown]
# On this CPU the TFLite interpreter is the fastest of the three per token (numbers printed; "Keras" is the step compiled with `tf.function`, the way a TensorFlow program would call it). Most of the cost of a tiny step is fixed overhead per call, which TFLite's interpreter keeps smallest. The sizes are essentially the weights (float32, 4 bytes each); `tf.lite.Optimize.DEFAULT` would quantise them to 8 bits for about a quarter of the size, at a small cost in accuracy that would then need its own check. The state is the LSTM's $h$ and $c$: 1 KiB per stream, against notebook 07's transformer cache that grows with every token.
#
# Generating from the exported model is a loop around the step: feed a token, keep the state, pick the next token. `serving.greedy_continuation` reads a prompt into the state and then picks the most likely character each time; here from the TFLite model, and for comparison from Keras:

# %%
one_stream = serving.tflite_runner(flatbuffer, 1)
prompt_text = "ROMEO:\n"
one_state = [np.zeros((1, units), np.float32) for _ in range(2)]
continuation = serving.greedy_continuation(one_stream, vocab.encode(prompt_text)[None],
                                           one_state, 80)
print(prompt_text + vocab.decode(continuation[0]))
keras_continuation = serving.greedy_continuation(
    runners["Keras"], np.repeat(vocab.encode(prompt_text)[None], STREAMS, 0), start_states, 80)
assert np.array_equal(continuation[0], keras_continuation[0])

# %% [markdown]
# The same characters from TFLite and from Keras. Greedy decoding of a briefly trained model soon repeats itself; notebook 01 samples with a temperature instead. `step_model` exports Keras `SimpleRNN`, `LSTM` and `GRU` layers; for any other layer it stops with a message that says so (notebook 09's minimal layers have `step` methods of their own that a step model can call).
#
# **Exercise 10.2 — a streaming loop.** Write `greedy_stream(run, first_token, states, steps)`: `run(token, states) -> (logits, states)` is an exported step (batch-first arrays, states a list); starting from `first_token` (batch,) and `states`, generate `steps` tokens greedily, feeding each chosen token and the returned state back in. Return the generated tokens (batch, steps).

# %%
# EXERCISE ex_10_2
def greedy_stream(run, first_token, states, steps):
    # BEGIN SOLUTION
    token, generated = np.asarray(first_token), []
    for _ in range(steps):
        logits, states = run(token, states)
        token = np.argmax(logits, axis=-1)
        generated.append(token)
    return np.stack(generated, axis=1)
    # END SOLUTION


# %%
checks.ex_10_2(greedy_stream)

# %% [markdown]
# ## 6 · Summary
#
# - Vectorised `map`, `cache` and `prefetch` made the input pipeline many times faster; on two CPU cores training barely noticed, because the model was the bottleneck. Measure before tuning.
# - Synchronous data parallelism is single-device training on the global batch, if each replica divides its loss by the global batch; a larger global batch usually takes a linearly scaled learning rate, reached by a warm-up. `MirroredStrategy` over two devices and `MultiWorkerMirroredStrategy` over two processes reached the single-device weights to float32 rounding.
# - On real hardware: split the global batch, scale the learning rate with it (with warm-up), keep layers cuDNN-eligible per replica; `TF_CONFIG` is all that changes between localhost and N machines. In Keras 3, use a `strategy.run` loop for multi-worker training on TensorFlow, or `keras.distribution` on JAX.
# - Mixed precision: float16 compute, float32 weights, loss scaling against underflow. A GPU and TPU tool; slower on this CPU.
# - A recurrent model ships as a step with explicit state; Keras, SavedModel and TFLite gave the same logits, and TFLite was the fastest per token here.
#
# **Where next:** the full profile on a GPU (`make gpu-check`) measures what this notebook could only explain: cuDNN per replica, mixed-precision speed, and the input pipeline as a real bottleneck.
