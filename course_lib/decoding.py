"""Generating text from a trained language model, one step at a time with its recurrent state.

The model must come from :func:`course_lib.models.char_lm` (layers ``embedding``, ``rnn``,
``logits``): the sampler runs ``rnn.cell`` step by step, carrying the state, so generating n
characters costs n cell steps rather than n full passes over a growing prefix.
"""

from __future__ import annotations

import numpy as np


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
    import keras

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
