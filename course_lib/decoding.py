"""Decoding: sampling text from a language model, and greedy and beam search for any
encoder–decoder that speaks the course's step-wise decoding protocol.

**Sampling.** The model must come from :func:`course_lib.models.char_lm` (layers
``embedding``, ``rnn``, ``logits``): the sampler runs ``rnn.cell`` step by step, carrying the
state, so generating n characters costs n cell steps rather than n full passes over a growing
prefix.

**The decoding protocol** (:class:`StepwiseDecoder`), described once here and implemented by
the recurrent :class:`course_lib.seq2seq.EncoderDecoder`, the
:class:`course_lib.transformer.TransformerEncoderDecoder` and the
:class:`course_lib.tcn.TCNSeq2Seq`:

- ``start_state(source_ids (batch, source_time) int) -> state``: encode the source once; the
  state is a list of arrays with a leading batch axis, ``[encoder_output, source_mask, *rest]``;
- ``step(token_ids (batch,) int, state) -> (log_probs (batch, target_vocab), next_state)``:
  one decoder step. ``rest`` is what each model carries: the recurrent state (fixed size), the
  transformer's growing cache, the TCN's fixed window.

:class:`StepwiseDecoding` gives a model ``step`` from its ``_step``, compiled once; greedy and
beam search only ever call the two protocol methods, so they decode every model the same way.
"""

from __future__ import annotations

import warnings
from typing import Protocol

import keras
import numpy as np
import tensorflow as tf
from keras import ops

__all__ = [
    "StepwiseDecoder", "StepwiseDecoding", "softmax_with_temperature", "sample_ids",
    "sample_text", "greedy_decode", "length_penalty", "beam_search", "strip_special",
    "to_texts",
]


class StepwiseDecoder(Protocol):
    """What :func:`greedy_decode` and :func:`beam_search` need of a model (see the module
    docstring for the shapes)."""

    def start_state(self, source_ids: np.ndarray) -> list[np.ndarray]: ...

    def step(self, token_ids: np.ndarray, state: list[np.ndarray]
             ) -> tuple[np.ndarray, list[np.ndarray]]: ...


class StepwiseDecoding:
    """The ``step`` of the decoding protocol, shared by the recurrent and the transformer
    encoder–decoder. A model provides ``_step(tokens (batch, 1), encoder_output, source_mask,
    *rest) -> [log_probs (batch, vocab), *next_rest]``; its state is ``[encoder_output,
    source_mask, *rest]`` with a leading batch axis everywhere."""

    _compiled_step = None

    def step(self, token_ids, state: list[np.ndarray]):
        """One decoder step for a batch: token_ids (batch,) int -> log-probabilities
        (batch, target_vocab) float32 and the next state (same layout as ``start_state``).
        Compiled once with ``tf.function`` (batch size and state lengths may vary)."""
        if self._compiled_step is None:
            self._compiled_step = tf.function(self._step, reduce_retracing=True)
        with warnings.catch_warnings():  # attending to a single position (a one-token source,
            # the transformer's first step) makes Keras warn while tracing that a softmax over
            # one element is always 1: intended here
            warnings.filterwarnings("ignore", message="You are using a softmax over axis")
            log_probs, *rest = self._compiled_step(
                ops.convert_to_tensor(np.asarray(token_ids, np.int32)[:, None]), *state)
        return ops.convert_to_numpy(log_probs), [state[0], state[1],
                                                 *(ops.convert_to_numpy(r) for r in rest)]


