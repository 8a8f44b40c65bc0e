# %% [markdown]
# # 02 · Backpropagation through time, and why gradients vanish or explode
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recurrent-course/rnn-keras3/blob/main/notebooks/02_bptt_vanishing_gradients.ipynb)
#
# **Learning goals**
# - derive backpropagation through time (BPTT) for the vanilla RNN and implement it in NumPy;
# - *prove* the implementation right: against finite differences and against `tf.GradientTape` on `keras.layers.SimpleRNN`;
# - see the gradient of an early step shrink or grow geometrically with the spectral radius of the recurrent matrix, and why tanh does not prevent explosion (it only saturates once the states are large);
# - stop exploding gradients with clipping (`global_clipnorm`), and know what truncated BPTT costs and what it cannot learn;
# - watch a SimpleRNN learn a 10-step dependency and fail on a 100-step one.
#
# **Prerequisites:** notebook 01. · **Runtime:** about 2 min on 2 CPU cores in the `fast` profile.

# %% [markdown]
# ## 0 · Setup
# As in every notebook: install `course_lib` when missing (Colab), then seed, report the device and pick the profile.

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

import keras
import matplotlib.pyplot as plt
import numpy as np

from course_lib import checks, runtime, scratch, synthetic, training

PROFILE = runtime.setup(seed=42)

# %% [markdown]
# ## 1 · BPTT derived
#
# Notebook 01's forward pass, with the pre-activation named $a_t$:
#
# $$a_t = x_t W_{xh} + h_{t-1} W_{hh} + b, \qquad h_t = \tanh(a_t), \qquad t = 1 \dots T.$$
#
# A loss $L$ may look at any of the states (through a readout), giving a *direct* gradient $\partial L / \partial h_t$ at each step. But $h_t$ also feeds $h_{t+1}$, so the total gradient arriving at $h_t$ has two parts:
#
# $$\delta h_t = \frac{\partial L}{\partial h_t}\Big|_{\text{direct}} + \delta a_{t+1}\, W_{hh}^{\top}, \qquad \delta a_t = \delta h_t \odot (1 - h_t^2).$$
#
# Walking $t = T, T-1, \dots, 1$ once computes all of them, and each step's share of the weight gradients:
#
# $$\frac{\partial L}{\partial W_{xh}} = \sum_t x_t^{\top} \delta a_t, \quad \frac{\partial L}{\partial W_{hh}} = \sum_t h_{t-1}^{\top} \delta a_t, \quad \frac{\partial L}{\partial b} = \sum_t \delta a_t, \quad \frac{\partial L}{\partial x_t} = \delta a_t W_{xh}^{\top}, \quad \frac{\partial L}{\partial h_0} = \delta a_1 W_{hh}^{\top}.$$
#
# Unrolling the recursion shows where trouble comes from. The gradient that a loss at step $T$ sends back to step $t$ is a **product of Jacobians**:
#
# $$\frac{\partial h_T}{\partial h_t} = \prod_{s=t+1}^{T} \frac{\partial h_s}{\partial h_{s-1}}, \qquad \frac{\partial h_s}{\partial h_{s-1}} = \operatorname{diag}(1 - h_s^2)\, W_{hh}^{\top}.$$
#
# $T - t$ factors of the same matrix (times a diagonal with entries in $(0, 1]$): if they shrink vectors, the product vanishes geometrically; if they stretch them, it explodes. `course_lib.scratch.rnn_backward` implements exactly the sweep above (look at its source: it is the four lines of the first equation in a loop).

# %% [markdown]
# ## 2 · Gradient check: is the implementation right?
#
# Two independent references:
#
# 1. **Central differences** in float64: nudge each weight by $\pm\varepsilon$ and measure the change of the loss. Slow (two forward passes per number) but needs no calculus at all.
# 2. **`tf.GradientTape`** on `keras.layers.SimpleRNN` holding the same weights, in float32: TensorFlow's automatic differentiation of Keras' own layer.
#
# The loss is $L = \sum_t \sum_j G_{tj}\, h_{tj}$ for a fixed random $G$, so that every step receives a direct gradient. Agreement is measured by the relative error $\max|a-b| / \max(|a|+|b|)$.

# %%
rng = np.random.default_rng(0)
batch, time_steps, features, units = 3, 8, 4, 5
x = rng.normal(size=(batch, time_steps, features))
h0 = rng.normal(size=(batch, units))
kernel = rng.normal(scale=0.5, size=(features, units))
recurrent_kernel = rng.normal(scale=0.5, size=(units, units))
bias = rng.normal(scale=0.1, size=units)
upstream = rng.normal(size=(batch, time_steps, units))          # G: dL/dh_t, direct part

def loss() -> float:
    return float(np.sum(upstream * scratch.rnn_forward(x, h0, kernel, recurrent_kernel, bias)))

states = scratch.rnn_forward(x, h0, kernel, recurrent_kernel, bias)
grads = scratch.rnn_backward(upstream, x, h0, states, kernel, recurrent_kernel)

