"""course_lib.bench: the benchmark shapes build, and throughput and ratios are computed."""

import json

import pytest

from course_lib import bench


@pytest.mark.parametrize("shape", sorted(bench.SHAPES))
def test_every_shape_builds_with_matching_data(shape):
    model, x, y = bench.build(shape)
    assert len(x) == len(y) == 16 * bench.BATCH
    assert model(x[:2]).shape[:1] == (2,)


def test_throughput_and_ratios_against_plain_keras_including_the_fast_path(capsys):
    results = bench.run(shapes=("simple_rnn",), settings=("plain Keras", bench.FAST_PATH),
                        rounds=1)
    assert [m.setting for m in results] == ["plain Keras", bench.FAST_PATH]
    assert results[0].ratio_to_plain == 1.0 and results[1].samples_per_second > 0
    assert results[1].chosen == "jit_compile=True, steps_per_execution=16"
    out = capsys.readouterr().out
    assert "samples/s" in out and "jit_compile=True" in out


def test_summary_reports_fast_path_geometric_mean_and_worst_shape():
    fake = [bench.Measurement("a", "plain Keras", 1, 1.0), bench.Measurement("a", "x", 2, 2.0),
            bench.Measurement("a", bench.FAST_PATH, 2, 2.0),
            bench.Measurement("b", "plain Keras", 1, 1.0), bench.Measurement("b", "x", 8, 8.0),
            bench.Measurement("b", bench.FAST_PATH, 0.5, 0.5)]
    assert bench.geometric_mean_of_best(fake) == pytest.approx(4.0)
    assert bench.geometric_mean(fake) == pytest.approx(1.0)
    assert "worst shape b 0.50x" in bench.summary(fake)


def test_command_line_writes_json_and_rejects_zero_rounds(tmp_path, capsys):
    out = tmp_path / "bench.json"
    bench.main(["--shapes", "simple_rnn", "--settings", "spe 16", "--rounds", "1",
                "--json", str(out)])
    rows = json.loads(out.read_text())
    assert [row["setting"] for row in rows] == ["plain Keras", "spe 16"]
    assert "best setting per shape" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.main(["--rounds", "0"])


def test_regression_guard_names_each_shape_whose_fast_path_lost(monkeypatch):
    fake = [bench.Measurement("a", "plain Keras", 1, 1.0),
            bench.Measurement("a", bench.FAST_PATH, 0.9, 0.9, "jit_compile=True"),
            bench.Measurement("b", "plain Keras", 1, 1.0),
            bench.Measurement("b", bench.FAST_PATH, 1.2, 1.2)]
    assert [m.shape for m in bench.slow_fast_paths(fake, 0.95)] == ["a"]
    monkeypatch.setattr(bench, "run", lambda *args: fake)
    with pytest.raises(SystemExit, match=r"below 0.95x plain Keras: a 0.90x \(jit_compile=True\)"):
        bench.main(["--require-fast-path", "0.95"])
    bench.main(["--require-fast-path", "0.85"])  # both above: no exit
    with pytest.raises(SystemExit):  # the guard needs the fast path measured
        bench.main(["--settings", "spe 16", "--require-fast-path", "0.95"])


def test_summary_gives_the_fast_path_against_the_peer_per_shape_and_on_average():
    fake = [bench.Measurement("a", "plain Keras", 100, 1.0),
            bench.Measurement("a", bench.FAST_PATH, 120, 1.2),
            bench.Measurement("a", bench.PEER, 200, 2.0),
            bench.Measurement("b", "plain Keras", 100, 1.0),
            bench.Measurement("b", bench.FAST_PATH, 100, 1.0),
            bench.Measurement("b", bench.PEER, 50, 0.5)]
    assert bench.peer_ratios(fake) == pytest.approx({"a": 0.6, "b": 2.0})
    assert "a 0.60x, b 2.00x; geometric mean 1.10x" in bench.summary(fake)
    assert bench.peer_ratios(fake[:2]) == {}


def test_peer_torch_without_pytorch_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(SystemExit, match=r"pip install 'course_lib\[bench\]'"):
        bench.main(["--shapes", "simple_rnn", "--settings", "spe 16", "--rounds", "1",
                    "--peer", "torch"])


def test_the_torch_peer_trains_the_same_shape():
    pytest.importorskip("torch", reason="PyTorch is the optional 'bench' extra")
    results = bench.run(shapes=("gru",), settings=("plain Keras",), rounds=1, peer="torch")
    assert [m.setting for m in results] == ["plain Keras", bench.PEER]
    assert results[1].samples_per_second > 0