def softmax_with_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities softmax(logits / temperature) over the last axis.

    Temperature < 1 sharpens the distribution (safer, more repetitive text), > 1 flattens it.
    """
    if temperature <= 0:
        raise ValueError(f"expected temperature > 0, got {temperature}")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    probs = np.exp(scaled)
    return probs / probs.sum(axis=-1, keepdims=True)


def sample_ids(model, prompt_ids: np.ndarray, length: int, temperature: float = 1.0,
               seed: int = 0, banned_ids: tuple[int, ...] = ()) -> np.ndarray:
    """Continue ``prompt_ids`` (batch, prompt_len) by ``length`` sampled ids, never sampling
    ``banned_ids`` (e.g. padding and unknown).

    Returns:
        (batch, length) int32 generated ids (the prompt excluded).
    """

    prompt_ids = np.atleast_2d(np.asarray(prompt_ids, dtype=np.int32))
    if prompt_ids.shape[1] == 0:
        raise ValueError("expected a prompt of at least one token, got an empty one")
    embed, rnn, head = (model.get_layer(name) for name in ("embedding", "rnn", "logits"))
    batch = prompt_ids.shape[0]
    sizes = rnn.cell.state_size if isinstance(rnn.cell.state_size, (list, tuple)) else [
        rnn.cell.state_size]
    states = [keras.ops.zeros((batch, size)) for size in sizes]
    rng = np.random.default_rng(seed)
    generated, next_ids = [], prompt_ids[:, 0]
    for step in range(prompt_ids.shape[1] - 1 + length):
        output, states = rnn.cell(embed(next_ids), states)
        states = states if isinstance(states, (list, tuple)) else [states]
        if step + 1 < prompt_ids.shape[1]:  # still reading the prompt
            next_ids = prompt_ids[:, step + 1]
            continue
        logits = keras.ops.convert_to_numpy(head(output))
        logits[:, list(banned_ids)] = -np.inf
        probs = softmax_with_temperature(logits, temperature)
        next_ids = np.array([rng.choice(probs.shape[-1], p=p) for p in probs], dtype=np.int32)
        generated.append(next_ids)
    return np.stack(generated, axis=1)


def sample_text(model, vocabulary, prompt: str, length: int = 200, temperature: float = 1.0,
                seed: int = 0) -> str:
    """``prompt`` followed by ``length`` characters sampled from ``model``."""
    ids = sample_ids(model, vocabulary.encode(prompt)[None, :], length, temperature, seed,
                     banned_ids=(vocabulary.pad_id, vocabulary.unk_id))
    return prompt + vocabulary.decode(ids[0])


# --------------------------------------------------------------------------------------------
# sequence-to-sequence decoding: greedy and beam search over a step function
# --------------------------------------------------------------------------------------------
#
# A seq2seq model decodes through two methods (see course_lib.seq2seq.EncoderDecoder):
#   model.start_state(source_ids) -> list of arrays, each with a leading batch axis
#   model.step(token_ids (batch,), state) -> (log_probs (batch, vocab), next state)
# The functions below only use those two, so they decode any model that provides them.


def _gather(state: list[np.ndarray], rows: np.ndarray) -> list[np.ndarray]:
    """Every state array re-indexed along its batch axis."""
    return [np.take(s, rows, axis=0) for s in state]


def greedy_decode(model: StepwiseDecoder, source_ids: np.ndarray, start_id: int, end_id: int,
                  max_length: int) -> np.ndarray:
    """Pick the most likely token at every step, for a whole batch at once.

    Args:
        source_ids: (batch, source_time) int ids.

    Returns:
        (batch, max_length) int32 ids; each row ends at its first ``end_id`` (kept) and is
        padded with 0 after it.
    """
    state = model.start_state(source_ids)
    batch = len(source_ids)
    tokens = np.full(batch, start_id, np.int32)
    output = np.zeros((batch, max_length), np.int32)
    finished = np.zeros(batch, bool)
    for t in range(max_length):
        log_probs, state = model.step(tokens, state)
        log_probs[:, 0] = -np.inf  # padding is never an output
        tokens = np.where(finished, end_id, log_probs.argmax(-1)).astype(np.int32)
        output[:, t] = np.where(finished, 0, tokens)
        finished |= tokens == end_id
        if finished.all():
            break
    return output


def length_penalty(length: np.ndarray, alpha: float) -> np.ndarray:
    """Wu et al. (2016) length normalisation ((5 + length) / 6) ** alpha; alpha = 0 turns it off
    (then a beam's score is its plain log-probability, which favours short outputs)."""
    return ((5.0 + np.asarray(length, np.float64)) / 6.0) ** alpha


def _top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k largest values per row, largest first (ties: lower index)."""
    if k >= values.shape[1]:
        return np.argsort(-values, axis=1, kind="stable")[:, :k]
    part = np.argpartition(-values, k - 1, axis=1)[:, :k]
    # order the k by value, then by index, so the result does not depend on argpartition
    order = np.lexsort((part, -np.take_along_axis(values, part, axis=1)), axis=1)
    return np.take_along_axis(part, order, axis=1)


def beam_search(model: StepwiseDecoder, source_ids: np.ndarray, start_id: int, end_id: int,
                max_length: int, beam_width: int = 4, alpha: float = 0.6
                ) -> tuple[np.ndarray, np.ndarray]:
    """Keep the ``beam_width`` best partial outputs per example instead of one.

    At each step every live beam is extended by every token; of the beam_width × vocab
    candidates the beam_width with the highest total log-probability survive. A beam that has
    produced ``end_id`` is finished: it keeps its score and is carried along unchanged. At the
    end beams are ranked by log-probability / :func:`length_penalty` (length counts the end
    token). With ``beam_width=1`` this is exactly :func:`greedy_decode`.

    Args:
        source_ids: (batch, source_time) int ids.

    Returns:
        ids (batch, beam_width, max_length) int32, best beam first, 0 after the end token;
        scores (batch, beam_width) float64 length-normalised log-probabilities, descending.
    """
    batch = len(source_ids)
    rows = np.repeat(np.arange(batch), beam_width)  # (batch*beam,) example of each beam
    state = _gather(model.start_state(source_ids), rows)
    tokens = np.full(batch * beam_width, start_id, np.int32)
    output = np.zeros((batch * beam_width, max_length), np.int32)
    scores = np.zeros((batch, beam_width))
    scores[:, 1:] = -np.inf  # all beams start identical: expand only the first at step 0
    finished = np.zeros(batch * beam_width, bool)
    lengths = np.zeros(batch * beam_width, np.int64)
    for t in range(max_length):
        log_probs, state = model.step(tokens, state)
        vocab = log_probs.shape[-1]
        log_probs = log_probs.astype(np.float64)
        log_probs[:, 0] = -np.inf  # padding is never an output
        # a finished beam can only be "extended" by one free token, so it stays as it is
        log_probs[finished] = -np.inf
        log_probs[finished, end_id] = 0.0
        candidates = (scores.reshape(-1, 1) + log_probs).reshape(batch, beam_width * vocab)
        best = _top_k(candidates, beam_width)
        scores = np.take_along_axis(candidates, best, axis=1)
        parent = (np.arange(batch)[:, None] * beam_width + best // vocab).reshape(-1)
        tokens = (best % vocab).reshape(-1).astype(np.int32)
        was_finished = finished[parent]
        dead = ~np.isfinite(scores.reshape(-1))  # fewer possible outputs than beams
        tokens[dead] = end_id
        output, state, lengths = output[parent], _gather(state, parent), lengths[parent]
        output[:, t] = np.where(was_finished | dead, 0, tokens)
        lengths = lengths + ~(was_finished | dead)
        finished = was_finished | dead | (tokens == end_id)
        if finished.all():
            break
    normalised = scores / length_penalty(lengths, alpha).reshape(batch, beam_width)
    order = np.argsort(-normalised, axis=1, kind="stable")
    ids = np.take_along_axis(output.reshape(batch, beam_width, max_length), order[..., None], 1)
    return ids, np.take_along_axis(normalised, order, axis=1)


def strip_special(ids: np.ndarray, end_id: int) -> list[list[int]]:
    """Rows of decoded ids cut before the first ``end_id`` (and without padding)."""
    rows = []
    for row in np.asarray(ids):
        row = [int(i) for i in row if i != 0]
        rows.append(row[: row.index(end_id)] if end_id in row else row)
    return rows


def to_texts(ids: np.ndarray, vocabulary, end_id: int) -> list[str]:
    """Decoded rows (batch, time) as text: cut at ``end_id``, padding dropped, tokens joined by
    ``vocabulary.decode``."""
    return [vocabulary.decode(row) for row in strip_special(ids, end_id)]