finite_difference_errors = {
    name: scratch.relative_error(getattr(grads, name), scratch.numerical_gradient(loss, array))
    for name, array in [("kernel", kernel), ("recurrent_kernel", recurrent_kernel),
                        ("bias", bias), ("x", x), ("h0", h0)]}
for name, error in finite_difference_errors.items():
    print(f"BPTT vs central differences (float64), d{name:<17} relative error {error:.1e}")
assert max(finite_difference_errors.values()) < 1e-6

# %%
import tensorflow as tf  # only for GradientTape: Keras has no public equivalent

keras_rnn = keras.layers.SimpleRNN(units, return_sequences=True)
keras_rnn.build((None, None, features))
keras_rnn.set_weights([kernel, recurrent_kernel, bias])                 # stored as float32
x_var, h0_var = tf.Variable(x.astype("float32")), tf.Variable(h0.astype("float32"))
with tf.GradientTape() as tape:
    keras_loss = tf.reduce_sum(upstream.astype("float32") * keras_rnn(x_var, initial_state=h0_var))
tape_grads = tape.gradient(keras_loss, [*keras_rnn.trainable_weights, x_var, h0_var])

ours = [grads.kernel, grads.recurrent_kernel, grads.bias, grads.x, grads.h0]
tape_errors = [scratch.relative_error(a, b.numpy()) for a, b in zip(ours, tape_grads, strict=True)]
print("BPTT vs tf.GradientTape on SimpleRNN (float32), relative errors:",
      ", ".join(f"{e:.1e}" for e in tape_errors))
assert max(tape_errors) < 1e-5

# %% [markdown]
# Float64 finite differences agree to about $10^{-10}$, and Keras' float32 autodiff to about $10^{-7}$, which is float32 rounding. Both are far below the thresholds, so the NumPy BPTT is right, and we can trust it to *measure* gradients in the next sections.
#
# ## 3 · Vanishing and exploding: the gradient norm per time step
#
# Put the loss at the last step only, $L = \sum_j h_{Tj}$, and measure $\lVert \partial L / \partial h_t \rVert$ for every $t$ (`scratch.last_step_gradient_norms`). We fix one random recurrent matrix and rescale it to several **spectral radii** $\rho$ (largest $|\text{eigenvalue}|$), for $T = 50$ steps, with tanh and with the identity (linear) activation.

# %%
T, units, features, batch = 50, 32, 4, 16
rng = np.random.default_rng(1)
x = rng.normal(size=(batch, T, features))
kernel = rng.normal(scale=features ** -0.5, size=(features, units))
base_matrix = rng.normal(size=(units, units))
radii = (0.5, 0.9, 1.0, 1.1, 1.5)

norms = {(activation, radius): scratch.last_step_gradient_norms(
             x, kernel, scratch.scale_to_spectral_radius(base_matrix, radius), np.zeros(units),
             activation)
         for activation in ("tanh", "linear") for radius in radii}

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
for ax, activation in zip(axes, ("tanh", "linear"), strict=True):
    for radius in radii:
        ax.semilogy(range(1, T + 1), norms[activation, radius], label=f"ρ = {radius}")
    ax.set(title=f"{activation} activation", xlabel="time step t (loss at t = 50)",
           ylabel="‖∂L/∂h_t‖ (log scale)")
    ax.grid(alpha=0.3, which="both")
axes[1].legend(title="spectral radius")
plt.tight_layout()
plt.show()

# %%
ratio = {key: values[0] / values[-1] for key, values in norms.items()}
print("norm at step 1 / norm at step 50:")
for activation in ("tanh", "linear"):
    print(f"  {activation:>6}: " + "  ".join(f"ρ={r}: {ratio[activation, r]:.1e}" for r in radii))
assert ratio["tanh", 0.5] < 1e-3, "radius 0.5 should make the early gradient vanish"
assert ratio["linear", 1.5] > 1e3, "radius 1.5 without a squashing activation should explode"

# %% [markdown]
# What the plot says:
#
# - **Linear activation**: the norm changes by roughly a factor $\rho$ per step, so over 49 steps $\rho = 0.5$ gives about $10^{-15}$ and $\rho = 1.5$ about $10^{8}$. Only $\rho \approx 1$ keeps it in range, and only for this one matrix.
# - **tanh**: the derivative $1 - h^2 \le 1$ can only shrink the product, so for small $\rho$ the gradient vanishes even faster than in the linear case. For large $\rho$ it depends on the states. Here the inputs drive them into saturation ($|h| \to 1$, derivative $\to 0$), and the gradient vanishes after all. But tanh does not rule out explosion: while the states stay small, $\tanh$ is nearly the identity and the product grows like $\rho^{T}$. Pascanu, Mikolov & Bengio (2013) show that $\rho > 1/\gamma$ is *necessary* for exploding gradients, where $\gamma$ bounds the activation's derivative; for tanh $\gamma = 1$, so any $\rho > 1$ can explode. The next cell shows it.

