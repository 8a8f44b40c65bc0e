# %% [markdown]
# # 09 · Modern recurrent networks: linear recurrences trained with a parallel scan
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recurrent-course/rnn-keras3/blob/main/notebooks/09_modern_recurrent.ipynb)
#
# **Learning goals**
# - say why an LSTM or GRU cannot be trained in parallel over time, and what changes when the gates depend on the input $x_t$ only;
# - derive the **associative scan** for $h_t = a_t \odot h_{t-1} + b_t$, implement its combine step, and check the parallel result against the sequential loop;
# - build minGRU, a diagonal linear RNN (LRU/S4D style) and a **selective** one (the idea of Mamba) as Keras layers that train in parallel and stream one token at a time;
# - measure training time against sequence length, sequential against parallel, and compare these layers with an LSTM and a transformer on a long-range task and on a character language model under one budget;
# - place LRU, S4/S5, Mamba, RWKV, xLSTM, Griffin and RetNet on one map: what is recurrent, what is parallel, how each trains.
#
# **Prerequisites:** notebooks 03–04 (LSTM, GRU, the forget-gate bias) and 07 (the transformer, equal budgets). · **Runtime:** about 2½ min on 2 CPU cores in the `fast` profile.

# %% [markdown]
# ## 0 · Setup

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

import time

import keras
import matplotlib.pyplot as plt
import numpy as np

from course_lib import (checks, comparison, contenders, data, metrics, minimal_rnn, models,
                        optimizers, plotting, runtime, scan, scratch, synthetic, text, training)

PROFILE = runtime.setup(seed=42)

# %%
CONFIG = {
    "fast": dict(lengths=(64, 256, 1024, 4096), scaling_batch=8, adding_length=200,
                 adding_examples=3200, adding_epochs=4, lm_chars=300_000, lm_steps=160,
                 lm_checks=4, lm_parameters=60_000),
    "full": dict(lengths=(64, 256, 1024, 4096, 16384), scaling_batch=8, adding_length=400,
                 adding_examples=10_000, adding_epochs=10, lm_chars=None, lm_steps=3000,
                 lm_checks=10, lm_parameters=400_000),
}[PROFILE]
print(CONFIG)

# %% [markdown]
# ## 1 · Why an LSTM cannot be parallelised over time
#
# Every recurrent layer of notebooks 01–05 computes its gates from the input **and the previous state**. The GRU of notebook 04, for instance:
#
# $$z_t = \sigma(x_t W_z + h_{t-1} U_z + b_z), \qquad \tilde h_t = \tanh\big(x_t W_h + (r_t \odot h_{t-1}) U_h + b_h\big), \qquad h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t .$$
#
# To know $z_t$ you need $h_{t-1}$, which needs $z_{t-1}$, which needs $h_{t-2}$... The $T$ steps form a chain, and no amount of hardware shortens it: a GPU with thousands of cores still runs $T$ dependent steps, each a small matrix product. That is why attention, which computes all positions at once, displaced recurrent networks for training on accelerators (notebook 07).
#
# Now drop $h_{t-1}$ from the gates and the tanh from the candidate. This is **minGRU** (Feng et al., 2024, "Were RNNs All We Needed?"):
#
# $$z_t = \sigma(x_t W_z + b_z), \qquad \tilde h_t = x_t W_h + b_h, \qquad h_t = \underbrace{(1 - z_t)}_{a_t} \odot h_{t-1} + \underbrace{z_t \odot \tilde h_t}_{b_t} .$$
#
# Now $a_t$ and $b_t$ come from the inputs alone, so all of them can be computed for every step at once, with one matrix product over the whole sequence. What remains sequential is a **linear** recurrence, $h_t = a_t \odot h_{t-1} + b_t$, and linear recurrences have a trick.
#
# ## 2 · The scan, derived
#
# Write one step as the pair $(a_t, b_t)$: "multiply the state by $a_t$, then add $b_t$". Two steps in a row are again one step of the same form:
#
# $$h_t = a_t \odot (a_{t-1} \odot h_{t-2} + b_{t-1}) + b_t = (a_{t-1} a_t) \odot h_{t-2} + (a_t \odot b_{t-1} + b_t).$$
#
# So define the **combine** of an earlier step $(a_1, b_1)$ and a later one $(a_2, b_2)$ as
#
# $$(a_1, b_1) \circ (a_2, b_2) = (a_1 a_2,\; a_2 b_1 + b_2).$$
#
# It is **associative**: $(p \circ q) \circ r = p \circ (q \circ r)$, so the composition of the first $t$ steps can be bracketed any way we like. (It is not commutative: the order of the steps matters.) With $h_0 = 0$, the state $h_t$ is the $b$ part of $(a_1, b_1) \circ \dots \circ (a_t, b_t)$: a **prefix scan**, like a cumulative sum, with $\circ$ in place of $+$.
#
# A prefix scan of an associative operator runs in $\lceil \log_2 T \rceil$ rounds (Hillis & Steele, 1986): in round $r$, every position combines its running pair with the one $2^r$ positions earlier. After round 1 each position holds the composition of its last 2 steps, after round 2 of its last 4, and so on. Each round is one elementwise operation over the whole (batch, time, units) tensor. The work grows to $O(T \log T)$, but the chain of dependent operations shrinks from $T$ to $\log_2 T$: 12 rounds instead of 4096 steps.
#
# First, associativity on random numbers:

