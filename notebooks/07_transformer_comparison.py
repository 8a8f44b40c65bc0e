# %% [markdown]
# # 07 · Transformers, convolutions and recurrent networks: the same task, an equal budget, measured
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recurrent-course/rnn-keras3/blob/main/notebooks/07_transformer_comparison.ipynb)
#
# **Learning goals**
# - write scaled dot-product self-attention in a few lines and check it against Keras' `MultiHeadAttention`;
# - explain why a transformer needs **positional encodings** (a permutation experiment) and why its decoder needs a **causal mask**;
# - train a small transformer, a temporal convolutional network (TCN) and the attention RNN of notebook 06 on the same task with the same budget, and compare parameters, training time, accuracy and latency;
# - measure how time and memory of a training pass grow with the sequence length (the RNN's $T$ sequential steps against attention's $T^2$ scores), and what one more token costs in **streaming** inference;
# - decide, from these measurements, when a recurrent network is still the right tool.
#
# **Prerequisites:** notebook 06 (attention, teacher forcing, greedy and beam decoding). · **Runtime:** about 2 min on 2 CPU cores in the `fast` profile.

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

# Section 6 measures memory. On a CPU, TensorFlow keeps allocator statistics only with its BFC
# allocator, chosen when TensorFlow starts; only some CPUs get it by default (those where
# TensorFlow turns oneDNN on), so ask for it here, before keras imports TensorFlow.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

import json

import keras
import matplotlib.pyplot as plt
import numpy as np

from course_lib import (checks, comparison, contenders, decoding, metrics, plotting, runtime,
                        synthetic, training, transformer)

PROFILE = runtime.setup(seed=42)

# %%
CONFIG = {
    "fast": dict(date_train=8000, epochs=4, curve_dates=500, rnn_units=64, d_model=48,
                 ff_units=96, tcn_channels=48, tcn_dilations=(1, 2, 4, 8),
                 lengths=(64, 128, 256, 512, 1024, 2048), scaling_batch=4,
                 stream_steps=1536, stream_batch=32),
    "full": dict(date_train=30000, epochs=8, curve_dates=1000, rnn_units=64, d_model=48,
                 ff_units=96, tcn_channels=48, tcn_dilations=(1, 2, 4, 8),
                 lengths=(64, 128, 256, 512, 1024, 2048, 4096), scaling_batch=8,
                 stream_steps=3072, stream_batch=32),
}[PROFILE]
print(CONFIG)

# %% [markdown]
# ## 1 · Self-attention from scratch
#
# In notebook 06 the decoder's state asked a question (the *query*) of the encoder's outputs. **Self-attention** lets every position of a sequence ask a question of every position of the *same* sequence. Each vector $x_i$ is projected three ways, to a query $q_i = x_i W_Q$, a key $k_i = x_i W_K$ and a value $v_i = x_i W_V$, and
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V .$$
#
# Why divide by $\sqrt{d_k}$? A dot product of two vectors with $d_k$ independent unit-variance entries has variance $d_k$. Unscaled scores grow with the width, the softmax saturates onto one position, and its gradients vanish. A quick measurement:

# %%
rng = np.random.default_rng(0)
d_k = 64
q, k = rng.normal(size=(2, 10000, d_k))
dots = np.sum(q * k, axis=-1)
print(f"std of q·k: {dots.std():.2f} (√d_k = {np.sqrt(d_k):.0f}); "
      f"after dividing by √d_k: {(dots / np.sqrt(d_k)).std():.2f}")
assert abs(dots.std() / np.sqrt(d_k) - 1) < 0.05


# %% [markdown]
# **Exercise 7.1 — scaled dot-product attention.** Write it with `keras.ops` (or NumPy): `q` (batch, q_time, depth), `k` (batch, k_time, depth), `v` (batch, k_time, depth_v) and an optional boolean `mask` (batch, q_time, k_time) that is False where a query must not look. Return `(output, weights)`; masked weights must be exactly 0.

# %%
# EXERCISE ex_7_1
def scaled_dot_product_attention(q, k, v, mask=None):
    # BEGIN SOLUTION
    q, k, v = (keras.ops.convert_to_tensor(a, "float32") for a in (q, k, v))
    scores = keras.ops.matmul(q, keras.ops.swapaxes(k, -1, -2)) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = keras.ops.where(mask, scores, -1e9)
    weights = keras.ops.softmax(scores, axis=-1)
    return keras.ops.matmul(weights, v), weights
    # END SOLUTION


# %%
checks.ex_7_1(scaled_dot_product_attention)

# %% [markdown]
# Keras' `MultiHeadAttention` does exactly this, with the projections $W_Q, W_K, W_V$, an output projection $W_O$, and $h$ heads that each attend with their own projections of width `key_dim` (their outputs are concatenated before $W_O$). With one head, our function and four matrix products must reproduce it:

# %%
mha = keras.layers.MultiHeadAttention(num_heads=1, key_dim=16)
x = rng.normal(size=(2, 7, 32)).astype("float32")
keras_output = keras.ops.convert_to_numpy(mha(x, x))  # self-attention: query = value = x
w = {"/".join(v.path.split("/")[-2:]): keras.ops.convert_to_numpy(v) for v in mha.weights}
print({name: value.shape for name, value in w.items()})