# %%
# The same tanh RNN with radius 1.5, fed inputs 10^12 times smaller: the states stay in tanh's
# near-linear range, and the gradient explodes as in the linear case.
small_x = x * 1e-12
small_states = scratch.rnn_forward(small_x, None, kernel,
                                   scratch.scale_to_spectral_radius(base_matrix, 1.5),
                                   np.zeros(units))
small_norms = scratch.last_step_gradient_norms(
    small_x, kernel, scratch.scale_to_spectral_radius(base_matrix, 1.5), np.zeros(units), "tanh")
near_linear_ratio = small_norms[0] / small_norms[-1]
print(f"tanh, ρ = 1.5, inputs x 1e-12: largest |h| {np.abs(small_states).max():.1e}; "
      f"norm at step 1 / norm at step 50 = {near_linear_ratio:.1e} "
      f"(linear: {ratio['linear', 1.5]:.1e}; tanh on the ordinary inputs: "
      f"{ratio['tanh', 1.5]:.1e})")
assert np.abs(small_states).max() < 0.05, "the states should stay in tanh's near-linear range"
assert near_linear_ratio > 1e3, "a tanh RNN with radius 1.5 and small states should explode"

# %% [markdown]
# What does such a gradient do to training? Take one plain gradient-descent step (learning rate 0.01) on $L = \sum_j h_{Tj}$ for this tanh RNN, once with the raw gradient and once after clipping its global norm (over kernel, recurrent kernel and bias together) to 1, the rule of section 4. Then run the network again and look at its states and at the gradient that reaches step 1:

# %%
recurrent_15 = scratch.scale_to_spectral_radius(base_matrix, 1.5)
loss_at_last_step = np.zeros_like(small_states)
loss_at_last_step[:, -1] = 1.0  # dL/dh_T for L = sum of h_T
raw = scratch.rnn_backward(loss_at_last_step, small_x, None, small_states, kernel, recurrent_15)
gradient = (raw.kernel, raw.recurrent_kernel, raw.bias)
global_norm = float(np.sqrt(sum(np.sum(g ** 2) for g in gradient)))

def after_one_step(clip_norm: float | None) -> tuple[float, float]:
    """(share of saturated states |h| > 0.99, gradient norm reaching step 1) after one step."""
    scale = 1.0 if clip_norm is None else min(1.0, clip_norm / global_norm)
    weights = [w - 0.01 * scale * g for w, g in zip((kernel, recurrent_15, np.zeros(units)),
                                                     gradient, strict=True)]
    states = scratch.rnn_forward(small_x, None, *weights)
    return float(np.mean(np.abs(states) > 0.99)), float(
        scratch.last_step_gradient_norms(small_x, *weights, "tanh")[0])

before_step = float(small_norms[0])
step_results = {"with the raw gradient": after_one_step(None),
                "clipped to norm 1": after_one_step(1.0)}
print(f"global gradient norm {global_norm:.1e}, so the raw step has norm {0.01 * global_norm:.1e} "
      f"and the clipped one 0.01; gradient reaching step 1 before the step {before_step:.1e}")
for name, (saturated, reach) in step_results.items():
    print(f"after one step {name:<21}: {saturated:6.1%} of the states saturated, "
          f"gradient reaching step 1 {reach:.1e}")
(saturated_raw, reach_raw), (saturated_clip, reach_clip) = step_results.values()
assert global_norm > 1e3, "the exploding gradient should be huge"
assert saturated_raw > 0.9 and reach_raw < 1e-6, "one raw step kills the network"
assert saturated_clip < 0.01 and reach_clip > 1.0, "a clipped step leaves it trainable"

# %% [markdown]
# The unclipped step is enormous (its norm is printed), mostly along the bias. Every state lands at ±1, where tanh's derivative is zero, and no gradient flows any more: one update has killed the network, and saturation has turned the exploding gradient into a vanished one. Clipped, the step has norm 0.01, almost no state saturates, and a gradient still reaches step 1. It is smaller than before the step, because the states have left the tiny near-linear regime, but the network can go on learning. So tanh does not prevent explosion, and clipping protects a tanh network just as it protects an unbounded one (section 4 trains a ReLU network with and without it).
#
# Either way, the signal that step 50 sends back to step 1 is off by many orders of magnitude. A weight update driven by it cannot learn that step 1 mattered. Section 6 shows this on a real training run.
#
# ## 4 · Exploding gradients in training, and clipping
#
# Exploding gradients are not only a property of random matrices. An RNN with ReLU activation and identity-initialised recurrent weights (the "IRNN" recipe) is a popular way to fight *vanishing* gradients, but it makes the forward pass and the gradients grow with the sequence length. With plain SGD at a learning rate of 0.03, one large gradient throws the weights far away. **Clipping** rescales the gradient whenever its global norm (over all weights together) exceeds a limit; in Keras it is one optimizer argument, `global_clipnorm` (or `clipnorm`, per weight tensor).
#
# We train the same seeded model twice on the adding problem (sum the two marked numbers of a 20-step sequence; predicting the mean gives MSE ≈ 0.167), with and without `global_clipnorm=1.0`, and log the gradient norm on a fixed probe batch every 5 steps with `course_lib.training.GradientNormLogger`.