# %%
rng = np.random.default_rng(0)
p, q, r = [(rng.uniform(0.1, 0.9, (2, 3)), rng.normal(size=(2, 3))) for _ in range(3)]
left = scan.combine(scan.combine(p, q), r)
right = scan.combine(p, scan.combine(q, r))
print("(p∘q)∘r == p∘(q∘r):", all(np.allclose(x, y) for x, y in zip(left, right, strict=True)))
print("p∘q == q∘p:        ", all(np.allclose(x, y) for x, y in
                               zip(scan.combine(p, q), scan.combine(q, p), strict=True)))
assert all(np.allclose(x, y) for x, y in zip(left, right, strict=True))

# %% [markdown]
# **Exercise 9.1 — the combine step.** Write `combine(earlier, later)`: each argument is a pair `(a, b)` of arrays of shape (batch, units); return the pair of the two steps applied one after the other, earlier first.

# %%
# EXERCISE ex_9_1
def combine(earlier, later):
    # BEGIN SOLUTION
    (a1, b1), (a2, b2) = earlier, later
    return a1 * a2, a2 * b1 + b2
    # END SOLUTION


# %%
checks.ex_9_1(combine)

# %% [markdown]
# `course_lib.scan.linear_recurrence` implements both paths with `keras.ops`: the Hillis–Steele scan (`parallel=True`) and a sequential `keras.ops.scan` over time (`parallel=False`). `scratch.linear_recurrence` is the plain NumPy loop. All three agree, on an odd shape, with and without an initial state:

# %%
rng = np.random.default_rng(1)
a = rng.uniform(0.5, 1.0, size=(3, 1001, 5)).astype("float32")
b = rng.normal(size=(3, 1001, 5)).astype("float32")
h0 = rng.normal(size=(3, 5)).astype("float32")
for initial in (None, h0):
    loop = scratch.linear_recurrence(a, b, initial)
    parallel = keras.ops.convert_to_numpy(scan.linear_recurrence(a, b, initial, parallel=True))
    sequential = keras.ops.convert_to_numpy(scan.linear_recurrence(a, b, initial,
                                                                   parallel=False))
    print(f"h0 {'given' if initial is not None else 'zero '}: |parallel - loop| = "
          f"{np.abs(parallel - loop).max():.1e}, |sequential - loop| = "
          f"{np.abs(sequential - loop).max():.1e}")
    assert np.allclose(parallel, loop, atol=1e-5) and np.allclose(sequential, loop, atol=1e-5)

# %% [markdown]
# ## 3 · Layers that train in parallel and stream one token at a time
#
# `course_lib.minimal_rnn` holds four such layers. Each computes $(a_t, b_t)$ for all steps from the input and hands them to the scan:
#
# | layer | $a_t$ (what is kept) | $b_t$ (what is written) | depends on the input? |
# |---|---|---|---|
# | `MinGRU` | $1 - z_t$, $z_t = \sigma(x_t W_z + b_z)$ | $z_t \odot (x_t W_h + b_h)$ | gate and candidate |
# | `MinLSTM` | $f_t / (f_t + i_t)$ | $i_t / (f_t + i_t) \odot (x_t W_h + b_h)$ | both gates and candidate |
# | `DiagonalRNN` | $\lambda = e^{-e^{\nu}}$, the same at every step | $\sqrt{1 - \lambda^2} \odot (x_t B + c)$ | candidate only (time-invariant) |
# | `SelectiveRNN` | $e^{-\Delta_t e^{\nu}}$, $\Delta_t = \mathrm{softplus}(x_t W_\Delta + b_\Delta)$ | $\Delta_t \odot (x_t B + c)$ | step size and candidate |
#
# The diagonal layer follows the LRU (Orvieto et al., 2023): a learnt decay per unit, kept inside (0, 1) by the parameterisation $\lambda = \exp(-\exp(\nu))$ whatever the optimiser does to $\nu$, and the input scaled by $\sqrt{1-\lambda^2}$ so that a unit with a long memory does not grow without bound. Its $a$ is the same at every step: it is **linear time-invariant**, like S4, and so it cannot decide, token by token, what to remember. The selective layer can: its step size $\Delta_t$ comes from the input. A large $\Delta_t$ forgets the state and writes the token, a small one keeps the state and ignores the token. That is the "selection" of Mamba (Gu & Dao, 2023), here with a diagonal state of one number per unit.
#
# At inference each layer has a `step(x_t, state)` method: one token in, the new state out, with a state of `units` numbers whatever the context length. Run step by step, it reproduces the parallel forward pass:

