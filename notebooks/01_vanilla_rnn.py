# %% [markdown]
# # 01 · Vanilla recurrent networks
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recurrent-course/rnn-keras3/blob/main/notebooks/01_vanilla_rnn.ipynb)
#
# **Learning goals**
# - write the recurrence $h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b)$ and say what each shape is;
# - implement it in NumPy and get *the same numbers* as `keras.layers.SimpleRNN`;
# - choose between many-to-one and many-to-many outputs (`return_sequences`, `return_state`) and know what `stateful=True` carries between calls;
# - train a character-level language model on real text, judge it by perplexity against a baseline, and sample from it at different temperatures.
#
# **Prerequisites:** NumPy, a first Keras model (`Dense`, `compile`, `fit`). · **Runtime:** about 1.5 min on 2 CPU cores in the `fast` profile; a GPU helps in `full`.

# %% [markdown]
# ## 0 · Setup
# The first cell works both locally (after `make lab`, where `course_lib` is installed, it does nothing) and in Colab, where it installs `course_lib` once — from the course's repository, or from a wheel you uploaded — and keeps Colab's TensorFlow; if that fails it says why and what to do. `runtime.setup` seeds Python, NumPy and Keras, prints versions and the device, and returns the profile: `fast` unless `COURSE_PROFILE=full` is set, on a GPU too. Headline numbers are printed as one `result name=value profile=…` line each, which the README's results table is built from. On a machine without a GPU, TensorFlow's C++ runtime first prints a few lines about missing CUDA drivers to stderr; they are harmless, and no environment variable silences them because they are written before logging is set up.

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

from course_lib import (checks, data, decoding, metrics, models, optimizers, plotting, runtime,
                        scratch, text, training)

PROFILE = runtime.setup(seed=42)

# %% [markdown]
# ## 1 · The idea: one cell, applied at every step
#
# A feed-forward layer sees one input and forgets it. A recurrent layer reads a sequence $x_1, \dots, x_T$ one step at a time and keeps a **hidden state** $h_t$ that summarises everything it has read so far:
#
# $$h_t = \tanh\left(x_t\, W_{xh} + h_{t-1}\, W_{hh} + b\right), \qquad h_0 = 0 \text{ (by default)}.$$
#
# Shapes, written the way Keras stores them (row vectors, batch first):
#
# | symbol | Keras name | shape |
# |---|---|---|
# | $x_t$ | input at step $t$ | (batch, features) |
# | $h_t$ | state / output at step $t$ | (batch, units) |
# | $W_{xh}$ | `kernel` | (features, units) |
# | $W_{hh}$ | `recurrent_kernel` | (units, units) |
# | $b$ | `bias` | (units,) |
#
# Textbooks often write $W_{xh}\,x_t$ with column vectors; Keras' `kernel` is the transpose of that matrix. Unrolled over time, the same cell (the same three weight tensors) is applied at every step:
#
# ```
#         x_1          x_2          x_3                x_T
#          │            │            │                  │
# h_0 ──▶ [cell] ──h_1─▶ [cell] ──h_2─▶ [cell] ──h_3─▶ … [cell] ──▶ h_T
# ```
#
# Because the weights are shared across time, the number of parameters, units·(features + units + 1), does not depend on the sequence length. That is what lets one model read sequences of any length. It is also why training is hard, which is the subject of notebook 02.

# %% [markdown]
# ## 2 · From scratch, then the same numbers as Keras
#
# `course_lib.scratch.rnn_forward` is the recurrence above as a NumPy loop over time, taking the weights in the same layout as `SimpleRNN.get_weights()`: for each step it computes `h = tanh(x[:, t] @ kernel + h @ recurrent_kernel + bias)` and collects every `h`. (You will write that step yourself in exercise 1.) We build a Keras layer with random weights, run both on the same input and a non-zero initial state, and compare.

# %%
rng = np.random.default_rng(0)
batch, time_steps, features, units = 2, 6, 3, 4
x = rng.normal(size=(batch, time_steps, features)).astype("float32")
h0 = rng.normal(size=(batch, units)).astype("float32")