# %%
CONFIG = {"fast": dict(clip_examples=2000, clip_epochs=6, adding_examples=4000, adding_epochs=10,
                       echo_iterations=300),
          "full": dict(clip_examples=8000, clip_epochs=15, adding_examples=20000, adding_epochs=30,
                       echo_iterations=800)}[PROFILE]
ADDING_BASELINE_MSE = 1 / 6  # predicting the mean, 1.0, for the sum of two uniforms

x_add, y_add = synthetic.adding_problem(CONFIG["clip_examples"], 20, seed=0)

def train_irnn(clip: bool):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((20, 2)),
        keras.layers.SimpleRNN(32, activation="relu",
                               recurrent_initializer=keras.initializers.Identity()),
        keras.layers.Dense(1)])
    optimizer = keras.optimizers.SGD(0.03, global_clipnorm=1.0 if clip else None)
    # one step per call, so that the logger can measure between steps
    model.compile(optimizer, "mse", **training.fast_settings(model, steps_per_execution=1))
    logger = training.GradientNormLogger(x_add[:64], y_add[:64], every=5)
    history = model.fit(x_add, y_add, epochs=CONFIG["clip_epochs"], batch_size=32, verbose=0,
                        callbacks=[logger, training.ProgressLine()])
    return history.history["loss"], logger

runs = {"no clipping": train_irnn(clip=False), "global_clipnorm=1.0": train_irnn(clip=True)}
for name, (losses, _) in runs.items():
    print(f"{name:>20}: loss per epoch " + ", ".join(f"{v:.3g}" for v in losses))

# %%
fig, (ax_loss, ax_norm) = plt.subplots(1, 2, figsize=(11, 3.8))
for name, (losses, logger) in runs.items():
    ax_loss.semilogy(range(1, len(losses) + 1), losses, "o-", label=name)
    ax_norm.semilogy(logger.steps, logger.norms, label=name)
ax_loss.axhline(ADDING_BASELINE_MSE, ls="--", c="gray", label="predict the mean")
ax_loss.set(title="training loss", xlabel="epoch", ylabel="MSE (log scale)")
ax_norm.set(title="gradient norm on a probe batch", xlabel="training step",
            ylabel="global gradient norm (log scale)")
for ax in (ax_loss, ax_norm):
    ax.grid(alpha=0.3, which="both")
    ax.legend()
plt.tight_layout()
plt.show()

(loss_free, log_free), (loss_clip, log_clip) = runs["no clipping"], runs["global_clipnorm=1.0"]
print(f"worst epoch loss: {max(loss_free):.3g} without clipping, {max(loss_clip):.3g} with")
print(f"probe gradient norm without clipping: first {log_free.norms[0]:.3g}, "
      f"last {log_free.norms[-1]:.2g}; with clipping: between {min(log_clip.norms):.2g} "
      f"and {max(log_clip.norms):.3g}")
print(f"final loss: {loss_free[-1]:.3f} without clipping, {loss_clip[-1]:.3f} with "
      f"(predicting the mean: {ADDING_BASELINE_MSE:.3f})")
runtime.report("exploding_final_mse_clipped", loss_clip[-1])
# "blew up": a loss 1000x the clipped run's worst, or no longer a number at all (the full
# profile's longer epochs overflow to NaN within the first one)
blew_up = not np.all(np.isfinite(loss_free)) or max(loss_free) > 1e3 * max(loss_clip)
assert blew_up, "the unclipped run should blow up"
assert loss_clip[-1] < ADDING_BASELINE_MSE and not loss_free[-1] < ADDING_BASELINE_MSE, \
    "only the clipped run should learn"