# %%
x_stream = np.random.default_rng(2).normal(size=(4, 300, 16)).astype("float32")
for layer_class in (minimal_rnn.MinGRU, minimal_rnn.MinLSTM, minimal_rnn.DiagonalRNN,
                    minimal_rnn.SelectiveRNN):
    keras.utils.set_random_seed(0)
    layer = layer_class(32)
    whole = keras.ops.convert_to_numpy(layer(x_stream))
    state = layer.get_initial_state(len(x_stream))
    streamed = []
    for t in range(x_stream.shape[1]):
        output, state = layer.step(x_stream[:, t], state)
        streamed.append(keras.ops.convert_to_numpy(output))
    gap = np.abs(np.stack(streamed, axis=1) - whole).max()
    print(f"{layer_class.__name__:<13} step-by-step vs parallel: max |difference| = {gap:.1e}, "
          f"state: {np.size(state) // len(x_stream)} numbers per stream")
    assert gap < 1e-4, (layer_class.__name__, gap)

# %% [markdown]
# **Exercise 9.2 — one minGRU step.** Write `min_gru_step(x_t, h_prev, kernel, bias)` in NumPy: `x_t` (batch, features), `h_prev` (batch, units), `kernel` (features, 2·units) holding $[W_z \mid W_h]$ side by side and `bias` (2·units,) likewise, the layout of `MinGRU`'s projection. Return $h_t$ (batch, units).

# %%
# EXERCISE ex_9_2
def min_gru_step(x_t, h_prev, kernel, bias):
    # BEGIN SOLUTION
    units = h_prev.shape[-1]
    projected = x_t @ kernel + bias
    z = 1 / (1 + np.exp(-projected[:, :units]))
    return (1 - z) * h_prev + z * projected[:, units:]
    # END SOLUTION


# %%
checks.ex_9_2(min_gru_step)

# %% [markdown]
# ## 4 · Long sequences: the log-space scan
#
# Over long sequences the products of gates become tiny. A state that keeps a fraction $a = 0.5$ per step has kept $0.5^{150} \approx 7 \cdot 10^{-46}$ of its start after 150 steps, below float32's smallest number, so it rounds to 0. That is harmless when the state only needs to be small. But minGRU's authors compute the scan in **log space** for a second reason: an input written very small (or very large) at one step must still be combined correctly with everything that follows. Working with $\log a_t$ and $\log b_t$ (for positive $a$, $b$), a product becomes a sum and a sum becomes a `logaddexp`:
#
# $$\log\big((a_1, b_1) \circ (a_2, b_2)\big) = \big(\log a_1 + \log a_2,\;\; \mathrm{logaddexp}(\log a_2 + \log b_1,\, \log b_2)\big).$$
#
# `scan.log_linear_recurrence` runs the same Hillis–Steele scan with this combine. Below, inputs of size $e^{-120}$, below float32's range, go through both scans; the plain one sees zeros, the log-space one matches the exact answer (computed in float64 after scaling the inputs up, which a linear recurrence allows):

# %%
rng = np.random.default_rng(3)
log_a = np.log(rng.uniform(0.5, 0.99, size=(2, 500, 4)))
log_b = rng.normal(-120.0, 2.0, size=(2, 500, 4))  # inputs of about e^-120
plain = keras.ops.convert_to_numpy(scan.linear_recurrence(
    np.exp(log_a).astype("float32"), np.exp(log_b).astype("float32")))
in_log_space = keras.ops.convert_to_numpy(scan.log_linear_recurrence(
    log_a.astype("float32"), log_b.astype("float32")))
# exact reference: h is linear in b, so scale b by e^120 into float64's comfortable range
reference = np.log(scratch.linear_recurrence(np.exp(log_a), np.exp(log_b + 120.0))) - 120.0
print(f"plain scan: {np.mean(plain == 0):.0%} of the states are exactly 0")
print(f"log-space scan: max |log h - reference| = {np.abs(in_log_space - reference).max():.1e}"
      f" (log h around {reference.mean():.0f})")
assert np.all(plain == 0) and np.abs(in_log_space - reference).max() < 1e-3