q, k, v = ((x @ w[f"{name}/kernel"][:, 0] + w[f"{name}/bias"][0])
           for name in ("query", "key", "value"))
heads, _ = scaled_dot_product_attention(q, k, v)
ours = keras.ops.convert_to_numpy(heads) @ w["attention_output/kernel"][0] \
    + w["attention_output/bias"]
print("largest difference from MultiHeadAttention:", float(np.abs(ours - keras_output).max()))
assert np.allclose(ours, keras_output, atol=1e-5)


# %% [markdown]
# Identical up to float rounding: a multi-head attention layer is this function applied once per head.
#
# ## 2 · The causal mask
#
# A decoder predicts token $t$ from the tokens before it. In training, teacher forcing gives it the whole target at once (as in notebook 06), and self-attention would happily look at token $t$ itself, or beyond, when predicting it. A **causal mask** hides the future: query step $i$ may attend to key step $j$ only if $j \le i$.
#
# **Exercise 7.2 — a causal mask.** Return a (length, length) boolean array, True where attention is allowed.

# %%
# EXERCISE ex_7_2
def causal_mask(length):
    # BEGIN SOLUTION
    return np.tril(np.ones((length, length), dtype=bool))
    # END SOLUTION


# %%
checks.ex_7_2(causal_mask)

# %% [markdown]
# The test that matters: with the mask, changing the future must not change the past. We change positions 4–6 of `x` and compare the outputs at positions 0–3:

# %%
changed = x.copy()
changed[:, 4:] = rng.normal(size=changed[:, 4:].shape)
mask = causal_mask(7)[None]  # (1, 7, 7): the same for every example
for name, m in [("causal mask", mask), ("no mask", None)]:
    before = keras.ops.convert_to_numpy(scaled_dot_product_attention(x, x, x, m)[0])
    after = keras.ops.convert_to_numpy(scaled_dot_product_attention(changed, changed, changed,
                                                                    m)[0])
    print(f"{name:<12} largest change at positions 0-3: {np.abs(after - before)[:, :4].max():.2e}")
    if m is not None:
        assert np.allclose(after[:, :4], before[:, :4], atol=1e-6)
    else:
        assert not np.allclose(after[:, :4], before[:, :4], atol=1e-3)

# %% [markdown]
# With the mask, positions 0–3 do not move at all; without it, every position depends on the future. `course_lib.layers.attention_mask` combines this mask with the padding masks of notebook 06 into the (batch, query_time, key_time) mask that `MultiHeadAttention` takes.
#
# ## 3 · Positions: attention alone sees a set, not a sequence
#
# An RNN reads tokens in order; the order is built into its computation. Self-attention is a weighted average whose weights depend only on the *contents* of the vectors. Shuffle the input positions and the outputs are shuffled the same way and are otherwise unchanged: the layer is **permutation-equivariant**. "Dog bites man" and "man bites dog" would look the same to it. The experiment, with a full transformer encoder block from `course_lib.layers` (self-attention, feed-forward network, residuals, layer norm):

# %%
block = transformer.TransformerEncoderBlock(d_model=32, heads=4, ff_units=64)
positions = transformer.SinusoidalPositionalEncoding()
order = rng.permutation(7)
print("permutation:", order)


def permuted_output_matches(add_positions: bool) -> float:
    """Largest difference between f(x)[order] and f(x[order])."""
    encode = (lambda a: block(positions(a))) if add_positions else block
    return float(np.abs(keras.ops.convert_to_numpy(encode(x))[:, order]
                        - keras.ops.convert_to_numpy(encode(x[:, order]))).max())


without, with_positions = permuted_output_matches(False), permuted_output_matches(True)
print(f"without positions: {without:.1e}    with sinusoidal positions: {with_positions:.2f}")
assert without < 1e-5 and with_positions > 0.1


# %% [markdown]
# Without positions, permuting the input permutes the output exactly, up to rounding; adding a position vector to every input breaks the symmetry. The original transformer adds fixed **sinusoidal** encodings (Vaswani et al., 2017): for position $p$ and pair $i$ of dimensions,
#
# $$PE_{p,\,2i} = \sin\!\left(\frac{p}{10000^{2i/d}}\right), \qquad PE_{p,\,2i+1} = \cos\!\left(\frac{p}{10000^{2i/d}}\right).$$
#
# **Exercise 7.3 — positional encoding values.** Return the (length, depth) array; sin in the even columns, cos in the odd ones.

# %%
# EXERCISE ex_7_3
def positional_encoding(length, depth):
    # BEGIN SOLUTION
    angles = np.arange(length)[:, None] / 10000 ** (np.arange(0, depth, 2)[None, :] / depth)
    encoding = np.zeros((length, depth))
    encoding[:, 0::2], encoding[:, 1::2] = np.sin(angles), np.cos(angles)
    return encoding
    # END SOLUTION


# %%
checks.ex_7_3(positional_encoding)