# %% [markdown]
# In the `fast` profile the unclipped run's first-epoch loss is in the tens of millions, with a probe gradient norm in the thousands. The weights survive the blow-up but settle on a nearly constant prediction: the loss stays at about 0.176, just above the baseline, and the gradient norm drops to about 0.2 (printed above: the last probe norm), since a flat model gets flat gradients. The clipped run never exceeds a loss of about 0.4 and keeps improving below the baseline. Its probe gradient norm still ranges from below 1 to over 100, often far above the limit of 1. Clipping does not make the model's gradients small; it bounds the *step* the optimizer takes along them.
#
# ## 5 · Truncated BPTT: two ways to cut the gradient, and what each can reach
#
# Full BPTT sends every step's gradient all the way back to $t = 1$, and it has to keep all $T$ states for the backward pass. **Truncated BPTT** stops the gradient after a window of $k$ steps. There are two ways to do that, and they differ in cost and in reach:
#
# - **Chunked truncation** (`rnn_backward(..., chunk=k)`): cut the sequence into chunks of $k$ steps, carry the *state* from one chunk into the next, but not its gradient. This is what stateful training on windows of $k$ steps does (notebook 03), and what most texts mean by truncated BPTT. It costs one backward sweep, like full BPTT, and needs only one chunk's states in memory: $O(k)$ instead of $O(T)$, the reason to use it. Its reach is **uneven**: the loss at the $j$-th step of a chunk reaches back only $j$ steps (to the chunk's start), so the last step sees $k$ steps and the first sees only itself.
# - **Per-loss BPTT($k$)** (`rnn_backward(..., truncate=k)`): the loss at *every* step walks back exactly $k$ steps. Every position gets the same reach, but the loss at each step needs its own walk, so the cost is about $T \cdot k$ matrix products instead of $T$: dearer than full BPTT, not cheaper. It is used for online learning, where a stream never ends and only the last $k$ states are kept.
#
# First the cost of one backward pass for $T = 64$, as a function of $k$. Past a small fixed overhead, per-loss BPTT($k$) grows about linearly with $k$ (in theory $\times 8$ from $k = 4$ to $k = 32$; we assert at least $\times 3$ so that a busy machine does not fail the test), while the chunked variant costs about one full sweep whatever $k$:

# %%
import time

rng = np.random.default_rng(2)
T, units = 64, 32
x_long = rng.normal(size=(32, T, 4))
kernel_long = rng.normal(scale=0.5, size=(4, units))
recurrent_long = rng.normal(scale=units ** -0.5, size=(units, units))
states_long = scratch.rnn_forward(x_long, None, kernel_long, recurrent_long, np.zeros(units))
upstream_long = rng.normal(size=states_long.shape)

def backward_seconds(**cut) -> float:
    """Fastest of 7 runs: the least disturbed by whatever else the machine is doing."""
    timings = []
    for _ in range(7):
        start = time.perf_counter()
        scratch.rnn_backward(upstream_long, x_long, None, states_long, kernel_long,
                             recurrent_long, **cut)
        timings.append(time.perf_counter() - start)
    return min(timings)

windows = [1, 2, 4, 8, 16, 32]
seconds = {k: backward_seconds(truncate=k) for k in windows}
chunked_seconds = {k: backward_seconds(chunk=k) for k in windows}
full_seconds = backward_seconds()
print(f"{'k':>3}{'per-loss BPTT(k)':>26}{'chunked, chunks of k':>30}")
for k in windows:
    print(f"{k:>3}{1e3 * seconds[k]:>9.1f} ms = {seconds[k] / full_seconds:4.1f} x full"
          f"{1e3 * chunked_seconds[k]:>13.1f} ms = {chunked_seconds[k] / full_seconds:4.1f} x full")
print(f"full BPTT: {1e3 * full_seconds:.1f} ms; per-loss BPTT(32) / BPTT(1) = "
      f"{seconds[32] / seconds[1]:.1f}")
# 32x the work of BPTT(1); asserted with a wide margin because timings on a shared 2-core
# machine are noisy
assert seconds[32] > 3 * seconds[1], "BPTT(k) with a loss at every step should cost ~ k"
assert chunked_seconds[32] < seconds[32] / 3, "chunked truncation costs one sweep, not T * k"

# %% [markdown]
# Now the reach. The **delayed echo** task (`synthetic.delayed_echo`) asks the network to output, at step $t$, the ±1 input it saw at step $t - 8$; predicting 0 gives MSE 1. We train a 24-unit tanh RNN plus a linear readout *in NumPy* with our own BPTT and a few lines of Adam, once per window $k$. The loss at step $t$ can only reach the inputs $x_{t-k+1} \dots x_t$, so the echo's input is within reach only when $k \ge 9$.

# %%
DELAY, T_ECHO, ECHO_UNITS = 8, 40, 24
x_echo, y_echo = synthetic.delayed_echo(128, T_ECHO, DELAY, seed=0)
x_echo_val, y_echo_val = synthetic.delayed_echo(512, T_ECHO, DELAY, seed=1)

def init_echo_model(seed=0) -> dict:
    rng = np.random.default_rng(seed)
    return {"kernel": rng.normal(size=(1, ECHO_UNITS)),
            "recurrent_kernel": rng.normal(scale=ECHO_UNITS**-0.5, size=(ECHO_UNITS, ECHO_UNITS)),
            "bias": np.zeros(ECHO_UNITS),
            "readout": rng.normal(scale=ECHO_UNITS ** -0.5, size=(ECHO_UNITS, 1)),
            "readout_bias": np.zeros(1)}