# %% [markdown]
# There is a second way to compute the same log-states, the one Heinsen (2023) proposed and minGRU's authors use: with $A_t = \sum_{s \le t} \log a_s$, unrolling gives $h_t = \sum_{s \le t} e^{A_t - A_s} b_s$, so $\log h_t = A_t + \log \sum_{s \le t} e^{\log b_s - A_s}$, a cumulative sum and a cumulative log-sum-exp.
#
# **Exercise 9.3 — the log-space trick.** Write `log_space_states(log_a, log_b)`: both (batch, time, units), $h_0 = 0$; return $\log h$ (batch, time, units), without ever computing $e^{\log a}$ or $e^{\log b}$ (in one check case the logs reach below −745, where exponentials underflow to 0 even in float64). `np.cumsum` and `np.logaddexp.accumulate` do it in two lines; a loop over time with `np.logaddexp` also works.

# %%
# EXERCISE ex_9_3
def log_space_states(log_a, log_b):
    # BEGIN SOLUTION
    cumulative = np.cumsum(log_a, axis=1)
    return cumulative + np.logaddexp.accumulate(log_b - cumulative, axis=1)
    # END SOLUTION


# %%
checks.ex_9_3(log_space_states)

# %% [markdown]
# ## 5 · Training time against sequence length: sequential against parallel
#
# The same `MinGRU` layer, 64 units, once with the parallel scan and once with the sequential one, and a Keras `LSTM` of the same width for reference: `comparison.scaling_curves` times one forward + backward pass (`tf.function`, no XLA) on random inputs of growing length and reads the peak memory of the pass from TensorFlow's allocator.

# %%
scaling = comparison.scaling_curves(
    {"minGRU, parallel scan": lambda: minimal_rnn.MinGRU(64, parallel=True),
     "minGRU, sequential scan": lambda: minimal_rnn.MinGRU(64, parallel=False),
     "Keras LSTM": lambda: keras.layers.LSTM(64, return_sequences=True)},
    CONFIG["lengths"], batch=CONFIG["scaling_batch"], features=32, repeats=2)
names = list(scaling)
print(f"{'T':>6}" + "".join(f"{name:>30}" for name in names) + f"{'sequential / parallel':>24}")
speedups = {}
for length in CONFIG["lengths"]:
    costs = [scaling[name][length] for name in names]
    speedups[length] = costs[1].seconds / costs[0].seconds
    memory = [f"{c.peak_bytes / 2**20:.1f} MiB" if c.peak_bytes is not None else "n/a"
              for c in costs]
    print(f"{length:>6}" + "".join(f"{c.seconds * 1000:>13.1f} ms {m:>12}"
                                   for c, m in zip(costs, memory, strict=True))
          + f"{speedups[length]:>23.2f}x")

# %%
seconds = {name: {n: c.seconds for n, c in curve.items()} for name, curve in scaling.items()}
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
plotting.plot_scaling(seconds, "seconds per forward + backward pass", ax=left,
                      title=f"time, batch {CONFIG['scaling_batch']} ({PROFILE})",
                      reference_slopes=(1,))
if all(c.peak_bytes is not None for curve in scaling.values() for c in curve.values()):
    mebibytes = {name: {n: c.peak_bytes / 2**20 for n, c in curve.items()}
                 for name, curve in scaling.items()}
    plotting.plot_scaling(mebibytes, "peak memory of the pass (MiB)", ax=right, title="memory",
                          reference_slopes=(1,))
fig.tight_layout()
plt.show()
shortest, longest = CONFIG["lengths"][0], CONFIG["lengths"][-1]
parallel_name, sequential_name = "minGRU, parallel scan", "minGRU, sequential scan"
lstm_over_parallel = seconds["Keras LSTM"][longest] / seconds[parallel_name][longest]
print(f"sequential / parallel: {speedups[shortest]:.2f}x at T={shortest}, "
      f"{speedups[longest]:.2f}x at T={longest}; the LSTM takes {lstm_over_parallel:.1f}x the "
      f"parallel minGRU's time at T={longest}")
for name in (parallel_name, sequential_name):
    per_step = {n: seconds[name][n] / n * 1e6 for n in CONFIG["lengths"]}
    print(f"{name}: " + ", ".join(f"{v:.0f} µs per step at T={n}" for n, v in per_step.items()))
if scaling[parallel_name][longest].peak_bytes is not None:
    memory_ratio = (scaling[parallel_name][longest].peak_bytes
                    / scaling[sequential_name][longest].peak_bytes)
    print(f"memory at T={longest}: the parallel scan needs {memory_ratio:.1f}x the sequential")