keras_rnn = keras.layers.SimpleRNN(units, return_sequences=True)
keras_states = keras.ops.convert_to_numpy(keras_rnn(x, initial_state=h0))
kernel, recurrent_kernel, bias = keras_rnn.get_weights()
print("kernel", kernel.shape, "| recurrent_kernel", recurrent_kernel.shape, "| bias", bias.shape)
print("Keras output (batch, time, units):", keras_states.shape)

# %%
numpy_states = scratch.rnn_forward(x, h0, kernel, recurrent_kernel, bias)
max_error = np.abs(numpy_states - keras_states).max()
print(f"max |NumPy - Keras| over all {numpy_states.size} values: {max_error:.1e}")
assert max_error < 1e-5, "the NumPy recurrence should reproduce SimpleRNN to float32 precision"

# %% [markdown]
# The difference is float32 rounding: Keras' `SimpleRNN` *is* this loop. From now on we can reason about the Keras layer with the equation in hand.
#
# ## 3 · What comes out: many-to-one, many-to-many, and the state
#
# A recurrent layer can hand back the state at every step or only the last one:
#
# | argument | output shape | typical use |
# |---|---|---|
# | default | (batch, units): $h_T$ only | **many-to-one**: classify a whole sequence |
# | `return_sequences=True` | (batch, time, units): $h_1 \dots h_T$ | **many-to-many**: tag every step, language models, stacking layers |
# | `return_state=True` | adds the final state(s) as extra outputs | hand the summary to a decoder (notebook 06) |
#
# For `SimpleRNN` the output at a step *is* the state, so the last element of the sequence, the many-to-one output and the returned state are the same tensor. (For an LSTM they are not: it has a second, cell state — notebook 03.)

# %%
many_to_many = keras.layers.SimpleRNN(units, return_sequences=True, return_state=True)
sequence, final_state = many_to_many(x)
many_to_one = keras.layers.SimpleRNN(units)
many_to_one.build(x.shape)
many_to_one.set_weights(many_to_many.get_weights())
last_output = many_to_one(x)

for name, tensor in [("return_sequences=True", sequence), ("returned state", final_state),
                     ("default (many-to-one)", last_output)]:
    print(f"{name:>22}: {tuple(tensor.shape)}")
assert np.allclose(sequence[:, -1], final_state) and np.allclose(last_output, final_state)

# %% [markdown]
# **Statefulness.** Normally every call starts from $h_0 = 0$. With `stateful=True` the layer keeps its final state and starts the next call from it, so a long sequence can be fed in pieces: reading the two halves of `x` one after the other gives exactly the state of reading `x` whole. `reset_state()` forgets it. A stateful layer needs a fixed batch size, because row $i$ of one batch continues row $i$ of the previous one. This is the mechanism behind truncated backpropagation through time (notebooks 02 and 03).

# %%
stateful = keras.layers.SimpleRNN(units, stateful=True)
streaming = keras.Sequential([keras.Input(batch_shape=(batch, None, features)), stateful])
stateful.set_weights(many_to_many.get_weights())

streaming(x[:, :3])                      # first half: the state is kept ...
carried = streaming(x[:, 3:])            # ... and the second half continues from it
stateful.reset_state()
from_zero = streaming(x[:, 3:])          # second half alone, from h_0 = 0

gap_carried = float(np.abs(carried - final_state).max())
gap_reset = float(np.abs(from_zero - final_state).max())
print(f"two halves, state carried: max gap to the whole-sequence state = {gap_carried:.1e}")
print(f"second half after reset_state(): max gap = {gap_reset:.2f}")
assert gap_carried < 1e-6 and gap_reset > 1e-2

# %% [markdown]
# ## 4 · A character-level language model on Tiny Shakespeare
#
# A language model predicts the next token from the ones before it. At the character level the vocabulary is tiny (letters, punctuation, newline), and a many-to-many RNN predicts at every position: input `"To be or no"`, target `"o be or not"`.
#
# **Data.** Tiny Shakespeare (1.1 M characters, public domain, compiled by A. Karpathy) comes from the course's dataset registry: `course_lib.data` looks in `COURSE_DATA_DIR`, then its cache, then downloads from the canonical URL, and checks the sha256 every time. The split is by position, 90 / 5 / 5 %, so no validation text leaks into training through overlapping windows. The `fast` profile trains on the first 500 k training characters for 5 epochs; `full` uses all of them for 20 epochs and a wider layer.