def echo_loss_and_grads(params, x, y, **cut):
    states = scratch.rnn_forward(x, None, params["kernel"], params["recurrent_kernel"],
                                 params["bias"])
    error = (states @ params["readout"] + params["readout_bias"] - y)[:, DELAY:]  # scored steps
    d_pred = np.zeros(states.shape[:2] + (1,))
    d_pred[:, DELAY:] = 2 * error / error.size                                     # d mean(error²)
    rnn = scratch.rnn_backward(d_pred @ params["readout"].T, x, None, states,
                               params["kernel"], params["recurrent_kernel"], **cut)
    grads = {"kernel": rnn.kernel, "recurrent_kernel": rnn.recurrent_kernel, "bias": rnn.bias,
             "readout": np.einsum("btu,bto->uo", states, d_pred),
             "readout_bias": d_pred.sum((0, 1))}
    return float(np.mean(error ** 2)), grads

def train_echo(iterations, learning_rate=0.01, **cut) -> float:
    """Train on the echo task with the gradient cut as ``cut`` says (``truncate=k``,
    ``chunk=k`` or nothing for full BPTT); return the validation MSE."""
    params = init_echo_model()
    moment = {name: np.zeros_like(p) for name, p in params.items()}
    second = {name: np.zeros_like(p) for name, p in params.items()}
    for i in range(1, iterations + 1):                                              # Adam
        _, grads = echo_loss_and_grads(params, x_echo, y_echo, **cut)
        for name in params:
            moment[name] = 0.9 * moment[name] + 0.1 * grads[name]
            second[name] = 0.999 * second[name] + 0.001 * grads[name] ** 2
            params[name] -= learning_rate * (moment[name] / (1 - 0.9 ** i)) / (
                np.sqrt(second[name] / (1 - 0.999 ** i)) + 1e-8)
    return echo_loss_and_grads(params, x_echo_val, y_echo_val)[0]

echo_windows = [2, 4, 8, 9, 16, None]
echo_mse = {k: train_echo(CONFIG["echo_iterations"], truncate=k) for k in echo_windows}
for k, mse in echo_mse.items():
    print(f"window {'full' if k is None else k:>4}: validation MSE {mse:.3f}")

# %%
labels = [str(k) if k is not None else "full" for k in echo_windows]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar(labels, [echo_mse[k] for k in echo_windows],
       color=["tab:red" if k is not None and k <= DELAY else "tab:green" for k in echo_windows])
ax.axhline(1.0, ls="--", c="gray", label="predict 0")
ax.set(xlabel="BPTT window k", ylabel="validation MSE", yscale="log",
       title=f"Echo with delay {DELAY}: learnable only when k > {DELAY}")
ax.legend()
plt.show()
assert all(echo_mse[k] > 0.5 for k in (2, 4)), "windows far below the delay cannot learn the echo"
assert all(echo_mse[k] < 0.05 for k in (16, None)), "windows beyond the delay should learn it"
assert echo_mse[8] > 0.5 and echo_mse[9] < 0.05, "the cut is sharp: one step short is too short"


# %% [markdown]
# The cut is sharp: windows up to 8 stay near the "predict 0" baseline, and from $k = 9$ on the echo is learned almost perfectly (fast profile). The window must be longer than the longest dependency you hope to learn.
#
# Chunked truncation reaches unevenly. With chunks of $c$ steps, only the steps at position $j \ge 9$ of a chunk have a gradient path back to their echo's input, so only a share of the scored steps sends that signal at all. The next cell computes the share for a few chunk lengths and trains the same network with chunked truncation (same iterations, same Adam):

# %%
def reachable_share(chunk: int) -> float:
    """Share of the scored steps (t >= DELAY) whose echo input x_{t - DELAY} lies in the
    same chunk of ``chunk`` steps: the steps that get a gradient about the echo at all."""
    scored = np.arange(DELAY, T_ECHO)
    return float(np.mean(scored % chunk >= DELAY))

chunks = [4, 8, 9, 16, T_ECHO]
chunk_mse = {c: train_echo(CONFIG["echo_iterations"], chunk=c) for c in chunks}
for c in chunks:
    print(f"chunks of {c:>2}: {reachable_share(c):4.0%} of the scored steps reach their echo; "
          f"validation MSE {chunk_mse[c]:.3f}")
assert chunk_mse[4] > 0.5, "chunks half the delay long cannot learn the echo"
assert chunk_mse[9] < 0.05 and chunk_mse[T_ECHO] < 0.05, "a few steps with reach teach all"