runtime.report("scan_speedup_longest", speedups[longest], digits=2)
cores = runtime.cpu_cores()
print(f"measured on {cores} CPU core{'s' * (cores != 1)}")
assert speedups[longest] > 2 and speedups[longest] > speedups[shortest], speedups
assert min(speedups.values()) > (1.2 if cores > 1 else 0.9), (cores, speedups)
assert lstm_over_parallel > 2, lstm_over_parallel

# %% [markdown]
# What the table shows on this CPU (fast profile; the numbers and the number of cores are printed above):
#
# - In this run the parallel scan is faster than the sequential one at **every** length. Two things make that gain: it does $\log_2 T$ large, vectorised operations instead of $T$ small ones, each of which pays a fixed overhead; and a large operation is split across the CPU's cores, where one small step of a loop cannot be. The second part counts even with two cores. Pinned to **one** core (as the test suite pins each of the two notebooks it runs side by side), the same machine gave about 1.0–1.2× at $T \le 256$, 1.4× at 1024 and 3× at 4096; with both of its cores, about 2× already at $T = 64$, as in the table above.
# - The advantage is larger at the longest length than at the shortest, in this run and in every run we made; in between, the ratio moves around rather than growing steadily (a ratio of two noisy timings). Most of the late gain comes from the sequential path getting *slower per step* at the longest length (the µs per step are printed), while the parallel path's time per step grows only slowly, like its $O(T \log T)$ work.
# - The Keras LSTM takes several times the parallel minGRU's time at the longest length: its gates need a matrix product with $h_{t-1}$ at every step. (At that length it beats minGRU's *sequential* path, which shows what a fused loop is worth.)
# - Memory is the price: the parallel scan keeps the intermediate pairs of every round for the backward pass, several times what the sequential path stores (the ratio is printed). Chunked scans and recomputation trade this back in practice.
#
# On a GPU the same code would show the parallel path's real advantage, since the rounds then run across thousands of cores; not measured here (this machine has no GPU).
#
# ## 6 · A long-range task where selectivity matters: the adding problem at $T = 200$
#
# Notebook 03's adding problem, now with 200 steps: two of the 200 values are marked and the target is their sum; the first marked value lies between 100 and 200 steps before the end. The score is the validation MSE divided by that of always predicting the mean (1 = learnt nothing). Five contenders get the same data, batches, number of updates and epochs; each is two layers of 32 units read at the last step (the LSTM has 16 units per layer, which puts its parameter count next to the others'). Adam, with the learning rates notebook 07's tuning chose per family (recurrent 1e-2, transformer 1e-3), compiled with XLA.
#
# One more setting matters, and it is the lesson of the LSTM's forget-gate bias (notebook 03). minGRU's update gate starts at $z = \sigma(0) = 0.5$, so at initialisation the state halves at every step and a value 100 steps back has weight $0.5^{100}$, nothing a gradient can use. A bias of $-3$ starts the gate at $z \approx 0.05$, and the retention over 100 steps becomes:

# %%
for bias in (0.0, -3.0):
    z = 1 / (1 + np.exp(-bias))
    print(f"update bias {bias:+.0f}: z = {z:.3f}, kept after 100 steps (1 - z)^100 = "
          f"{(1 - z) ** 100:.1e}")

# %%
T_ADD = CONFIG["adding_length"]
x_add, y_add = synthetic.adding_problem(CONFIG["adding_examples"], T_ADD, seed=0)
x_add_val, y_add_val = synthetic.adding_problem(1000, T_ADD, seed=100)
baseline_mse = float(np.mean((y_add_val - y_add_val.mean()) ** 2))
RATES = contenders.tuned_rates()
RECURRENT_RATE, TRANSFORMER_RATE = RATES["attention_rnn"], RATES["transformer"]
ADDING = {  # name: (mixer, width, options, learning rate)
    "minGRU (update bias -3)": ("min_gru", 32, dict(update_bias=-3.0), RECURRENT_RATE),
    "diagonal (LRU-style)": ("diagonal", 32, {}, RECURRENT_RATE),
    "selective (Mamba-style)": ("selective", 32, {}, RECURRENT_RATE),
    "LSTM": ("lstm", 16, {}, RECURRENT_RATE),
    "attention (no positions)": ("attention", 32, dict(heads=2), TRANSFORMER_RATE),
}

def train_adding(mixer, width, options, rate):
    """One contender on the adding problem; returns the model, relative MSE per epoch, seconds."""
    model = models.sequence_regressor(mixer, width, T_ADD, features=2, **options)
    model.compile(keras.optimizers.Adam(rate), "mse", jit_compile=True)
    started = time.perf_counter()
    history = model.fit(x_add, y_add, batch_size=32, epochs=CONFIG["adding_epochs"],
                        validation_data=(x_add_val, y_add_val), verbose=0)
    curve = [loss / baseline_mse for loss in history.history["val_loss"]]
    return model, curve, time.perf_counter() - started

