import pytest

from course_lib import plotting


def test_plot_history_draws_train_val_and_baseline():
    logs = {"loss": [3.0, 2.0, 1.5], "val_loss": [3.1, 2.2, 1.9]}
    fig = plotting.plot_history(logs, baselines={"loss": 2.5}, title="toy")
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["train", "validation", "baseline"]
    assert list(ax.get_lines()[1].get_ydata()) == [3.1, 2.2, 1.9]


def test_plot_history_names_missing_metric():
    with pytest.raises(KeyError, match="accuracy"):
        plotting.plot_history({"loss": [1.0]}, metrics=("accuracy",))


def test_plot_attention_labels_rows_and_columns_and_cuts_padding():
    import numpy as np

    from course_lib import plotting

    ax = plotting.plot_attention(np.eye(5), ["a", "b", "c"], ["x", "y"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.images[0].get_array().shape == (2, 3)


def test_plot_scaling_draws_one_line_per_model_on_log_axes_with_guides():
    curves = {"lstm": {64: 1.0, 128: 2.0, 256: 4.0}, "transformer": {64: 1.0, 128: 4.0, 256: 16.0}}
    ax = plotting.plot_scaling(curves, "seconds")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["lstm", "transformer"] and len(labels) == 4  # + two guide lines
    assert list(ax.get_lines()[3].get_ydata()) == [1.0, 4.0, 16.0]  # the slope-2 guide


def test_plot_training_dynamics_draws_loss_learning_rate_and_gradient_norm():
    histories = {"constant": {"loss": [2, 1], "val_loss": [2.1, 1.5], "learning_rate": [1e-3] * 2},
                 "cosine": {"loss": [2, 1.2], "val_loss": [2.0, 1.4],
                            "learning_rate": [5e-4, 1e-5], "grad_norm": [3.0, 1.0]}}
    fig = plotting.plot_training_dynamics(histories, title="t")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["val_loss", "learning_rate", "grad_norm"]
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[2].lines) == 1
    assert fig.axes[1].get_yscale() == "log" and fig.axes[0].get_xlabel() == "epoch"
    histories["cosine"]["learning_rate"][-1] = 0.0  # a schedule that ends at 0: linear axis
    fig = plotting.plot_training_dynamics(histories, xlabel="16 updates")
    assert fig.axes[1].get_yscale() == "linear" and fig.axes[0].get_xlabel() == "16 updates"


def test_plot_runs_draws_train_dashed_and_validation_solid_per_run_and_names_a_missing_metric():
    histories = {"big": {"loss": [1.0, 0.5, 0.2], "val_loss": [1.1, 1.0, 1.3]},
                 "small": {"loss": [1.0, 0.8, 0.7], "val_loss": [1.0, 0.9, 0.85]}}
    ax = plotting.plot_runs(histories)
    lines = ax.get_lines()
    assert [line.get_linestyle() for line in lines] == ["--", "-", "--", "-"]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["big", "small"]
    with pytest.raises(KeyError, match="run 'big' has no 'accuracy'"):
        plotting.plot_runs(histories, metric="accuracy")
