# %% [markdown]
# # 03 · LSTM: gates, a cell state, and long memory
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recurrent-course/rnn-keras3/blob/main/notebooks/03_lstm.ipynb)
#
# **Learning goals**
# - write the LSTM's four gates and its cell-state update, and find each gate's weights inside `keras.layers.LSTM`;
# - reproduce `keras.layers.LSTM` in NumPy;
# - see why the cell state is a *gradient highway*, and what the forget-gate bias does;
# - solve the 100-step adding problem that defeated SimpleRNN in notebook 02, under the same budget;
# - train character language models (stateless, and stateful with truncated BPTT) and compare them with a SimpleRNN of the same size;
# - measure what a learning-rate schedule (warm-up, cosine decay) buys against constant rates on the same budget;
# - know when Keras runs the fused cuDNN kernel, and check it with `course_lib.runtime.cudnn_eligibility`.
#
# **Prerequisites:** notebooks 01 and 02. · **Runtime:** about 2.5 min on 2 CPU cores in the `fast` profile.

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

import keras
import matplotlib.pyplot as plt
import numpy as np

from course_lib import (checks, data, decoding, metrics, models, optimizers, runtime,
                        scratch, synthetic, text, training)

PROFILE = runtime.setup(seed=42)

# %% [markdown]
# ## 1 · The idea: a memory that is added to, not rewritten
#
# A SimpleRNN rewrites its whole state at every step, $h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b)$. That is why its gradient is a product of $W_{hh}$-Jacobians (notebook 02). The LSTM (Hochreiter & Schmidhuber, 1997; forget gate by Gers et al., 2000) keeps a second state, the **cell state** $c_t$. It changes the cell state only by elementwise gating and *addition*. With $z_t = x_t W + h_{t-1} U + b$ split into four parts (Keras' order **i, f, c, o**):
#
# $$
# \begin{aligned}
# i_t &= \sigma(z^{(i)}_t) && \text{input gate: how much new content to write}\\
# f_t &= \sigma(z^{(f)}_t) && \text{forget gate: how much old content to keep}\\
# \tilde c_t &= \tanh(z^{(c)}_t) && \text{candidate content}\\
# o_t &= \sigma(z^{(o)}_t) && \text{output gate: how much of the memory to show}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot \tilde c_t, \qquad h_t = o_t \odot \tanh(c_t).
# \end{aligned}
# $$
#
# ```
#  c_{t-1} ──────(×f_t)──────(+)────────────────────────┬──▶ c_t
#                             ▲                          │
#                      i_t × c̃_t                        tanh
#                             ▲                          ▼
#  h_{t-1}, x_t ──▶ [ i  f  c̃  o  = σ/tanh of z_t ] ──▶ (× o_t) ──▶ h_t
# ```
#
# Along the top line, $\partial c_t / \partial c_{t-1} = \operatorname{diag}(f_t)$: no weight matrix, no squashing derivative. When the network learns $f_t \approx 1$ for a unit, that unit's content *and its gradient* pass through many steps almost unchanged. (This is the LSTM without "peephole" connections, as in Keras and most libraries.)

# %% [markdown]
# ## 2 · Keras' weight layout, and the same numbers in NumPy
#
# `keras.layers.LSTM(units)` stores three tensors. The four gates sit side by side in the last axis, in the order i, f, c, o:

# %%
features, units = 3, 4
keras_lstm = keras.layers.LSTM(units, return_sequences=True, return_state=True)
keras_lstm.build((None, None, features))
kernel, recurrent_kernel, bias = keras_lstm.get_weights()
print("kernel", kernel.shape, "| recurrent_kernel", recurrent_kernel.shape, "| bias", bias.shape)
for gate, name in enumerate(["input i", "forget f", "candidate c", "output o"]):
    columns = slice(gate * units, (gate + 1) * units)
    print(f"  {name:<12} kernel[:, {columns.start:>2}:{columns.stop:>2}]  "
          f"bias = {bias[columns]}")
assert np.all(bias[units:2 * units] == 1) and np.all(np.delete(bias, np.s_[units:2 * units]) == 0)

# %% [markdown]
# The forget gate's bias starts at 1, the others at 0: that is `unit_forget_bias=True`, Keras' default. Section 4 shows why. Now the forward pass: `course_lib.scratch.lstm_forward` is the equations above in a loop. It must match Keras to float32 precision, for the whole sequence and both final states:

# %%
rng = np.random.default_rng(0)
x = rng.normal(size=(2, 7, features)).astype("float32")
h0 = rng.normal(size=(2, units)).astype("float32")
c0 = rng.normal(size=(2, units)).astype("float32")
keras_sequence, keras_h, keras_c = (keras.ops.convert_to_numpy(t)
                                    for t in keras_lstm(x, initial_state=[h0, c0]))