adding = {}
for name, (mixer, width, options, rate) in ADDING.items():
    keras.utils.set_random_seed(0)
    model, curve, seconds_taken = train_adding(mixer, width, options, rate)
    adding[name] = dict(model=model, curve=curve, seconds=seconds_taken,
                        parameters=model.count_params())
print(f"{'contender':<26}{'parameters':>11}{'train s':>9}   relative MSE per epoch")
for name, result in adding.items():
    print(f"{name:<26}{result['parameters']:>11,}{result['seconds']:>9.1f}   "
          + " ".join(f"{v:.3f}" for v in result["curve"]))

# %%
final = {name: result["curve"][-1] for name, result in adding.items()}
for name in ("minGRU (update bias -3)", "selective (Mamba-style)", "diagonal (LRU-style)"):
    runtime.report(f"adding_T{T_ADD}_relative_mse_{ADDING[name][0]}", final[name])
assert final["minGRU (update bias -3)"] < 0.1, final
assert final["selective (Mamba-style)"] < 0.5, final
assert final["diagonal (LRU-style)"] > 0.9, final
assert final["LSTM"] > 0.9, final
assert final["attention (no positions)"] < 0.1, final

# %% [markdown]
# The results (fast profile, seed 0). A probe with seeds 1 and 2 and the same models, data and budget gave the same picture, and every statement below held on all three seeds:
#
# - **The diagonal layer learns nothing**, and cannot: its state is a fixed linear filter of the inputs, $h_T = \sum_t \lambda^{T-t} \gamma \odot (x_t B + c)$, and the target needs a *product*, value × marker. No choice of $\lambda$ and $B$ can pick out two values by their marks. Stacking two such layers does not help, since a linear function of a linear function is linear. S4 and the LRU get their non-linearity from the MLPs between layers, which this small model does not have.
# - **The selective layer learns it** (well below 0.5): $b_t = \Delta_t \odot (x_t B + c)$ multiplies the input by a step size computed *from* the input, so it can write a value only where the marker is set. This is selectivity in its smallest form.
# - **minGRU with a long-memory start solves it** (below 0.1) at a fraction of the LSTM's cost per update. Its gate $z_t$ plays the same role as $\Delta_t$.
# - **The LSTM has not started yet**: 400 updates are too few at $T = 200$ (notebook 03 needed 2,000 updates at $T = 100$). It would get there with more; this is a statement about the budget.
# - **Attention solves it too**, without positions: the task needs no order, only "find the marked values", which is what attention does. It also costs $T^2$ scores per layer.
#
# Streaming, the model is a recurrent one again. The trained minGRU, run one step at a time on a validation sequence, gives the same prediction as the parallel pass:

# %%
trained = adding["minGRU (update bias -3)"]["model"]
sequence = x_add_val[:8]
layer_inputs = sequence
for name in ("mix_0", "mix_1"):
    layer = trained.get_layer(name)
    state = layer.get_initial_state(len(sequence))
    outputs = []
    for t in range(T_ADD):
        output, state = layer.step(layer_inputs[:, t], state)
        outputs.append(output)
    layer_inputs = keras.ops.stack(outputs, axis=1)
streamed = keras.ops.convert_to_numpy(trained.get_layer("prediction")(layer_inputs[:, -1]))
parallel = trained.predict(sequence, verbose=0)
print(f"streamed vs parallel prediction: max |difference| = "
      f"{np.abs(streamed - parallel).max():.1e}; targets {np.round(y_add_val[:4], 3)}, "
      f"predictions {np.round(parallel[:4, 0], 3)}")
assert np.allclose(streamed, parallel, atol=1e-4)

# %% [markdown]
# ## 7 · Equal budget on language: Tiny Shakespeare, character by character
#
# Now a task with a lot of local structure and no single long-range dependency: the character language model of notebooks 01 and 03. For a fair comparison of the *mixers*, every contender is the same residual model (`models.residual_lm`): embedding, one block of "normalise, mix over time, add; normalise, MLP, add", a final norm and the logits. Only the mixer differs: LSTM, minGRU, the selective layer, or causal self-attention (with sinusoidal positions). `models.width_for_parameters` picks each one's width so that all have about the same number of parameters. Budget: the same windows of 128 characters, batches of 32, the same number of updates, learning rates as above.

