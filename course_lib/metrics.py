"""Evaluation numbers: perplexity and the unigram baseline a language model must beat."""

from __future__ import annotations

import numpy as np


def perplexity(mean_cross_entropy: float) -> float:
    """exp of the mean per-token cross-entropy in nats (what Keras reports as the loss)."""
    return float(np.exp(mean_cross_entropy))


def unigram_perplexity(train_ids: np.ndarray, eval_ids: np.ndarray, vocab_size: int) -> float:
    """Perplexity on ``eval_ids`` of the model that ignores context and predicts every token with
    its training frequency (add-one smoothed so an unseen token has non-zero probability).

    Args:
        train_ids: (tokens,) int ids the frequencies are counted on.
        eval_ids: (tokens,) int ids to score.
        vocab_size: number of ids (the length of the probability table).
    """
    counts = np.bincount(np.asarray(train_ids).ravel(), minlength=vocab_size) + 1.0
    log_probs = np.log(counts / counts.sum())
    return perplexity(-log_probs[np.asarray(eval_ids).ravel()].mean())