hidden, cells = scratch.lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias)
lstm_error = max(np.abs(hidden - keras_sequence).max(), np.abs(cells[:, -1] - keras_c).max())
print(f"max |NumPy - Keras| over h_1..h_T and c_T: {lstm_error:.1e}")
assert lstm_error < 1e-5

# %% [markdown]
# `scratch.lstm_backward` implements BPTT for this cell. Its unit tests check it against central differences (float64, relative error < 1e-6) and against `tf.GradientTape` on `keras.layers.LSTM` (< 1e-5), exactly as notebook 02 did for the SimpleRNN. We use it below to look inside trained models.
#
# ## 3 · The long-range task SimpleRNN could not learn
#
# Notebook 02 ended with a SimpleRNN stuck at the baseline on the adding problem with $T = 100$. Here the same data generator, layer width (32 units) and training recipe are given to an LSTM and, again, to a SimpleRNN: Adam with learning rate 0.01, batches of 32, the same number of epochs. The score is the validation MSE divided by the MSE of predicting the mean (1 = no better than the baseline).

# %%
CONFIG = {"fast": dict(adding_examples=8000, adding_epochs=8, lm_chars=300_000, lm_epochs=3,
                       rnn_units=256, lstm_units=128, lm_checks=9, steps_per_check=16),
          "full": dict(adding_examples=20000, adding_epochs=20, lm_chars=None, lm_epochs=15,
                       rnn_units=512, lstm_units=256, lm_checks=15, steps_per_check=160)
          }[PROFILE]
T_LONG = 100
x_add, y_add = synthetic.adding_problem(CONFIG["adding_examples"], T_LONG, seed=0)
x_add_val, y_add_val = synthetic.adding_problem(1000, T_LONG, seed=100)

def train_adding(cell: str):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((T_LONG, 2)), models.recurrent_layer(cell, 32),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse", **training.fast_settings(model))
    history = model.fit(x_add, y_add, epochs=CONFIG["adding_epochs"], batch_size=32,
                        validation_data=(x_add_val, y_add_val), verbose=0,
                        callbacks=[training.ProgressLine()])
    relative = np.array(history.history["val_loss"]) / np.var(y_add_val)
    return model, relative

adding_models, adding_curves = {}, {}
for cell in ("simple_rnn", "lstm"):
    adding_models[cell], adding_curves[cell] = train_adding(cell)
    print(f"{cell:>10}: validation MSE / baseline per epoch: "
          + " ".join(f"{v:.2f}" for v in adding_curves[cell]))

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for cell, curve in adding_curves.items():
    ax.semilogy(range(1, len(curve) + 1), curve, "o-", label=cell)
ax.axhline(1.0, ls="--", c="gray", label="predict the mean")
ax.set(xlabel="epoch", ylabel="validation MSE / baseline (log)",
       title=f"Adding problem, T = {T_LONG}, same budget")
ax.grid(alpha=0.3, which="both")
ax.legend()
plt.show()
runtime.report("adding_T100_relative_mse_lstm", adding_curves["lstm"][-1])
runtime.report("adding_T100_relative_mse_simple_rnn", adding_curves["simple_rnn"][-1])
assert adding_curves["lstm"][-1] < 0.1, "the LSTM should solve the 100-step adding problem"
assert adding_curves["simple_rnn"][-1] > 0.8, "the SimpleRNN should stay near the baseline"

# %% [markdown]
# The LSTM sits at the baseline for a few epochs, then "clicks": once it has found the two marked numbers, the error collapses. The SimpleRNN, with the same data and updates, never leaves the baseline.
#
# ## 4 · Why: the cell state as a gradient highway
#
# We reuse notebook 02's tool, the gradient norm per time step for a loss at the last step, now measured with respect to the **inputs** $x_t$: how much can the input at step $t$ still move the output? The NumPy backward passes get the weights of the two *trained* models above, and the sequences are validation sequences.

# %%
probe = x_add_val[:64].astype("float64")
input_gradient_norms = {
    cell: scratch.last_step_gradient_norms(
        probe, *[w.astype("float64") for w in adding_models[cell].layers[0].get_weights()],
        cell=cell, wrt="input")
    for cell in ("simple_rnn", "lstm")}

fig, ax = plt.subplots(figsize=(6.5, 3.5))
for cell, norms in input_gradient_norms.items():
    ax.semilogy(range(1, T_LONG + 1), norms, label=f"trained {cell}")
ax.set(xlabel="time step t (loss at t = 100)", ylabel="‖∂L/∂x_t‖ (log scale)",
       title="How far back the gradient reaches")