# %% [markdown]
# Two things to take from this (fast profile; the printed MSEs):
#
# - **A few steps with reach are enough to learn, because all steps share the weights.** In chunks of 9 only one scored step in eight can see its echo, yet the echo is learned almost as well as with full BPTT. The others do not learn it themselves; they use what those few steps taught the shared weights. With little data or noisy targets a small share does show: fewer useful gradients per update means slower learning.
# - **A chunk border is a leaky wall.** Chunks of exactly 8 give no step a gradient path to its echo's input. In the fast profile's short run they still pick up part of the echo, where per-loss BPTT(8) learns nothing: the state carried into a chunk holds the input of the step just before it, and the gradient of the recurrent weights at the chunk's first step multiplies that state (the subtlety below). It is not a signal to rely on: trained longer, in the full profile's 800 iterations, the same chunks were back near the baseline (0.95) when we ran it. Chunks half the delay long learn nothing in either.
#
# In practice: pick the chunk length of stateful training well above the dependency you need, because only the later steps of each chunk see it in full.
#
# *A subtlety, for the curious:* the weight gradient at the oldest step inside the window multiplies $h_{t-k}$, which already carries some information from before the window. Windows just one or two steps short of the delay can therefore sometimes learn part of the task indirectly (try `DELAY = 5` with window 4). Far below the delay they cannot.
#
# ## 6 · Why long-range learning fails: SimpleRNN on the adding problem
#
# Back to Keras and a standard benchmark. In the adding problem the first marked number sits, on average, $T/4$ to $T/2$ steps before the end. We train the same SimpleRNN (32 units, tanh, Adam) for the same number of epochs at $T = 10$ and at $T = 100$, with two seeds each, and score it on fresh validation sequences with the MSE relative to predicting the mean, and with the accuracy $|\hat y - y| < 0.04$ used by Hochreiter & Schmidhuber (1997).

# %%
def adding_run(length: int, seed: int = 0) -> dict:
    x_train, y_train = synthetic.adding_problem(CONFIG["adding_examples"], length, seed=seed)
    x_val, y_val = synthetic.adding_problem(1000, length, seed=seed + 100)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((length, 2)), keras.layers.SimpleRNN(32),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(3e-3), "mse", **training.fast_settings(model))
    history = model.fit(x_train, y_train, epochs=CONFIG["adding_epochs"], batch_size=64,
                        validation_data=(x_val, y_val), verbose=0,
                        callbacks=[training.ProgressLine()])
    prediction = model.predict(x_val, verbose=0)[:, 0]
    return {"val_mse": history.history["val_loss"],
            "relative_mse": float(np.mean((prediction - y_val) ** 2) / np.var(y_val)),
            "accuracy": float(np.mean(np.abs(prediction - y_val) < 0.04))}