# %%
corpus = data.load_tiny_shakespeare()
vocab = text.char_vocabulary(corpus.train)
train_ids = vocab.encode(corpus.train[: CONFIG["lm_chars"]])
val_ids = vocab.encode(corpus.val)
LM_LENGTH, LM_BATCH = 128, 32
val_ids = val_ids[: (len(val_ids) - 1) // (LM_LENGTH * 64) * LM_LENGTH * 64 + 1]  # full batches
train_windows = text.next_token_dataset(train_ids, LM_LENGTH, LM_BATCH, seed=0).repeat()
val_windows = text.next_token_dataset(val_ids, LM_LENGTH, 64, shuffle=False)
loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
MIXERS = {"LSTM": ("lstm", RECURRENT_RATE), "minGRU": ("min_gru", RECURRENT_RATE),
          "selective": ("selective", RECURRENT_RATE), "attention": ("attention", TRANSFORMER_RATE)}

def build_lm(mixer: str, width: int):
    return models.residual_lm(len(vocab), mixer, width, blocks=1, length=LM_LENGTH)

def train_lm(mixer: str, rate: float):
    """Same data, updates and evaluation for every mixer; returns the result row."""
    width = models.width_for_parameters(lambda w: build_lm(mixer, w), CONFIG["lm_parameters"])
    keras.utils.set_random_seed(0)
    model = build_lm(mixer, width)
    model.compile(optimizers.Adam(rate), loss, jit_compile=True)
    timer = training.EpochTimer()
    history = model.fit(train_windows, epochs=CONFIG["lm_checks"],
                        steps_per_epoch=CONFIG["lm_steps"] // CONFIG["lm_checks"],
                        validation_data=val_windows, callbacks=[timer], shuffle=False,
                        verbose=0)
    return dict(width=width, parameters=model.count_params(), seconds=sum(timer.seconds),
                perplexity=[metrics.perplexity(v) for v in history.history["val_loss"]])

lm = {name: train_lm(mixer, rate) for name, (mixer, rate) in MIXERS.items()}

# %% [markdown]
# The state a model must keep to predict the next character, per stream, after a context of $n$ characters: a recurrent mixer keeps its state ($h$, and $c$ for the LSTM: `width` or 2·`width` numbers per block) whatever $n$ is; causal attention keeps a key and a value for every earlier position (2·$n$·`width` per block), the KV cache of notebook 07.

# %%
def state_numbers(name: str, context: int) -> int:
    width = lm[name]["width"]
    return {"LSTM": 2 * width, "attention": 2 * context * width}.get(name, width)

print(f"{'mixer':<11}{'width':>6}{'parameters':>11}{'train s':>9}{'val perplexity':>16}"
      f"{'state @128':>12}{'state @4096':>13}")
for name, row in lm.items():
    print(f"{name:<11}{row['width']:>6}{row['parameters']:>11,}{row['seconds']:>9.1f}"
          f"{row['perplexity'][-1]:>16.2f}{state_numbers(name, 128):>12,}"
          f"{state_numbers(name, 4096):>13,}")
fig, ax = plt.subplots(figsize=(6, 3.5))
updates = np.arange(1, CONFIG["lm_checks"] + 1) * (CONFIG["lm_steps"] // CONFIG["lm_checks"])
for name, row in lm.items():
    ax.plot(updates, row["perplexity"], "o-", label=name)
ax.set(xlabel="updates", ylabel="validation perplexity", yscale="log",
       title=f"char LM, ~{CONFIG['lm_parameters'] // 1000}k parameters each ({PROFILE})")
ax.legend()
plt.show()

perplexity = {name: row["perplexity"][-1] for name, row in lm.items()}
for name, value in perplexity.items():
    runtime.report(f"char_lm_perplexity_{MIXERS[name][0]}", value, digits=2)
assert perplexity["LSTM"] < perplexity["minGRU"] < perplexity["selective"], perplexity
assert perplexity["minGRU"] < perplexity["attention"], perplexity

# %% [markdown]
# At this scale **the LSTM wins** on language (fast profile: the lowest perplexity of the four, table above), and we did not tune anything in its favour: same block, same parameters, same updates. minGRU comes second, ahead of the selective layer and of attention. A probe with seeds 1 and 2 gave the same order each time, with the LSTM's lead over minGRU smallest at seed 2 (8.66 against 8.91). Why:
#
# - a character LM is mostly local (spelling, the next few letters), and the LSTM's state-dependent gates are the most expressive way to model it per parameter; minGRU gave those up for parallel training, and the gap is the price;
# - the selective layer's one-number-per-unit state is the smallest of all, and attention, with positions to learn and no built-in notion of recency, needs more updates than 160 (notebook 07 found the same on dates);
# - the minimal layers' case is made at scale: on accelerators, with long sequences, with many layers, where parallel training lets them see far more data in the same time. Feng et al. (2024) and Gu & Dao (2023) report results at that scale; 160 updates on 2 CPU cores cannot reproduce them, and we do not claim it.
#
# What holds at every scale is the right-hand side of the table: the recurrent mixers stream with a state of fixed size, and attention's cache grows with the context (32 times larger at 4096 characters than at 128).
#
# ## 8 · A map of the family
#
# Every model below keeps a recurrence for inference; they differ in what the recurrence is and in how they avoid its $T$ sequential steps in training.
#
# | model | what is recurrent | does the recurrence depend on the input? | how it trains in parallel |
# |---|---|---|---|
# | **LSTM / GRU** (1997 / 2014) | vector state, gates from $x_t$ **and** $h_{t-1}$ | yes, and on the state | it does not: $T$ sequential steps (cuDNN fuses them, notebook 03) |
# | **S4** (Gu et al., 2022), S4D | structured (then diagonal) state matrix, time-invariant | no | as one long **convolution** whose kernel is computed from the state matrices (via FFT) |
# | **S5** (Smith et al., 2023) | diagonal multi-input state, time-invariant | no | **parallel scan** |
# | **LRU** (Orvieto et al., 2023) | complex diagonal, $\lambda = e^{-e^{\nu} + i\theta}$, normalised input | no | **parallel scan** |
# | **Mamba** (Gu & Dao, 2023) | diagonal state, $\Delta_t$, $B_t$, $C_t$ from the input (selective) | yes | **parallel scan** in a fused GPU kernel; no convolution, since it is not time-invariant |
# | **Mamba-2** (Dao & Gu, 2024) | scalar decay per head, matrix state | yes | **chunked**: attention-like matrix products within chunks, the recurrence between chunks ("state-space duality") |
# | **RetNet** (Sun et al., 2023) | matrix state with a fixed decay per head | no (decay fixed) | an **attention-like parallel form** with a decay mask; also chunkwise |
# | **RWKV** (Peng et al., 2023; RWKV-7 2025) | per-channel decaying sums (RWKV-4); a matrix state updated by a delta rule with input-dependent decay (RWKV-7) | yes (RWKV-6 on) | over whole sequences in training with custom kernels (the papers' "parallel" or GPT mode: RWKV-4's kernel loops over time per channel, later versions work in chunks), an RNN at inference |
# | **xLSTM mLSTM** (Beck et al., 2024) | matrix memory $C_t = f_t C_{t-1} + i_t v_t k_t^\top$, gates from $x_t$ | yes, not on the state | parallel (attention-like or chunkwise) |
# | **xLSTM sLSTM** | scalar memory with exponential gates **and recurrent connections** | yes, and on the state | it does not: sequential, like the LSTM |
# | **Griffin / Hawk** (De et al., 2024) | RG-LRU: a real diagonal recurrence with gates from $x_t$; Griffin adds local attention | yes | a scan; the authors' TPU kernel runs it as a fast *linear* (sequential, memory-bound) scan |
# | **minGRU / minLSTM** (Feng et al., 2024) | this notebook | yes, not on the state | **parallel scan**, in log space |
#
# Two lessons run through the table. First, *parallel in training* needs a recurrence that is linear in the state; everything that kept $h_{t-1}$ inside a non-linearity (LSTM, GRU, sLSTM) stayed sequential. Second, *time-invariant* recurrences (S4, RetNet) have even faster training forms (a convolution, a masked attention) but cannot select by content; the models that scaled best (Mamba, RWKV-7, Griffin) made the recurrence depend on the input again, as this notebook's selective layer does.
#
# To use one at scale in Keras: KerasHub ships RWKV-7 (`keras_hub.models.RWKV7Backbone` and `RWKV7CausalLM`, with pretrained presets), built on the same Keras 3 layers as this course.
#
# ## 9 · Summary
#
# - Gates that depend on $h_{t-1}$ make training sequential; gates from $x_t$ alone leave a **linear recurrence** $h_t = a_t \odot h_{t-1} + b_t$.
# - Its steps compose with the associative combine $(a_1, b_1) \circ (a_2, b_2) = (a_1 a_2, a_2 b_1 + b_2)$, so a **prefix scan** computes all states in $\lceil \log_2 T \rceil$ rounds (checked equal to the loop); in log space it also survives products and inputs beyond float32's range.
# - On this CPU the parallel scan beat the sequential one at every length measured (by most at the longest) and the LSTM by several times at the longest; memory is the price.
# - Selectivity matters: on the adding problem the time-invariant diagonal layer could not learn what the selective layer and minGRU learnt, and minGRU needed a long-memory initialisation, like the LSTM's forget-gate bias.
# - At small scale on characters, the LSTM still had the lowest perplexity; what the new layers keep at every scale is the RNN's fixed-size streaming state.
#
# **Where next:** notebook 10 trains beyond one device and exports a streaming model for serving.