ax.grid(alpha=0.3, which="both")
ax.legend()
plt.show()

reach = {cell: norms[0] / norms[-1] for cell, norms in input_gradient_norms.items()}
print("gradient at step 1 relative to step 100: "
      + ", ".join(f"{cell} {value:.1e}" for cell, value in reach.items()))
assert reach["lstm"] > 1e3 * reach["simple_rnn"]

# %% [markdown]
# Which forget-gate values did the LSTM learn? `scratch.lstm_gates` splits the pre-activations into the four gates. We average the forget gate over the validation sequences and time, per unit:

# %%
lstm_kernel, lstm_recurrent, lstm_bias = (w.astype("float64")
                                          for w in adding_models["lstm"].layers[0].get_weights())
hidden_trained, _ = scratch.lstm_forward(probe, None, None, lstm_kernel, lstm_recurrent, lstm_bias)
previous = np.concatenate([np.zeros_like(hidden_trained[:, :1]), hidden_trained[:, :-1]], axis=1)
_, forget, _, _ = scratch.lstm_gates(probe @ lstm_kernel + previous @ lstm_recurrent + lstm_bias)
mean_forget = forget.mean(axis=(0, 1))
print("mean forget gate per unit, sorted:", np.round(np.sort(mean_forget)[::-1], 3))
print(f"units with mean f > 0.95: {(mean_forget > 0.95).sum()} of {mean_forget.size}")


# %% [markdown]
# Some units learned forget gates very close to 1: they are the ones that can carry the first marked number across dozens of steps. A unit with $f = 0.99$ keeps $0.99^{50} \approx 0.6$ of its content (and gradient) after 50 steps; one with $f = 0.7$ keeps $10^{-8}$.
#
# **The forget-gate bias.** At initialisation the gates see small random pre-activations, so $f \approx \sigma(b_f)$. With $b_f = 0$ that is $0.5$ and the highway halves the signal every step; `unit_forget_bias=True` ($b_f = 1$, $f \approx 0.73$) keeps far more. Measured on freshly initialised layers, same seed, same inputs:

# %%
def fresh_lstm_weights(unit_forget_bias: bool):
    keras.utils.set_random_seed(0)
    layer = keras.layers.LSTM(32, unit_forget_bias=unit_forget_bias)
    layer.build((None, None, 2))
    return [w.astype("float64") for w in layer.get_weights()]

init_norms = {flag: scratch.last_step_gradient_norms(probe, *fresh_lstm_weights(flag),
                                                     cell="lstm", wrt="input")
              for flag in (False, True)}
init_reach = {flag: norms[0] / norms[-1] for flag, norms in init_norms.items()}
for flag, value in init_reach.items():
    print(f"unit_forget_bias={flag!s:<5}: gradient at step 1 / step 100 = {value:.1e}")
assert init_reach[True] > 1e6 * init_reach[False]

# %% [markdown]
# Both still vanish over 100 steps at initialisation. Training must push some forget gates towards 1, as section 3's model did. But starting at $b_f = 1$ leaves many orders of magnitude more gradient for the first updates to work with, so it is the default.
#
# ## 5 · A character-level LSTM language model, stateless and stateful
#
# Back to Tiny Shakespeare and notebook 01's task. To compare fairly we hold the **parameter count** equal: a 256-unit SimpleRNN and a 128-unit LSTM both have about 93 k parameters (an LSTM unit has four gates). Both get the same data, number of updates and optimizer (Adam, learning rate 0.01). In the fast profile that is 144 updates of 64 windows of 100 characters from the first 300 k characters of the text (about 3 passes), with the validation loss measured every 16 updates.
#
# The third model uses **stateful training**, the practical form of truncated BPTT. The training text is cut into 64 long streams, one per batch row. Batch $j+1$ continues batch $j$ row by row, and the LSTM carries its state across batches (`stateful=True`, reset at each epoch by `training.ResetStatesEachEpoch`). Gradients still stop at the 100-character window (the truncation), but the state, and so the context the model can use, flows through the whole stream. It makes 3 passes over its streams (138 updates in the fast profile).

# %%
import time

corpus = data.load_tiny_shakespeare()
vocab = text.char_vocabulary(corpus.train)
train_ids = vocab.encode(corpus.train[: CONFIG["lm_chars"]])
val_ids = vocab.encode(corpus.val)
SEQ_LEN, BATCH = 100, 64
CHECKS, STEPS_PER_CHECK = CONFIG["lm_checks"], CONFIG["steps_per_check"]
loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
val_windows = text.next_token_dataset(val_ids, SEQ_LEN, BATCH, shuffle=False)
repeated_windows = text.next_token_dataset(train_ids, SEQ_LEN, BATCH, seed=0).repeat()

