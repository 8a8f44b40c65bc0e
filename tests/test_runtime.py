import keras
import numpy as np
import pytest

import course_lib
from course_lib import runtime


@pytest.mark.parametrize("value,expected", [("fast", "fast"), ("FULL", "full"), (" fast ", "fast")])
def test_profile_from_environment(monkeypatch, value, expected):
    monkeypatch.setenv(runtime.PROFILE_ENV, value)
    assert runtime.get_profile() == expected


def test_unknown_profile_lists_the_choices(monkeypatch):
    monkeypatch.setenv(runtime.PROFILE_ENV, "turbo")
    with pytest.raises(runtime.ProfileError, match="'turbo'.*fast, full"):
        runtime.get_profile()


def test_default_profile_is_fast_even_with_a_gpu(monkeypatch):
    monkeypatch.delenv(runtime.PROFILE_ENV, raising=False)
    monkeypatch.setattr(runtime, "gpu_names", lambda: ["/device:GPU:0"])
    assert runtime.get_profile() == "fast"


def test_result_line_is_printed_in_the_standard_form_and_parses_back(monkeypatch, capsys):
    monkeypatch.setenv(runtime.PROFILE_ENV, "full")
    assert runtime.report("pos_accuracy", 0.91234) == 0.91234
    line = capsys.readouterr().out.strip()
    assert line == "result pos_accuracy=0.912 profile=full"
    assert runtime.parse_result(line) == ("pos_accuracy", "0.912", "full")
    assert runtime.format_result("epochs", 12, "fast") == "result epochs=12 profile=fast"
    assert runtime.parse_result("val loss 2.1") is None


@pytest.mark.parametrize("name,value", [("pos accuracy", 0.9), ("bleu", "two words")])
def test_result_line_rejects_names_and_values_that_would_not_parse(name, value):
    with pytest.raises(ValueError, match="identifier|spaces"):
        runtime.format_result(name, value, "fast")


def test_set_seed_makes_keras_initialisation_repeatable():
    runtime.set_seed(3)
    first = keras.layers.Dense(4)
    first.build((None, 2))
    runtime.set_seed(3)
    second = keras.layers.Dense(4)
    second.build((None, 2))
    np.testing.assert_array_equal(first.get_weights()[0], second.get_weights()[0])


def test_device_report_names_versions_and_device():
    report = runtime.device_report()
    assert report["keras"].startswith("3.") and report["backend"] == "tensorflow"
    assert report["course_lib"] == course_lib.__version__
    assert report["device"].startswith(("CPU", "GPU"))


def test_cpu_cores_counts_only_the_cores_the_process_may_run_on():
    import os

    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity on this platform")
    allowed = os.sched_getaffinity(0)
    assert runtime.cpu_cores() == len(allowed)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        assert runtime.cpu_cores() == 1
        assert runtime.device_report()["device"] in ("CPU (1 core)",
                                                     f"GPU x{len(runtime.gpu_names())}")
    finally:
        os.sched_setaffinity(0, allowed)


def test_setup_prints_report_and_returns_profile(monkeypatch, capsys):
    monkeypatch.setenv(runtime.PROFILE_ENV, "fast")
    assert runtime.setup(seed=1) == "fast"
    assert "profile=fast" in capsys.readouterr().out


def test_default_lstm_and_gru_are_cudnn_eligible():
    for layer in (keras.layers.LSTM(8), keras.layers.GRU(8), keras.layers.LSTM(8, dropout=0.3)):
        report = runtime.cudnn_eligibility(layer)
        assert report.eligible, report
        assert report.will_use_cudnn == bool(runtime.gpu_names())


@pytest.mark.parametrize("layer,reason", [
    (keras.layers.LSTM(8, recurrent_dropout=0.2), "recurrent_dropout=0.2"),
    (keras.layers.LSTM(8, activation="relu"), "activation=relu"),
    (keras.layers.LSTM(8, recurrent_activation="hard_sigmoid"), "recurrent_activation"),
    (keras.layers.LSTM(8, unroll=True), "unroll=True"),
    (keras.layers.GRU(8, use_bias=False), "use_bias=False"),
    (keras.layers.GRU(8, reset_after=False), "reset_after=False"),
    (keras.layers.GRU(8, use_cudnn=False), "use_cudnn=False"),
    (keras.layers.SimpleRNN(8), "no cuDNN kernel"),
])
def test_cudnn_blockers_are_named(layer, reason):
    report = runtime.cudnn_eligibility(layer)
    assert not report.eligible and not report.will_use_cudnn
    assert reason in str(report)


def test_cudnn_needs_right_padded_mask():
    layer = keras.layers.Bidirectional(keras.layers.LSTM(4))
    right = np.array([[1, 1, 0], [1, 1, 1]], dtype=bool)
    left = np.array([[0, 1, 1], [1, 1, 1]], dtype=bool)
    assert runtime.cudnn_eligibility(layer, mask=right).eligible
    report = runtime.cudnn_eligibility(layer, mask=left)
    assert not report.eligible and "right-padded" in str(report)
    assert str(report).startswith("Bidirectional(LSTM)")