# %%
CONFIG = {"fast": dict(train_chars=500_000, epochs=5, units=256),
          "full": dict(train_chars=None, epochs=20, units=512)}[PROFILE]

corpus = data.load_tiny_shakespeare()
vocab = text.char_vocabulary(corpus.train)
train_ids = vocab.encode(corpus.train[: CONFIG["train_chars"]])
val_ids = vocab.encode(corpus.val)
print(f"profile={PROFILE}: {len(train_ids):,} training and {len(val_ids):,} validation characters")
print(f"vocabulary: {len(vocab)} ids (0 = padding, 1 = unknown, then {len(vocab) - 2} characters)")
print(repr(corpus.train[:120]))

# %% [markdown]
# **The baseline to beat.** Perplexity is $\exp$ of the mean cross-entropy per character: the number of equally likely choices the model is, on average, hesitating between. Guessing uniformly gives a perplexity equal to the vocabulary size. A *unigram* model that ignores context and always predicts each character with its training frequency does better. A recurrent model is only worth having if it clearly beats that.

# %%
unigram = metrics.unigram_perplexity(train_ids, val_ids, len(vocab))
print(f"validation perplexity: uniform guess {len(vocab)}, unigram frequencies {unigram:.1f}")

# %% [markdown]
# **The model** (`course_lib.models.char_lm`): embedding (32 dimensions) → `SimpleRNN` returning every step → a dense layer giving one logit per character. Training windows are 100 characters long, in batches of 64, and the loss is cross-entropy on the logits at every position.
#
# Every model in this course is compiled with Keras' own `model.compile`; `**training.fast_settings(model, data)` adds the two compile arguments (`jit_compile`, `steps_per_execution`) that train fastest on the machine at hand. On a GPU that means the fused cuDNN kernels; on a CPU, 16 training steps per call into the compiled graph and, where it measured faster, XLA compilation (`python -m course_lib.bench` measures both against plain Keras; notebook 03 looks at the kernels). It prints what it chose the first time a notebook calls it:

# %%
SEQ_LEN, BATCH = 100, 64
train_ds = text.next_token_dataset(train_ids, SEQ_LEN, BATCH, seed=0)
val_ds = text.next_token_dataset(val_ids, SEQ_LEN, BATCH, shuffle=False)

model = models.char_lm(len(vocab), units=CONFIG["units"], cell="simple_rnn")
model.compile(optimizers.Adam(3e-3),
              keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              **training.fast_settings(model, data=train_ds))
model.summary()

# %%
# train_ds reshuffles its windows every epoch by itself; shuffle=False only tells Keras not to
# try (it cannot shuffle a tf.data pipeline, and says so in a warning otherwise).
history = model.fit(train_ds, validation_data=val_ds, epochs=CONFIG["epochs"], shuffle=False,
                    verbose=2)

# %%
fig = plotting.plot_history(history, baselines={"loss": np.log(unigram)},
                            title=f"SimpleRNN char LM ({PROFILE} profile); dashed: unigram")
plt.show()

# %% [markdown]
# ## 5 · Measure: how much better than the baseline?
#
# The validation loss is a cross-entropy in nats, so its exponential is the perplexity. In the `fast` profile (2 CPU cores) this run reaches about 8.7 against the unigram's 28.0, i.e. under a third (0.31). The assertion below demands at most 0.35 of the unigram perplexity.

# %%
val_perplexity = metrics.perplexity(model.evaluate(val_ds, verbose=0))
ratio = val_perplexity / unigram
print(f"validation perplexity: SimpleRNN {val_perplexity:.2f} vs unigram {unigram:.2f} "
      f"(ratio {ratio:.2f}, profile {PROFILE})")

fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(["uniform", "unigram", "SimpleRNN"], [len(vocab), unigram, val_perplexity],
       color=["lightgray", "gray", "tab:blue"])
ax.set(ylabel="validation perplexity (lower is better)", title="Next-character prediction")
plt.show()
runtime.report("char_lm_val_perplexity", val_perplexity, 2)
runtime.report("char_lm_perplexity_over_unigram", ratio, 2)
assert ratio <= 0.35, f"expected the RNN well below the unigram baseline, got ratio {ratio:.2f}"