def train_lm(cell: str, units: int):
    """A stateless char LM, CHECKS x STEPS_PER_CHECK updates with validation after each block.
    Returns the model, its history and the training seconds (validation excluded)."""
    keras.utils.set_random_seed(0)
    model = models.char_lm(len(vocab), units, cell=cell)
    model.compile(optimizers.Adam(0.01), loss,
                  **training.fast_settings(model, data=repeated_windows))
    timer = training.EpochTimer()
    callbacks = training.course_callbacks("constant", PROFILE, epochs=CHECKS,
                                          early_stopping=False)
    history = model.fit(repeated_windows, epochs=CHECKS, steps_per_epoch=STEPS_PER_CHECK,
                        validation_data=val_windows, shuffle=False,
                        callbacks=[timer, *callbacks, training.ProgressLine()],
                        verbose=0)
    return model, history, sum(timer.seconds)

def train_stateful_lm(units: int):
    """The stateful LSTM: one stream per batch row, state carried across batches."""
    keras.utils.set_random_seed(0)
    model = models.char_lm(len(vocab), units, cell="lstm", stateful_batch_size=BATCH)
    streams = text.stateful_next_token_dataset(train_ids, SEQ_LEN, BATCH)
    model.compile(optimizers.Adam(0.01), loss, **training.fast_settings(model, data=streams))
    started = time.perf_counter()
    model.fit(streams, epochs=CONFIG["lm_epochs"], shuffle=False, verbose=0,
              callbacks=[training.ResetStatesEachEpoch(), training.ProgressLine()])
    return model, time.perf_counter() - started

def stateless_copy(model, cell: str, units: int):
    """The same weights in a stateless model: every validation window starts from zero state."""
    copy = models.char_lm(len(vocab), units, cell=cell)
    copy.compile(loss=loss)
    copy.set_weights(model.get_weights())
    return copy


# %%
lm_results = {}
for name, cell, units in [("SimpleRNN", "simple_rnn", CONFIG["rnn_units"]),
                          ("LSTM", "lstm", CONFIG["lstm_units"])]:
    model, history, seconds = train_lm(cell, units)
    lm_results[name] = dict(model=model, history=history, params=model.count_params(),
                            seconds=seconds,
                            perplexity=metrics.perplexity(history.history["val_loss"][-1]))

stateful_model, seconds = train_stateful_lm(CONFIG["lstm_units"])
VAL_STREAMS = 8  # evaluate the stateful model the way it was trained: streams, state carried
stream_evaluator = models.char_lm(len(vocab), CONFIG["lstm_units"], cell="lstm",
                                  stateful_batch_size=VAL_STREAMS)
stream_evaluator.compile(loss=loss)
stream_evaluator.set_weights(stateful_model.get_weights())
training.reset_recurrent_states(stream_evaluator)
carried = stream_evaluator.evaluate(
    text.stateful_next_token_dataset(val_ids, SEQ_LEN, VAL_STREAMS), verbose=0)
restarted = stateless_copy(stateful_model, "lstm", CONFIG["lstm_units"]).evaluate(val_windows,
                                                                                 verbose=0)
lm_results["LSTM, stateful"] = dict(model=stateful_model, params=stateful_model.count_params(),
                                    seconds=seconds, perplexity=metrics.perplexity(carried),
                                    restarted=metrics.perplexity(restarted))

print(f"{'model':<16}{'parameters':>11}{'train s':>9}{'val perplexity':>16}   ({PROFILE} profile)")
for name, result in lm_results.items():
    print(f"{name:<16}{result['params']:>11,}{result['seconds']:>9.0f}{result['perplexity']:>16.2f}")
restarted_perplexity = lm_results["LSTM, stateful"]["restarted"]
print(f"stateful LSTM with its state reset at every window: {restarted_perplexity:.2f}")

# %%
runtime.report("char_lm_perplexity_lstm", lm_results["LSTM"]["perplexity"], 2)
runtime.report("char_lm_perplexity_simple_rnn", lm_results["SimpleRNN"]["perplexity"], 2)
assert lm_results["LSTM"]["perplexity"] < lm_results["SimpleRNN"]["perplexity"] - 0.5, \
    "at equal parameters and budget the LSTM should be clearly better"
stateful = lm_results["LSTM, stateful"]
assert stateful["perplexity"] < stateful["restarted"], "carried state should help its model"