SEEDS = (0, 1)
adding = {(length, seed): adding_run(length, seed) for length in (10, 100) for seed in SEEDS}
for (length, seed), result in adding.items():
    print(f"T={length:>3}, seed {seed}: MSE / MSE of predicting the mean = "
          f"{result['relative_mse']:.2f}, accuracy (|error| < 0.04) = {result['accuracy']:.0%}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for (length, seed), result in adding.items():
    ax.plot(range(1, len(result["val_mse"]) + 1), result["val_mse"], "o-" if seed == 0 else "s--",
            color="tab:blue" if length == 10 else "tab:orange", label=f"T = {length}, seed {seed}")
ax.axhline(ADDING_BASELINE_MSE, ls="--", c="gray", label="predict the mean")
ax.set(xlabel="epoch", ylabel="validation MSE", title="SimpleRNN on the adding problem")
ax.grid(alpha=0.3)
ax.legend()
plt.show()
for length in (10, 100):
    runtime.report(f"simple_rnn_adding_T{length}_relative_mse",
                   float(np.mean([adding[length, seed]["relative_mse"] for seed in SEEDS])))
for seed in SEEDS:
    assert adding[10, seed]["relative_mse"] < 0.35, "SimpleRNN should learn the 10-step problem"
    assert adding[100, seed]["relative_mse"] > 0.8, "... and stay near the baseline at 100 steps"


# %% [markdown]
# At $T = 10$ the validation error falls to a small fraction of the baseline. At $T = 100$ it stays flat at the baseline for the whole budget, with accuracy near the 8 % that predicting the mean already gets. Nothing is wrong with the optimiser or the data: section 3 showed that the gradient linking the output to a number 50–100 steps back is many orders of magnitude too small to act on. Both seeds tell the same story. Notebook 03 gives the network an additive path through time, the LSTM cell state, and solves the long version under the same budget.
#
# ## 7 · Exercises
#
# **Exercise 1 (`ex_2_1`): one BPTT step.** Given the gradient `d_h` arriving at $h_t$ (batch, units), and the step's $h_t$, $h_{t-1}$, $x_t$ and weights, return the five gradients of that step: `(d_kernel, d_recurrent_kernel, d_bias, d_x_t, d_h_prev)`. Use the equations of section 1 (tanh activation).

# %%
# EXERCISE ex_2_1
def bptt_step(d_h, h_t, h_prev, x_t, kernel, recurrent_kernel):
    # BEGIN SOLUTION
    d_pre = d_h * (1 - h_t ** 2)
    return (x_t.T @ d_pre, h_prev.T @ d_pre, d_pre.sum(axis=0),
            d_pre @ kernel.T, d_pre @ recurrent_kernel.T)
    # END SOLUTION


# %%
checks.ex_2_1(bptt_step)


# %% [markdown]
# **Exercise 2 (`ex_2_2`): the Jacobian product.** For one sequence with states `states` (time, units) of a tanh RNN, return the spectral norm (largest singular value, `np.linalg.norm(M, 2)`) of $\partial h_{\text{end}} / \partial h_{\text{start}} = \prod_{s=\text{start}+1}^{\text{end}} \operatorname{diag}(1 - h_s^2) W_{hh}^{\top}$ (the identity when start = end). Then try it on a sequence of your own with a large and a small `recurrent_kernel`.

# %%
# EXERCISE ex_2_2
def jacobian_product_norm(states, recurrent_kernel, start, end):
    # BEGIN SOLUTION
    product = np.eye(recurrent_kernel.shape[0])
    for s in range(start + 1, end + 1):
        product = np.diag(1 - states[s] ** 2) @ recurrent_kernel.T @ product
    return float(np.linalg.norm(product, 2))
    # END SOLUTION


# %%
checks.ex_2_2(jacobian_product_norm)


# %% [markdown]
# **Exercise 3 (`ex_2_3`): clipping by global norm.** Return the list of gradients rescaled by $\min(1, \text{max\_norm} / \lVert g \rVert)$ where $\lVert g \rVert$ is the norm of *all* gradients together. That is what Keras' `global_clipnorm` does, and the check compares you with `tf.clip_by_global_norm`. (Why does clipping each tensor separately, like `clipnorm`, change the gradient's *direction*?)

# %%
# EXERCISE ex_2_3
def clip_by_global_norm(grads, max_norm):
    # BEGIN SOLUTION
    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    scale = min(1.0, max_norm / total) if total > 0 else 1.0
    return [g * scale for g in grads]
    # END SOLUTION


# %%
checks.ex_2_3(clip_by_global_norm)

# %% [markdown]
# **Exercise 4 (`ex_2_4`): the whole backward pass.** Now all of BPTT for a tanh RNN: given `d_states` (batch, time, units), the gradient the loss sends *directly* into each $h_t$ (e.g. through a readout), the inputs `x` (batch, time, features), the initial state `h0` (batch, units), the forward pass' `states` (batch, time, units) and the weights, return `(d_kernel, d_recurrent_kernel, d_bias, d_x, d_h0)` in Keras' layout (shapes as the weights; `d_x` like `x`; `d_h0` like `h0`). Walk backwards from $t = T$: the gradient arriving at $h_t$ is its direct part plus what step $t+1$ sends back; one backward step of exercise 1 turns it into this step's weight gradients, which *add up* over time, and into what goes on to $h_{t-1}$ (at $t = 1$ that is `d_h0`). Section 2 checked `scratch.rnn_backward` this way; this is yours.

# %%
# EXERCISE ex_2_4
def rnn_backward_full(d_states, x, h0, states, kernel, recurrent_kernel):
    # BEGIN SOLUTION
    d_kernel, d_recurrent = np.zeros_like(kernel), np.zeros_like(recurrent_kernel)
    d_bias, d_x = np.zeros(kernel.shape[1]), np.zeros_like(x)
    from_later = np.zeros_like(h0)  # what step t + 1 sends back to h_t
    for t in reversed(range(x.shape[1])):
        d_pre = (d_states[:, t] + from_later) * (1 - states[:, t] ** 2)
        previous = states[:, t - 1] if t > 0 else h0
        d_kernel += x[:, t].T @ d_pre
        d_recurrent += previous.T @ d_pre
        d_bias += d_pre.sum(axis=0)
        d_x[:, t] = d_pre @ kernel.T
        from_later = d_pre @ recurrent_kernel.T
    return d_kernel, d_recurrent, d_bias, d_x, from_later
    # END SOLUTION


# %%
checks.ex_2_4(rnn_backward_full)

# %% [markdown]
# ## 8 · Summary
#
# - BPTT is the chain rule run backwards through the unrolled loop. Our NumPy version matches finite differences to about $10^{-10}$ and `tf.GradientTape` on `SimpleRNN` to float32 precision.
# - The gradient reaching step $t$ from step $T$ is a product of $T - t$ Jacobians $\operatorname{diag}(1-h^2) W_{hh}^{\top}$. It shrinks or grows geometrically with the spectral radius. tanh's derivative never exceeds 1, so saturated states add vanishing, but a tanh RNN whose states stay small explodes like a linear one once $\rho > 1$ (Pascanu et al., 2013).
# - Exploding gradients wreck training in one step. `global_clipnorm` bounds the step and rescues the run.
# - Truncated BPTT cannot learn dependencies longer than its window. Chunked truncation (stateful training) costs one sweep and $O(k)$ memory, but its reach is uneven: the $j$-th step of a chunk sees $j$ steps back. Per-loss BPTT($k$) gives every step $k$ steps of reach, at $k$ times the cost.
# - A SimpleRNN learns a 10-step adding problem and fails at 100 steps under the same budget.
#
# **Next:** notebook 03 adds gates and an additive cell state (the LSTM) and re-runs these measurements: the gradient norm per step, and the adding problem at $T = 100$.