# %% [markdown]
# **Sampling.** To generate text we feed a prompt, then repeatedly draw the next character from the model's distribution and feed it back. `course_lib.decoding.sample_text` runs the RNN *one step at a time*, carrying the state, so 300 characters cost 300 cell steps, not 300 passes over a growing prefix. The **temperature** $T$ divides the logits before the softmax: $T<1$ sharpens the distribution (safer, more repetitive), $T>1$ flattens it (more varied, more misspelt).

# %%
samples = {t: decoding.sample_text(model, vocab, "ROMEO:\n", length=600, temperature=t, seed=1)
           for t in (0.5, 1.0)}
for temperature, sample in samples.items():
    print(f"----- temperature {temperature} -----\n{sample[:300]}\n")

# %% [markdown]
# Does the lower temperature really give more "real" text? One number to check: the share of generated words that occur in the training text.

# %%
known_words = set(corpus.train.lower().split())

def share_of_real_words(sample: str) -> float:
    words = sample.lower().split()[1:]  # skip the prompt
    return sum(word in known_words for word in words) / len(words)

real_share = {t: share_of_real_words(s) for t, s in samples.items()}
print({f"T={t}": f"{share:.0%} real words" for t, share in real_share.items()})
assert real_share[0.5] > real_share[1.0]


# %% [markdown]
# ## 6 · Exercises
#
# Each exercise has a cell to complete and a self-check cell. The check runs your function on small cases and prints ✓, or a hint showing the case, the expected and received shape, or the first value that differs.
#
# **Exercise 1 (`ex_1_1`): one step of a vanilla RNN.** Complete `rnn_step` so that it computes $h_t$ from $x_t$ and $h_{t-1}$, with the weights in Keras' layout (section 1).

# %%
# EXERCISE ex_1_1
def rnn_step(x_t, h_prev, kernel, recurrent_kernel, bias):
    """x_t: (batch, features), h_prev: (batch, units) -> h_t: (batch, units)."""
    # BEGIN SOLUTION
    return np.tanh(x_t @ kernel + h_prev @ recurrent_kernel + bias)
    # END SOLUTION


# %%
checks.ex_1_1(rnn_step)


# %% [markdown]
# **Exercise 2 (`ex_1_2`): count the parameters.** Return the number of trainable parameters of `keras.layers.SimpleRNN(units)` reading inputs with `features` features, without building a layer. Then check it against the model above: its `rnn` layer reads 32-dimensional embeddings.

# %%
# EXERCISE ex_1_2
def simple_rnn_param_count(features: int, units: int) -> int:
    # BEGIN SOLUTION
    return features * units + units * units + units
    # END SOLUTION


# %%
checks.ex_1_2(simple_rnn_param_count)
rnn_layer = model.get_layer("rnn")
print("model's rnn layer:", rnn_layer.count_params(), "| your formula:",
      simple_rnn_param_count(32, rnn_layer.units))


# %% [markdown]
# **Exercise 3 (`ex_1_3`): temperature.** Return softmax(logits / temperature) over the last axis. It must not overflow for large logits: subtract the row maximum before exponentiating, which leaves the result unchanged.

# %%
# EXERCISE ex_1_3
def softmax_with_temperature(logits, temperature):
    # BEGIN SOLUTION
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    return np.exp(scaled) / np.exp(scaled).sum(axis=-1, keepdims=True)
    # END SOLUTION


# %%
checks.ex_1_3(softmax_with_temperature)

# %% [markdown]
# ## 7 · Summary
#
# - A vanilla RNN is one cell, $h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b)$, applied at every step with shared weights; `SimpleRNN` computes exactly that (we matched it to 1e-5).
# - `return_sequences` gives every step's state (many-to-many), the default gives the last (many-to-one), `return_state` also hands back the final state; `stateful=True` carries it across calls.
# - Even a small character-level RNN cuts the unigram perplexity to about a quarter, and temperature trades correctness for variety.
#
# **Next:** notebook 02 derives backpropagation through time for this very loop, checks the gradients, and shows why the gradient of an early step vanishes or explodes — the reason plain RNNs fail on long-range dependencies and the reason LSTMs (03) and GRUs (04) exist.