# %% [markdown]
# At an equal parameter count, data and number of updates, the LSTM is clearly better than the SimpleRNN. Do not compare these perplexities with notebook 01's: its SimpleRNN (perplexity about 8.7 in the fast profile) trained for 5 epochs of 79 batches of 64 windows, 395 updates over 500 k characters, where the models here get 144 updates each. Within one budget the ranking is the LSTM's; across budgets, the model that trained longer wins. (The table's training times come from this one run on this machine; per parameter, an LSTM step does about the same arithmetic as a SimpleRNN step.) Stateful training does not beat stateless training at this small budget: both LSTMs end close together. It does teach the model to *use* the carried state. The same weights, restarted from a zero state at every 100-character window, score worse than when the state flows through the validation text. Its advantage grows with longer training and with tasks whose context exceeds the window.
#
# Samples from the stateless LSTM (temperature 0.7):

# %%
print(decoding.sample_text(lm_results["LSTM"]["model"], vocab, "KING RICHARD:\n", length=300,
                           temperature=0.7, seed=3))

# %% [markdown]
# ## 6 · Learning-rate schedules: when does decay pay?
#
# Every model so far trained at one constant learning rate. A **schedule** changes the rate during training, usually for one of two reasons:
#
# - **warm-up** starts near 0 and ramps up to the peak over the first updates. At random initialisation the gradients are large and their directions unreliable, and Adam's estimate of each gradient's scale rests on a handful of steps; small first steps keep those early updates from throwing the weights far off.
# - **decay** lowers the rate towards the end. A mini-batch gradient is noisy. Near a minimum, large steps keep jumping around it, and small ones average the noise out.
#
# `training.course_callbacks(schedule, PROFILE, epochs=...)` returns the course's callback set for one of three schedules: `"constant"`, `"plateau"` (Keras' `ReduceLROnPlateau`: halve the rate when the validation loss stops improving) and `"cosine"` (a linear warm-up over the first epoch, then a cosine down to 0; it hands the optimizer Keras' `CosineDecay`, which sets the rate at every update). `training.CosineWithWarmup(epochs).rates(peak, steps_per_epoch)` gives the rate of every update, the same schedule the callback hands the optimizer; the plot below draws it.
#
# A fair comparison changes one thing: the schedule, at the same peak rate. We train a 64-unit LSTM language model for 96 updates (fast profile; the full profile: as many as section 5's runs), at two peaks, 0.01 and 0.05, each with a constant rate and with warm-up (the first 16 updates) + cosine decay, and repeat every run with 3 seeds (initialisation; the data order is fixed). To fit 12 runs in the budget the batches are smaller than section 5's: 32 windows of 50 characters, validated on the first 40 k characters of the validation text. A difference counts only if it has the same sign on every seed.

# %%
SCHEDULE_UNITS, PEAKS = 64, (0.01, 0.05)
SCHEDULE_SEEDS = (0, 1, 2) if PROFILE == "fast" else (0,)  # the full profile: one seed per run
SCHEDULE_CHECKS = 6 if PROFILE == "fast" else CHECKS  # blocks of STEPS_PER_CHECK updates
schedule_windows = text.next_token_dataset(train_ids, 50, 32, seed=0).repeat()
schedule_val = text.next_token_dataset(val_ids[:40_001], 50, 256, shuffle=False)

def schedule_run(schedule: str, peak_rate: float, seed: int) -> dict:
    """The history of one schedule run: SCHEDULE_CHECKS x STEPS_PER_CHECK updates, validation after
    each block of STEPS_PER_CHECK."""
    keras.utils.set_random_seed(seed)
    model = models.char_lm(len(vocab), SCHEDULE_UNITS, cell="lstm")
    model.compile(optimizers.Adam(peak_rate), loss,
                  **training.fast_settings(model, data=schedule_windows, jit_compile=False,
                                           verbose=False))
    callbacks = training.course_callbacks(schedule, PROFILE, epochs=SCHEDULE_CHECKS,
                                          early_stopping=False)
    history = model.fit(schedule_windows, epochs=SCHEDULE_CHECKS, steps_per_epoch=STEPS_PER_CHECK,
                        validation_data=schedule_val, shuffle=False, verbose=0,
                        callbacks=callbacks)
    return history.history

schedule_curves = {(schedule, peak, seed): schedule_run(schedule, peak, seed)
                   for peak in PEAKS for schedule in ("constant", "cosine")
                   for seed in SCHEDULE_SEEDS}
final_val_loss = {key: curve["val_loss"][-1] for key, curve in schedule_curves.items()}
cosine_gain = {peak: [final_val_loss["constant", peak, s] - final_val_loss["cosine", peak, s]
                      for s in SCHEDULE_SEEDS] for peak in PEAKS}  # > 0: the schedule is better
print(f"{'peak':>6}  {'schedule':<10}" + "".join(f"{'seed ' + str(s):>9}" for s in SCHEDULE_SEEDS)
      + f"{'mean':>8}   (final validation loss, {SCHEDULE_CHECKS * STEPS_PER_CHECK} updates, "
        f"{PROFILE} profile)")
