"""Plots the notebooks draw again and again, one call each (matplotlib)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "plot_history", "plot_runs", "plot_attention", "plot_scaling", "plot_training_dynamics",
]


def plot_history(history, metrics: Sequence[str] = ("loss",), title: str | None = None,
                 baselines: Mapping[str, float] | None = None):
    """Training curves: one panel per metric, train and validation per epoch.

    Args:
        history: a ``keras.callbacks.History`` (what ``fit`` returns) or its ``.history`` dict.
        metrics: names logged by ``fit``; ``val_<name>`` is drawn too when present.
        title: figure title.
        baselines: optional {metric: value} drawn as a dashed horizontal line.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    logs = getattr(history, "history", history)
    missing = [m for m in metrics if m not in logs]
    if missing:
        raise KeyError(f"history has no {missing}; it logged {sorted(logs)}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        epochs = range(1, len(logs[metric]) + 1)
        ax.plot(epochs, logs[metric], "o-", label="train")
        if f"val_{metric}" in logs:
            ax.plot(epochs, logs[f"val_{metric}"], "s-", label="validation")
        if baselines and metric in baselines:
            ax.axhline(baselines[metric], ls="--", c="gray", label="baseline")
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_runs(histories, metric: str = "loss", title: str | None = None, ax=None):
    """Several runs' training (dashed) and validation (solid) curves of one metric on one axis,
    a colour per run: where train and validation part, a run overfits.

    Args:
        histories: {run name: ``History`` or its dict}; each must have logged ``metric`` (and
            ``val_<metric>`` for the solid line).
        metric: the logged quantity, e.g. ``"loss"`` or ``"accuracy"``.
        title: the axis title.
        ax: a matplotlib axis to draw on (a new figure if None).

    Returns:
        The axis.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    for name, history in histories.items():
        log = getattr(history, "history", history)
        if metric not in log:
            raise KeyError(f"run {name!r} has no {metric!r}; it logged {sorted(log)}")
        epochs = range(1, len(log[metric]) + 1)
        (train_line,) = ax.plot(epochs, log[metric], "--", alpha=0.7)
        if f"val_{metric}" in log:
            ax.plot(epochs, log[f"val_{metric}"], "o-", color=train_line.get_color(), label=name)
        else:
            train_line.set_label(name)
    ax.set(xlabel="epoch", ylabel=metric,
           title=title or f"{metric}: training dashed, validation solid")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_attention(weights, source_tokens: Sequence[str], target_tokens: Sequence[str],
                   ax=None, title: str | None = None):
    """Heatmap of one example's attention weights: target steps (rows) × source tokens (columns).

    Args:
        weights: (target_time, source_time) array; extra rows/columns (padding) are cut to
            the given token lists.
        source_tokens, target_tokens: labels for the columns and rows.
        ax: a matplotlib Axes to draw on (default: a new figure).

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    weights = np.asarray(weights)[: len(target_tokens), : len(source_tokens)]
    if ax is None:
        _, ax = plt.subplots(figsize=(0.3 * len(source_tokens) + 1.5,
                                      0.3 * len(target_tokens) + 1.2))
    ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(source_tokens)), list(source_tokens), rotation=90)
    ax.set_yticks(range(len(target_tokens)), list(target_tokens))
    ax.set(xlabel="source", ylabel="output")
    if title:
        ax.set_title(title)
    return ax


def plot_scaling(curves: Mapping[str, Mapping[int, float]], ylabel: str, ax=None,
                 title: str | None = None, reference_slopes: Sequence[int] = (1, 2)):
    """Cost against sequence length on log–log axes, one line per model, with dotted guide
    lines of the given slopes (1 = linear, 2 = quadratic) through the first model's first point.

    Args:
        curves: {model name: {length: cost}}; costs must be positive.

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    for name, curve in curves.items():
        ax.plot(list(curve), list(curve.values()), "o-", label=name)
    first = next(iter(curves.values()))
    lengths = np.array(list(first), dtype=float)
    for slope in reference_slopes:
        guide = list(first.values())[0] * (lengths / lengths[0]) ** slope
        ax.plot(lengths, guide, ":", color="gray", lw=1)
        ax.annotate(f"∝ T^{slope}" if slope != 1 else "∝ T", (lengths[-1], guide[-1]),
                    fontsize=8, color="gray")
    ax.set(xscale="log", yscale="log", xlabel="sequence length T", ylabel=ylabel)
    ax.set_xticks(lengths, [str(int(n)) for n in lengths])
    ax.minorticks_off()
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return ax


def plot_training_dynamics(histories, title: str | None = None, xlabel: str = "epoch"):
    """Validation loss, learning rate and gradient norm per epoch, one line per run.

    Args:
        histories: {run name: ``History`` or its dict}, e.g. from
            :func:`course_lib.training.course_callbacks` runs; a panel is drawn for each of
            ``val_loss`` (else ``loss``), ``learning_rate`` and ``grad_norm`` that some run logged.
            Rates and norms use a log axis unless a run logged a rate of 0 (a schedule's end).
        title: the figure's title.
        xlabel: what one logged point is, e.g. ``"epoch"`` or ``"16 updates"``.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    logs = {name: getattr(h, "history", h) for name, h in histories.items()}
    loss_key = "val_loss" if all("val_loss" in log for log in logs.values()) else "loss"
    keys = [loss_key] + [k for k in ("learning_rate", "grad_norm")
                         if any(k in log for log in logs.values())]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.3), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for name, log in logs.items():
            if key in log:
                ax.plot(range(1, len(log[key]) + 1), log[key], "o-", label=name)
        ax.set(xlabel=xlabel, ylabel=key, title=key)
        values = [v for log in logs.values() for v in log.get(key, [])]
        if key != loss_key and min(values) > 0:
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