# %% [markdown]
# Each pair of columns is a clock running at its own speed, from one turn every $2\pi$ positions to one every $2\pi \cdot 10000$. Why this choice? The dot product of two position vectors depends only on their **distance**: $PE_p \cdot PE_{p+k} = \sum_i \cos(k\,\omega_i)$, whatever $p$ is. So relative positions are easy to read off with dot products, which is what attention computes:

# %%
encoding = positional_encoding(128, 32)
similarity = encoding @ encoding.T
for distance in (1, 5, 20):
    values = [similarity[p, p + distance] for p in (0, 17, 60)]
    print(f"distance {distance:>2}: PE_p·PE_p+k at p = 0, 17, 60 -> {np.round(values, 6)}")
    assert np.allclose(values, values[0])

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
left.imshow(encoding.T, aspect="auto", cmap="RdBu")
left.set(xlabel="position p", ylabel="dimension", title="sinusoidal encoding (depth 32)")
right.imshow(similarity, cmap="viridis")
right.set(xlabel="position", ylabel="position", title="PE · PE (depends on distance only)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Constant along every diagonal (the cell checks three distances). The alternative is a **learned** vector per position, `transformer.LearnedPositionalEmbedding(max_length)` (as in BERT and GPT-2): more flexible, but it knows nothing about positions beyond `max_length`. `transformer.positional_layer("sinusoidal" | "learned" | None)` gives either; the transformer below uses the sinusoidal one.
#
# ## 4 · A small transformer encoder–decoder
#
# `course_lib.transformer.TransformerEncoderDecoder` assembles the pieces: token embeddings scaled by $\sqrt{d}$ plus positions, encoder blocks (self-attention over the source, padding masked), decoder blocks (causal self-attention, **cross-attention** to the encoder output — the attention of notebook 06 — and a feed-forward network), a final layer norm and a `Dense` layer to logits. Each sub-layer is normalised *before* it and added back as a residual ("pre-LN", Xiong et al., 2020), which trains without a learning-rate warm-up at our small budgets.
#
# It is called like the RNN of notebook 06, on `(source_ids, target_in)` with teacher forcing, and it has the same inference methods `start_state` and `step`. So the same dataset, loss, `fit`, `greedy_decode` and `beam_search` work for both. The state differs: the RNN decoder carries one vector per layer, while the transformer decoder keeps, per block, a **KV cache**: the keys and values its self-attention computed for every earlier position. A new token projects only itself (its query, key and value: $O(d^2)$ work), appends its key and value to the cache, and attends to all cached positions ($O(n \cdot d)$ for $n$ earlier tokens). Nothing earlier is recomputed, and the cache grows by one key and one value per token (the unit tests check that cached step-wise decoding equals the teacher-forced pass).
#
# **Exercise 7.4 — one KV-cache step, all heads.** Write the step a decoder makes for one new token, in NumPy. `x_t` (batch, d_model) is the token's vector; `keys` and `values` (batch, past, heads, head_dim) are the cache; `w_query`, `w_key`, `w_value` (d_model, heads, head_dim) and `w_output` (heads, head_dim, d_model) are the projections, laid out as Keras' `MultiHeadAttention` stores them (no biases here). Project the token to its query, key and value; append the key and value to the cache; let each head attend with $\mathrm{softmax}(q K^\top / \sqrt{d_{head}})$ over all cached positions *and the token itself*; combine the heads with `w_output`. Return `(output (batch, d_model), keys, values)` with the caches one position longer. `np.einsum` keeps the head axis readable.

# %%
# EXERCISE ex_7_4
def kv_cache_step(x_t, keys, values, w_query, w_key, w_value, w_output):
    # BEGIN SOLUTION
    query = np.einsum("bd,dhk->bhk", x_t, w_query)
    keys = np.concatenate([keys, np.einsum("bd,dhk->bhk", x_t, w_key)[:, None]], axis=1)
    values = np.concatenate([values, np.einsum("bd,dhk->bhk", x_t, w_value)[:, None]], axis=1)
    scores = np.einsum("bhk,bnhk->bhn", query, keys) / np.sqrt(query.shape[-1])
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    context = np.einsum("bhn,bnhk->bhk", weights, values)
    return np.einsum("bhk,hkd->bd", context, w_output), keys, values
    # END SOLUTION


# %%
checks.ex_7_4(kv_cache_step)

# %% [markdown]
# **Exercise 7.5 — multi-head self-attention over a whole sequence.** Now the training-time version of the same computation, for every position at once. `x` (batch, time, d_model) and the same four projections as in Exercise 7.4; `causal` says whether position $t$ may look only at positions $\le t$ (the decoder) or at all of them (the encoder). Project `x` to queries, keys and values (batch, time, heads, head_dim); per head, scores $q k^\top / \sqrt{d_{head}}$ (batch, heads, time, time); with `causal`, set the scores above the diagonal to $-\infty$; softmax over the last axis; weighted sum of the values; combine the heads with `w_output` into (batch, time, d_model). Every position in one einsum is exactly what a recurrence cannot do, and it costs a (time × time) score matrix per head. A property worth checking yourself: with `causal=True`, the last position of your output equals what your `kv_cache_step` returns for the last token given the cache of all earlier ones. The check compares with a reference that the unit tests compare with Keras' `MultiHeadAttention`.

# %%
# EXERCISE ex_7_5
def multi_head_attention(x, w_query, w_key, w_value, w_output, causal):
    # BEGIN SOLUTION
    query, key, value = (np.einsum("btd,dhk->bthk", x, w) for w in (w_query, w_key, w_value))
    scores = np.einsum("bqhk,bnhk->bhqn", query, key) / np.sqrt(query.shape[-1])
    if causal:
        allowed = np.tril(np.ones((x.shape[1], x.shape[1]), bool))
        scores = np.where(allowed, scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    context = np.einsum("bhqn,bnhk->bqhk", weights, value)
    return np.einsum("bqhk,hkd->bqd", context, w_output)
    # END SOLUTION


# %%
checks.ex_7_5(multi_head_attention)

# %% [markdown]
# Run token by token from an empty cache, the step must reproduce Keras' `MultiHeadAttention` over the whole sequence with a causal mask, position by position, using the layer's own weights:

# %%
causal_mha = keras.layers.MultiHeadAttention(num_heads=4, key_dim=8, use_bias=False)
sequence = np.random.default_rng(74).normal(size=(2, 9, 32)).astype("float32")
full_pass = keras.ops.convert_to_numpy(causal_mha(sequence, sequence, use_causal_mask=True))
projections = [keras.ops.convert_to_numpy(dense.kernel) for dense in (
    causal_mha.query_dense, causal_mha.key_dense, causal_mha.value_dense, causal_mha.output_dense)]
cache_keys = cache_values = np.zeros((2, 0, 4, 8), "float32")
stepped = []
for t in range(sequence.shape[1]):
    out, cache_keys, cache_values = kv_cache_step(sequence[:, t], cache_keys, cache_values,
                                                  *projections)
    stepped.append(out)
step_error = float(np.abs(np.stack(stepped, axis=1) - full_pass).max())
print(f"cache after 9 steps: {cache_keys.shape}; max |steps - causal MultiHeadAttention| "
      f"{step_error:.1e}")
assert step_error < 1e-4 and cache_keys.shape == (2, 9, 4, 8)

# %% [markdown]
# The task is the date normalisation of notebook 06, same data and held-out test dates:

# %%
dates = synthetic.date_task(CONFIG["date_train"])
START_ID, END_ID = dates.start_id, dates.end_id
print(f"{len(dates.train)} training pairs, {len(dates.dataset)} batches per epoch; "
      f"{len(dates.test)} held-out dates, e.g. {dates.test[0][0]!r} -> {dates.test[0][1]}")


builders = contenders.date_builders(
    dates, rnn_units=CONFIG["rnn_units"], d_model=CONFIG["d_model"], ff_units=CONFIG["ff_units"],
    tcn_channels=CONFIG["tcn_channels"], tcn_dilations=CONFIG["tcn_dilations"])
# the longest sequence the TCN must see whole: the widest padded source batch + the target
longest_source = max(source.shape[1] for (source, _), _ in dates.dataset)
longest_target = max(target_in.shape[1] for (_, target_in), _ in dates.dataset)
tcn_field = builders["tcn"]().receptive_field
print(f"TCN receptive field {tcn_field} positions; longest source + target: "
      f"{longest_source} + {longest_target} = {longest_source + longest_target}")
assert tcn_field == 1 + 2 * (3 - 1) * sum(CONFIG["tcn_dilations"])
assert tcn_field >= longest_source + longest_target

# %% [markdown]
# The contenders: a GRU encoder and decoder with 64 units and additive attention (notebook 06's model), one transformer encoder and one decoder block of width 48 with 4 heads, and a **temporal convolutional network** (`course_lib.tcn.TCNSeq2Seq`), all sized to similar parameter counts.
#
# A TCN is a stack of *causal*, *dilated* 1-D convolutions: each output sees only the current and earlier positions, and each block doubles the spacing (dilation 1, 2, 4, 8) between the positions its kernel reads, so the window an output can see — the **receptive field** — grows exponentially with depth: $1 + 2(k-1)\sum_i d_i$ for blocks of two convolutions with kernel $k$. Beyond that window the TCN sees nothing, however long it trains. Ours is decoder-only: source and target run as one sequence, the loss is taken on the target positions, and its receptive field of 61 must cover the longest source plus target (computed above). Like the transformer, it trains all positions in parallel; like the RNN, its decoding state has a fixed size (the last 60 positions).
#
# ## 5 · Same task, equal budget
#
# All three see the same batches in the same order for the same number of epochs, so the same number of optimiser steps (`contenders.train_date_model` gives every model a fresh copy of the shuffled batches: one copy would reshuffle on, and the second model would see other batch orders than the first). And each gets its learning rate by the same procedure (`course_lib.contenders`, run by `tools/tune_learning_rates.py`, fast-profile budget): Adam at each of six rates from 3e-4 to 2e-2, the same four epochs, scored by exact match on 500 *validation* dates that are neither training nor test dates; the best rate wins. A hand-picked rate for one model and a guessed one for another would decide the comparison before it starts: transformers in particular are touchy about the rate. The record of that run ships with `course_lib`:

# %%
tuning = json.loads(contenders.TUNING_FILE.read_text())
LEARNING_RATES = contenders.tuned_rates()
print(f"validation exact match after {tuning['budget']['epochs']} epochs "
      f"({tuning['budget']['date_train']:,} training dates, seed {tuning['budget']['seed']}):")
print(f"{'rate':<15}" + "".join(f"{float(rate):>9g}" for rate in tuning["rates"]))
for name, by_rate in tuning["validation_exact_match"].items():
    print(f"{name:<15}" + "".join(f"{score:>9.3f}" for score in by_rate.values())
          + f"   -> {LEARNING_RATES[name]:g}")
assert set(LEARNING_RATES) == set(builders)

# %% [markdown]
# Every contender has a clear best rate inside the grid, and they are not the same: the RNN and the TCN want 1e-2, the transformer 1e-3, and the transformer is the one that falls apart at the top of the grid (0.000 at 2e-2). The RNN's rate is the lowest of two that tie (1.000 at 1e-2 and at 2e-2). A rate copied from one architecture to another would have handicapped one of them. The same procedure is also honest about its limit: one seed per rate, so two rates a few hundredths apart are a tie.
#
# After every epoch an `EpochMetric` callback measures exact match on 500 held-out test dates, so we also get learning curves against steps and against seconds (the evaluation time is not counted). `comparison.compare_contenders` trains, evaluates and times all three in the same way:

# %%
curve_source = dates.test_source[:CONFIG["curve_dates"]]
curve_iso = dates.test_iso[:CONFIG["curve_dates"]]


def greedy_iso(model, source_ids):
    """Greedy-decode a batch of dates into ISO strings."""
    return contenders.greedy_iso(model, dates, source_ids)


def train(model):
    curve = comparison.EpochMetric("exact_match", lambda m: metrics.exact_match(
        greedy_iso(m, curve_source), curve_iso))
    return contenders.train_date_model(model, dates, LEARNING_RATES[model.name],
                                       CONFIG["epochs"], [curve, training.ProgressLine()])


results = comparison.compare_contenders(
    builders, train,
    evaluate=lambda m: metrics.exact_match(greedy_iso(m, dates.test_source), dates.test_iso),
    infer=lambda m: greedy_iso(m, curve_source), seed=42)
print(comparison.contender_table(results, "exact match",
                                 f"greedy {CONFIG['curve_dates']} dates"))
by_name = {r.name: r for r in results}
for name in ("transformer", "tcn"):
    assert abs(by_name[name].parameters / by_name["attention_rnn"].parameters - 1) < 0.15
for r in results:
    print(f"{r.name:<15} exact match after each epoch:",
          [round(v, 3) for v in r.history["exact_match"]])

# %%
fig, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
for r in results:
    logs = r.history
    steps = len(dates.dataset) * np.arange(1, len(logs["exact_match"]) + 1)
    by_epoch.plot(steps, logs["exact_match"], "o-", label=r.name)
    by_time.plot(logs["train_seconds"], logs["exact_match"], "o-", label=r.name)
by_epoch.set(xlabel="optimiser steps", ylabel="exact match (500 held-out dates)")
by_time.set(xlabel="training seconds (this machine)")
for ax in (by_epoch, by_time):
    ax.grid(alpha=0.3)
    ax.legend()
fig.suptitle(f"dates, {PROFILE} profile")
fig.tight_layout()
plt.show()

rnn_curve = by_name["attention_rnn"].history["exact_match"]
transformer_curve = by_name["transformer"].history["exact_match"]
for contender in ("attention_rnn", "transformer", "tcn"):
    runtime.report(f"dates_exact_match_{contender}", by_name[contender].metric)
tcn_curve = by_name["tcn"].history["exact_match"]
# floors that say each model learnt the task (a random output is never an exact date). The
# TCN's score at its edge-of-stable rate swings between machines and seeds: fast profile, seeds
# 42 and 1-5 on one machine: 0.36-0.69 (and 0.49 for seed 42 on another), after ~0.04 at epoch 1
assert by_name["attention_rnn"].metric >= 0.9 and by_name["tcn"].metric >= 0.25
# The small-budget picture. With the full profile's budget all three approach the ceiling, so
# these are claimed for the fast profile only; each run prints which of them hold.
small_budget = {
    "the transformer is still climbing (+0.2 since epoch 1)":
        transformer_curve[-1] > transformer_curve[0] + 0.2,
    "the TCN is still climbing (+0.2 since epoch 1)": tcn_curve[-1] > tcn_curve[0] + 0.2,
    "the attention RNN leads the transformer by > 0.05":
        by_name["attention_rnn"].metric > by_name["transformer"].metric + 0.05,
    "the attention RNN leads the TCN by > 0.05":
        by_name["attention_rnn"].metric > by_name["tcn"].metric + 0.05}
for claim, holds in small_budget.items():
    print(f"{PROFILE} profile: {claim}: {'yes' if holds else 'no'}")
if PROFILE == "fast":
    assert all(small_budget.values()), small_budget

# %% [markdown]
# The transformer's and the TCN's parameter counts are within 15 % of the RNN's. In this budget the attention RNN is ahead: it reaches at least 0.9 exact match on the held-out dates, and the transformer is more than 0.05 behind it (fast profile; the table has the numbers). The transformer's curve is still climbing steeply at the end (more than +0.2 since the first epoch), so this is a statement about a *small* budget, not about the architectures in general: with the `full` profile's budget (30,000 training dates, 8 epochs) the three close up near the ceiling (the README's results table, `dates_exact_match_*`, full column), and the cell above prints which of the small-budget claims still hold. The TCN lands behind the RNN in this run (fast profile: more than 0.05 behind, the table has its score) and is far from done: it gained more than 0.2 since the first epoch, unevenly at its rate of 1e-2. When it decodes, the TCN keeps for each convolution a queue of the inputs that convolution will still read, $(k-1)\,d$ of them (the "fast WaveNet" cache of Paine et al., 2016), so a new token costs one output per convolution instead of a pass over the whole 61-position window; the latency column shows what each model's step costs on this machine. The RNN's recurrence is a built-in assumption that nearby characters belong together, and with few steps an assumption that fits the data is worth a lot. The transformer has to learn from data where each digit comes from, and that takes more steps.
#
# Training time per step and latency are measured on this machine (2 CPU cores in CI). On a GPU both models train far faster, and the transformer's parallel layers usually gain more; we have not measured that here, so run the `full` profile on a GPU to see.
#
# The transformer plugs into the same decoders, beam search included:

# %%
transformer_model = by_name["transformer"].model
beam_ids, _ = decoding.beam_search(transformer_model, curve_source, START_ID, END_ID, max_length=11,
                                   beam_width=4)
beam_iso = decoding.to_texts(beam_ids[:, 0], dates.target_vocab, END_ID)
greedy_exact = metrics.exact_match(greedy_iso(transformer_model, curve_source), curve_iso)
beam_exact = metrics.exact_match(beam_iso, curve_iso)
print(f"transformer, {len(curve_iso)} held-out dates: greedy {greedy_exact:.3f}, "
      f"beam 4 {beam_exact:.3f}")
for (written, iso, _), out in list(zip(dates.test, beam_iso, strict=False))[:4]:
    print(f"  {written!r:<32} -> {out}  {'✓' if out == iso else '✗ ' + iso}")
assert beam_exact >= greedy_exact - 0.02

# %% [markdown]
# Beam search scores about as well as greedy decoding here (both rates are printed; never more than 0.02 worse). It finds outputs the model rates more probable, and on dates those are usually, not always, the right ones.
#
# ## 6 · Scaling with sequence length
#
# Where do the two families differ in kind? In how a training pass grows with the sequence length $T$:
#
# - an RNN layer makes $T$ **sequential** steps, each costing the same; time and the memory for the saved states grow as $O(T)$, but the steps cannot run in parallel;
# - a self-attention layer computes all $T \times T$ scores **at once**. That is parallel, but time and memory grow as $O(T^2)$.
#
# With the width $d$ written out (Vaswani et al., 2017, Table 1): a recurrent layer does $O(T \cdot d^2)$ work in $O(T)$ sequential steps, and information from position 1 needs $O(T)$ steps to reach position $T$; self-attention does $O(T^2 \cdot d)$ work in $O(1)$ sequential steps, with a path of length $O(1)$ between any two positions. So in FLOPs attention is the *cheaper* of the two while $T < d$, and the quadratic term wins only beyond. Wall-clock time adds constant factors that FLOPs ignore: the LSTM's $T$ small steps each pay a fixed overhead, and attention's few big matrix products run near the machine's peak. That is why, on this CPU, attention stays the faster of the two far beyond $T = d = 64$ (the measurements below).
#
# `comparison.scaling_curves` times one forward + backward pass (compiled with `tf.function`) of one layer of each kind, at equal width 64, on random inputs of growing length, and reads the peak memory the pass allocates from TensorFlow's allocator statistics. It times every pass in three rounds that take turns over all lengths and both layers, and keeps each pass's fastest round: load from elsewhere on the machine only ever slows a pass, so a busy moment spoils one round of a few points, which the minimum discards, instead of bending one curve:

# %%
assert comparison.memory_stats_device() is not None, (
    "TensorFlow keeps no memory statistics in this kernel: restart it and run the notebook from "
    "the top (the setup cell sets TF_CPU_ALLOCATOR_USE_BFC before TensorFlow starts)")
scaling = comparison.scaling_curves(
    {"LSTM (64 units)": lambda: keras.layers.LSTM(64, return_sequences=True),
     "transformer block (d=64, 4 heads)": lambda: transformer.TransformerEncoderBlock(64, 4, 128)},
    CONFIG["lengths"], batch=CONFIG["scaling_batch"], features=64, repeats=3)
print(f"{'T':>6}" + "".join(f"{name:>36}" for name in scaling))
for length in CONFIG["lengths"]:
    print(f"{length:>6}" + "".join(
        f"{curve[length].seconds * 1000:>20.1f} ms {curve[length].peak_bytes / 2**20:>9.1f} MiB"
        for curve in scaling.values()))

# %%
seconds = {name: {n: c.seconds for n, c in curve.items()} for name, curve in scaling.items()}
mebibytes = {name: {n: c.peak_bytes / 2**20 for n, c in curve.items()}
             for name, curve in scaling.items()}
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
plotting.plot_scaling(seconds, "seconds per forward + backward pass", ax=left,
                      title=f"time, batch {CONFIG['scaling_batch']} ({PROFILE})")
plotting.plot_scaling(mebibytes, "peak memory of the pass (MiB)", ax=right, title="memory")
fig.tight_layout()
plt.show()

longest = CONFIG["lengths"][-3:]  # fit the exponent where the leading term dominates
slopes = {name: {"time": comparison.loglog_slope(longest, [seconds[name][n] for n in longest]),
                 "memory": comparison.loglog_slope(longest,
                                                   [mebibytes[name][n] for n in longest])}
          for name in scaling}
for name, slope in slopes.items():
    print(f"{name:<36} time ∝ T^{slope['time']:.2f}   memory ∝ T^{slope['memory']:.2f}")
lstm_name, attention_name = scaling
shortest, longest_length = CONFIG["lengths"][0], CONFIG["lengths"][-1]
time_ratio = {n: seconds[attention_name][n] / seconds[lstm_name][n]
              for n in (shortest, longest_length)}
memory_ratio = mebibytes[attention_name][longest_length] / mebibytes[lstm_name][longest_length]
print(f"attention time / LSTM time: {time_ratio[shortest]:.2f} at T={shortest}, "
      f"{time_ratio[longest_length]:.2f} at T={longest_length}; "
      f"memory at T={longest_length}: {memory_ratio:.0f}x the LSTM's")
assert slopes[lstm_name]["memory"] < 1.3 and slopes[attention_name]["memory"] > 1.6
# wall-clock time is noisy on a shared CPU: compare the exponents fitted on the longest lengths,
# where the T^2 term dominates (stored run: 1.78 against 1.18), not two single timings
assert slopes[attention_name]["time"] > slopes[lstm_name]["time"] + 0.25, slopes

# %% [markdown]
# The measured memory exponents (fitted on the three longest lengths, printed above) match the theory: the LSTM's memory grows linearly and the attention block's quadratically (exponents below 1.3 and above 1.6). Time follows on this CPU, with more noise: over the same three lengths the attention block's time grows with a clearly larger exponent than the LSTM's (by more than 0.25), and its time relative to the LSTM's grows between the shortest and the longest length (the ratios are printed). At short lengths the attention block is the faster of the two in this run, because its work is a few large matrix products while the LSTM takes $T$ small steps one after another. As $T$ grows, the $T^2$ term takes over: relative to the LSTM's, the attention block's time grows steadily with $T$ (the ratios are printed), so beyond some length the LSTM is the faster of the two. Whether that length falls inside the measured range depends on the machine and the run; the `full` profile measures up to 4096.
#
# On a GPU the picture shifts: the LSTM's sequential steps leave most of the GPU idle, while attention's large matrix products use it well, so the transformer is usually faster until its $T^2$ memory runs out. (Not measured here: this machine has no GPU. The `full` profile runs the same cell with length 4096.) Memory-efficient attention kernels (FlashAttention) avoid storing the $T \times T$ matrix, but the work still grows as $T^2$.
#
# ## 7 · Streaming: what one more token costs
#
# Now inference, one token at a time, as in a live transcript or a sensor stream. The RNN decoder's state is a fixed-size vector, so every step costs the same. The transformer decoder attends to its KV cache of all earlier positions, which grows by one position per step. `comparison.streaming_costs` feeds tokens to the trained date models of section 5 through the same `step` method the decoders use, and times every step, for a batch of streams, far beyond the 11 tokens they were trained for (only the cost matters here). The three models take turns, 64 tokens each, so a moment of load on the machine slows all three at about the same point of the stream rather than bending one model's curve. Why not one token each: a model stepping right after the transformer finds the processor's cache full of the transformer's KV cache, which grows with the stream; measured that way, the RNN's and the TCN's constant per-token cost seemed to grow 1.4–1.9× over the stream on this course's test machine, with either one or two cores, and stayed flat in blocks:

# %%
streams = dates.test_source[:CONFIG["stream_batch"]]
digit = dates.target_vocab.id_of("1")
streaming = comparison.streaming_costs({r.name: r.model for r in results}, streams, digit,
                                       CONFIG["stream_steps"])
steps = CONFIG["stream_steps"]
checkpoints = [32, steps // 4, steps // 2, steps]
print(f"{'':<15}" + "".join(f"{'step ' + str(c):>12}" for c in checkpoints)
      + "   state after the last step")
for name, cost in streaming.items():
    print(f"{name:<15}" + "".join(f"{cost.window_median(c) * 1000:>9.2f} ms" for c in checkpoints)
          + f"   {cost.state_bytes[-1] / 1024:,.0f} KiB")

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.4))
for name, cost in streaming.items():
    smooth = [cost.window_median(t) * 1000 for t in range(16, steps + 1, 16)]
    left.plot(range(16, steps + 1, 16), smooth, label=name)
    right.plot(np.arange(1, steps + 1), cost.state_bytes / 1024, label=name)
left.set(xlabel="tokens so far", ylabel="ms per step (median of 32)",
         title=f"time per token, {len(streams)} streams")
right.set(xlabel="tokens so far", ylabel="state (KiB)", title="decoder state")
for ax in (left, right):
    ax.grid(alpha=0.3)
    ax.legend()
fig.tight_layout()
plt.show()

rnn_stream, transformer_stream = streaming["attention_rnn"], streaming["transformer"]
growth = {name: cost.growth(width=64) for name, cost in streaming.items()}
print("per-token time, last steps / first steps:", {k: round(v, 2) for k, v in growth.items()})
assert len(set(rnn_stream.state_bytes)) == 1  # constant state
cache_growth = np.diff(transformer_stream.state_bytes)
# + one key and one value of d_model float32 per stream and step
assert np.all(cache_growth == len(streams) * 2 * CONFIG["d_model"] * 4)
assert len(set(streaming["tcn"].state_bytes)) == 1  # a fixed window
assert growth["tcn"] < 1.6 and growth["attention_rnn"] < 1.6
assert growth["transformer"] > 1.5 * max(growth["attention_rnn"], growth["tcn"])

# %% [markdown]
# The RNN's state never changes size and its per-token time stays flat up to timing noise (less than 1.6× from the first steps to the last). The TCN behaves the same way: its state is a fixed set of queues, one per convolution, so each token costs the same, and anything older than the receptive field is forgotten for good. The transformer's KV cache grows by exactly one key and one value of `d_model` floats per stream and step, and its per-token time grows with it, since each token reads the whole cache: its ratio of last to first steps is more than 1.5 times the larger of the other two (the ratios are printed). After $n$ tokens the transformer has done $O(n^2)$ attention work in total; the RNN, $O(n)$. Production transformers bound this with a sliding window or by summarising old context, and that is exactly a step back towards a recurrent state.
#
# ## 8 · When recurrent networks still make sense
#
# From the measurements in this notebook (2 CPU cores, fast profile), not from folklore:
#
# - **Streaming and online processing.** Constant work and memory per step, however long the stream (section 7; the TCN shares this, with a state the size of its receptive field and no memory beyond it): keyword spotting, sensor and control loops, online handwriting, on-device speech. A transformer needs a window or a cache that grows.
# - **Small data and small compute.** With a few hundred optimiser steps the attention RNN was clearly ahead on dates (section 5). The recurrence builds in an assumption about order that the transformer has to learn.
# - **Long sequences on small devices.** A training pass over $T$ steps needs $O(T)$ memory for the LSTM and $O(T^2)$ for attention (section 6). At the longest length measured here the attention block needed many times the LSTM's memory (the ratio is printed in section 6).
# - **Where transformers win.** Parallel training on accelerators, direct access to any earlier position (no information has to survive hundreds of recurrent steps), and scale: with lots of data and compute the transformer's weak assumptions become a strength. That is why they dominate language modelling.
#
# **Modern recurrent models** narrow the gap from the other side. What makes a recurrence trainable in parallel is that its gates depend on the input $x_t$ only, not on the previous state $h_{t-1}$: then $h_t = a_t \odot h_{t-1} + b_t$ is linear in the state, and all $T$ states follow from a parallel (associative) scan in $O(\log T)$ sequential steps, while inference still carries a constant-size state. minGRU and minLSTM, the LRU, S5 and Mamba train this way. S4 trains through the equivalent long convolution instead, RetNet through an attention-like parallel form, and in xLSTM only the mLSTM block is parallel: the sLSTM keeps its dependence on $h_{t-1}$ and stays sequential, like the LSTM here. The trade-off measured in sections 6 and 7 is exactly what they are designed around.
#
# ## 9 · Summary
#
# - Self-attention is $\mathrm{softmax}(QK^\top/\sqrt{d_k})\,V$ (scaling keeps the scores' spread independent of the width); `MultiHeadAttention` is that, once per head, between learnt projections (reproduced above to 1e-5).
# - Without positions attention is permutation-equivariant (measured); sinusoidal encodings add order, and their dot products depend only on the distance between positions.
# - A causal mask keeps a decoder from reading the future during teacher-forced training; step-wise decoding gets causality for free and reuses a KV cache: the keys and values of earlier positions.
# - Same task, same steps: at this small budget the attention RNN beat a transformer and a TCN of the same size on held-out dates; both were still improving fast. A TCN sees exactly its receptive field, $1 + 2(k-1)\sum_i d_i$ positions, and streams with a fixed-size state.
# - Cost: LSTM time and memory grow as $T$, attention as $T^2$ (measured exponents above). In streaming, the RNN's cost per token is constant; the transformer's grows with the context.
#
# **Where next:** notebook 09 builds the modern recurrent layers of the paragraph above (minGRU, a diagonal and a selective layer), trains them with a parallel scan and compares them with the LSTM and the transformer. Notebook 08 is the appendix on training practice. Read Vaswani et al. (2017) for the transformer and Gu & Dao (2023, Mamba) for a modern recurrent model.