for peak in PEAKS:
    for schedule in ("constant", "cosine"):
        losses = [final_val_loss[schedule, peak, s] for s in SCHEDULE_SEEDS]
        print(f"{peak:>6}  {schedule:<10}" + "".join(f"{v:>9.3f}" for v in losses)
              + f"{np.mean(losses):>8.3f}")
    print(f"{peak:>6}  {'gain':<10}" + "".join(f"{g:>+9.3f}" for g in cosine_gain[peak])
          + f"{np.mean(cosine_gain[peak]):>+8.3f}   (constant minus cosine)")

cosine = training.CosineWithWarmup(SCHEDULE_CHECKS)
fig, (ax_loss, ax_rate) = plt.subplots(1, 2, figsize=(11, 3.5))
for peak, color in zip(PEAKS, ("tab:blue", "tab:orange"), strict=True):
    for schedule, style in (("constant", "--"), ("cosine", "-")):
        mean_curve = np.mean([schedule_curves[schedule, peak, s]["val_loss"]
                              for s in SCHEDULE_SEEDS], axis=0)
        updates = np.arange(1, SCHEDULE_CHECKS + 1) * STEPS_PER_CHECK
        ax_loss.plot(updates, mean_curve, style, c=color, marker="o", ms=3,
                     label=f"{schedule}, peak {peak}")
        rates = (cosine.rates(peak, STEPS_PER_CHECK) if schedule == "cosine"
                 else np.full(SCHEDULE_CHECKS * STEPS_PER_CHECK, peak))
        ax_rate.plot(np.arange(1, rates.size + 1), rates, style, c=color)
ax_loss.set(xlabel="update", ylabel="validation loss (mean over seeds)",
            title=f"Char-LM LSTM {SCHEDULE_UNITS}, {PROFILE} profile")
ax_rate.set(xlabel="update", ylabel="learning rate", title="the rate at every update")
ax_loss.legend(fontsize=8)
for ax in (ax_loss, ax_rate):
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %%
for (schedule, peak), name in {("constant", 0.01): "constant_001", ("cosine", 0.01): "cosine_001",
                               ("constant", 0.05): "constant_005", ("cosine", 0.05): "cosine_005"
                               }.items():
    runtime.report(f"val_loss_{name}", np.mean([final_val_loss[schedule, peak, s]
                                                for s in SCHEDULE_SEEDS]))
consistent = {peak: "cosine better on every seed" if min(g) > 0 else
              "constant better on every seed" if max(g) < 0 else "depends on the seed"
              for peak, g in cosine_gain.items()}
print(", ".join(f"peak {peak}: {verdict}" for peak, verdict in consistent.items()))
if PROFILE == "fast":  # what holds on every seed at this budget
    assert min(-g for g in cosine_gain[0.01]) > 0.1, "at peak 0.01 the constant rate should win"
    assert max(cosine_gain[0.05]) < 0, "at peak 0.05 too, on every seed"
    for seed in SCHEDULE_SEEDS:  # the rate matters more than the schedule
        best_at = {peak: min(final_val_loss[s, peak, seed] for s in ("constant", "cosine"))
                   for peak in PEAKS}
        assert best_at[0.05] < best_at[0.01], (seed, best_at)

# %% [markdown]
# At this budget the schedule does not pay at either peak, on any seed (fast profile, 96 updates): at 0.01 warm-up + cosine ends 0.29 to 0.33 nats behind the constant rate, at 0.05 by 0.03 to 0.07. The rate panel shows why: the schedule spends its first 16 updates ramping up from 0 and its last third well below the peak, so its *average* rate is about half the peak, and a model this far from converged (every curve is still falling) needs all the step size it can get. The choice of the peak matters more: both 0.05 runs beat both 0.01 runs on every seed. So the rate comes first; a schedule is worth trying once training is long enough for the loss to flatten at the noise floor of the mini-batch gradient, where small late steps average the noise out. The full profile runs each configuration once, for section 5's 2,400 updates: run it (`COURSE_PROFILE=full`) to see whether decay pays once the loss flattens.

# %% [markdown]
# ## 7 · cuDNN: when the fast kernel runs
#
# On a GPU, Keras runs `LSTM` and `GRU` layers through NVIDIA's fused cuDNN kernel, often several times faster than the generic loop, **but only** for the configuration cuDNN implements. `course_lib.runtime.cudnn_eligibility` reads a layer's arguments with the same rules as the installed Keras (it also checks a mask for right-padding; notebook 05):

# %%
configurations = {
    "LSTM() defaults": keras.layers.LSTM(64),
    "dropout=0.2": keras.layers.LSTM(64, dropout=0.2),
    "recurrent_dropout=0.2": keras.layers.LSTM(64, recurrent_dropout=0.2),
    "activation='relu'": keras.layers.LSTM(64, activation="relu"),
    "unroll=True": keras.layers.LSTM(64, unroll=True),
    "use_bias=False": keras.layers.LSTM(64, use_bias=False),
}
reports = {name: runtime.cudnn_eligibility(layer) for name, layer in configurations.items()}
for name, report in reports.items():
    verdict = "cuDNN" if report.eligible else "generic: " + "; ".join(report.reasons)
    print(f"{name:<24}{verdict}")
assert reports["LSTM() defaults"].eligible and reports["dropout=0.2"].eligible
assert not any(reports[n].eligible for n in list(reports)[2:])
assert runtime.cudnn_eligibility(lm_results["LSTM"]["model"].get_layer("rnn")).eligible


# %% [markdown]
# Input `dropout` keeps cuDNN: Keras multiplies the inputs by one dropout mask for the whole sequence (the same features dropped at every step, Gal & Ghahramani's *variational* dropout; notebook 05 shows the masks) before the fused kernel. `recurrent_dropout`, a non-tanh activation, `unroll` and `use_bias=False` each force the generic loop. The course's builders keep the defaults, as the last assertion checks for the LSTM language model above.
#
# The next cell measures what that is worth. With a GPU, it times a training step of the cuDNN kernel against `use_cudnn=False`. On a CPU there is no cuDNN, so it measures what `training.fast_settings` picks there for an LSTM: 16 training steps per call into the compiled graph, and no XLA compilation, which trained Keras' LSTM and GRU loops slower than TensorFlow's own kernels on the course's 2-core machine (XLA stays on for SimpleRNN models of fixed-length sequences, where it paid). `python -m course_lib.bench` measures each setting for four shapes against plain Keras and PyTorch.

# %%
def seconds_per_step(layer, fast_path=False) -> float:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((T_LONG, 2)), layer, keras.layers.Dense(1)])
    if fast_path:
        model.compile(keras.optimizers.Adam(1e-3), "mse", **training.fast_settings(model))
    else:
        model.compile(keras.optimizers.Adam(1e-3), "mse")  # plain Keras defaults
    return training.seconds_per_train_step(model, x_add[:64], y_add[:64])

if runtime.gpu_names():
    fused = seconds_per_step(keras.layers.LSTM(256))
    generic = seconds_per_step(keras.layers.LSTM(256, use_cudnn=False))
    print(f"GPU, LSTM(256), T={T_LONG}, batch 64: cuDNN {1e3 * fused:.1f} ms/step, "
          f"generic {1e3 * generic:.1f} ms/step -> {generic / fused:.1f}x")
    assert generic > fused
else:
    plain = seconds_per_step(keras.layers.LSTM(64))
    fast = seconds_per_step(keras.layers.LSTM(64), fast_path=True)
    print(f"No GPU here. CPU, LSTM(64), T={T_LONG}, batch 64: plain {1e3 * plain:.1f} ms/step, "
          f"fast path {1e3 * fast:.1f} ms/step -> {plain / fast:.2f}x as fast")


# %% [markdown]
# ## 8 · Exercises
#
# **Exercise 1 (`ex_3_1`): one LSTM step.** Return `(h_t, c_t)` from `x_t`, `h_prev`, `c_prev` and the Keras weights. Split the pre-activations in the order i, f, c, o.

# %%
# EXERCISE ex_3_1
def lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    # BEGIN SOLUTION
    z = x_t @ kernel + h_prev @ recurrent_kernel + bias
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    c_t = sigmoid(z_f) * c_prev + sigmoid(z_i) * np.tanh(z_c)
    return sigmoid(z_o) * np.tanh(c_t), c_t
    # END SOLUTION


# %%
checks.ex_3_1(lstm_step)


# %% [markdown]
# **Exercise 2 (`ex_3_2`): count the parameters** of `keras.layers.LSTM(units)` on inputs with `features` features. Then use it to check the "about 93 k" of section 5 (embedding 67 × 32, LSTM, dense 128 × 67 + 67).

# %%
# EXERCISE ex_3_2
def lstm_param_count(features: int, units: int) -> int:
    # BEGIN SOLUTION
    return 4 * units * (features + units + 1)
    # END SOLUTION


# %%
checks.ex_3_2(lstm_param_count)


# %% [markdown]
# **Exercise 3 (`ex_3_3`): read a gate out of the Keras weights.** Return the forget gate $f_t$ (batch, units) for inputs `x_t`, `h_prev`, using *only* the forget-gate slices of `kernel`, `recurrent_kernel` and `bias`.

# %%
# EXERCISE ex_3_3
def forget_gate(x_t, h_prev, kernel, recurrent_kernel, bias):
    # BEGIN SOLUTION
    units = recurrent_kernel.shape[0]
    f = slice(units, 2 * units)
    return 1 / (1 + np.exp(-(x_t @ kernel[:, f] + h_prev @ recurrent_kernel[:, f] + bias[f])))
    # END SOLUTION


# %%
checks.ex_3_3(forget_gate)

# %% [markdown]
# **Exercise 4 (`ex_3_4`): one LSTM step, backwards.** This is the step `scratch.lstm_backward` repeats over time, and the place where the cell state's gradient highway (section 2) is made. You are given the forward step's inputs and the gradients `d_h`, `d_c` (batch, units) that reach $h_t$ and $c_t$ from above and from later steps. Return `(d_x_t, d_h_prev, d_c_prev, d_kernel, d_recurrent_kernel, d_bias)` in the shapes of the things they are gradients of. The plan, in order:
#
# 1. Redo the forward step and keep the gate values $i, f, g, o$ and $c_t$.
# 2. $c_t$ gets gradient from two places: `d_c` directly, and through $h_t = o \odot \tanh(c_t)$, so the total is $\delta c = $ `d_c` $+$ `d_h` $\odot\, o \odot (1 - \tanh^2 c_t)$.
# 3. The four gate pre-activations (Keras order i, f, c, o): $\delta z_i = \delta c \odot g \odot i(1-i)$, $\delta z_f = \delta c \odot c_{t-1} \odot f(1-f)$, $\delta z_g = \delta c \odot i \odot (1-g^2)$, $\delta z_o = $ `d_h` $\odot \tanh(c_t) \odot o(1-o)$; concatenate them to $\delta z$ (batch, 4·units).
# 4. From $z = x_t W + h_{t-1} U + b$: `d_kernel` $= x_t^\top \delta z$, `d_recurrent_kernel` $= h_{t-1}^\top \delta z$, `d_bias` sums $\delta z$ over the batch, `d_x_t` $= \delta z\, W^\top$, `d_h_prev` $= \delta z\, U^\top$.
# 5. And the highway: `d_c_prev` $= \delta c \odot f$. No weight matrix, no squashing derivative.
#
# The check compares with `scratch.lstm_backward` (itself checked against finite differences and `tf.GradientTape`) and names two typical slips if it sees them.

# %%
# EXERCISE ex_3_4
def lstm_step_backward(d_h, d_c, x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    # BEGIN SOLUTION
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    z = x_t @ kernel + h_prev @ recurrent_kernel + bias
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)
    i, f, g, o = sigmoid(z_i), sigmoid(z_f), np.tanh(z_g), sigmoid(z_o)
    c_t = f * c_prev + i * g
    tanh_c = np.tanh(c_t)
    d_c_total = d_c + d_h * o * (1 - tanh_c**2)
    d_z = np.concatenate([d_c_total * g * i * (1 - i), d_c_total * c_prev * f * (1 - f),
                          d_c_total * i * (1 - g**2), d_h * tanh_c * o * (1 - o)], axis=-1)
    return (d_z @ kernel.T, d_z @ recurrent_kernel.T, d_c_total * f, x_t.T @ d_z,
            h_prev.T @ d_z, d_z.sum(axis=0))
    # END SOLUTION


# %%
checks.ex_3_4(lstm_step_backward)

# %% [markdown]
# ## 9 · Summary
#
# - The LSTM adds a cell state changed only by gating and addition. Along it, the gradient is multiplied by the forget gate, not by a weight matrix and a squashing derivative.
# - `keras.layers.LSTM` stores the gates side by side in the order i, f, c, o; our NumPy LSTM matches it to float32 precision.
# - Under the same budget the LSTM solves the 100-step adding problem that SimpleRNN cannot. In the trained LSTM the gradient from step 100 still reaches step 1, and some units learned forget gates near 1.
# - `unit_forget_bias=True` starts the forget gates open enough to leave the first updates a usable gradient.
# - At equal parameters the LSTM language model beats the SimpleRNN. Stateful training (truncated BPTT over streams) teaches the model to use state carried across windows.
# - At a short budget a learning-rate schedule (warm-up, then cosine decay) loses to a constant rate at the same peak, on every seed (its average rate is about half the peak), and the choice of the peak matters more than the schedule: choose the rate first; decay pays once training nears its noise floor.
# - cuDNN runs only with the default activations, no recurrent dropout, no unrolling and with biases; `cudnn_eligibility` tells you which argument is in the way.
#
# **Next:** notebook 04 simplifies the LSTM into the GRU, compares the three cells on parameters, speed and quality, and forecasts a real time series.
