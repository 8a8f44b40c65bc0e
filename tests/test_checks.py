import numpy as np
import pytest

from course_lib import checks, decoding, scratch


def test_compare_reports_shape_mismatch():
    assert checks.compare(np.zeros((2, 3)), np.zeros((2, 4))) == "expected shape (2, 4), got (2, 3)"


def test_compare_reports_first_mismatching_index_and_values():
    hint = checks.compare(np.array([1.0, 2.0, 9.0]), np.array([1.0, 2.0, 3.0]))
    assert "index (2,)" in hint and "expected 3" in hint and "got 9" in hint


def test_compare_accepts_close_values_and_exact_integers():
    assert checks.compare(np.array([1.0 + 1e-9]), np.array([1.0])) is None
    assert checks.compare(5, 5) is None and checks.compare(4, 5) == "expected 5, got 4"


def test_correct_solutions_pass(capsys):
    checks.ex_1_1(scratch.rnn_step, strict=True)
    checks.ex_1_2(lambda features, units: units * (features + units + 1), strict=True)
    checks.ex_1_3(decoding.softmax_with_temperature, strict=True)
    assert capsys.readouterr().out.count("✓") == 3


def test_wrong_solution_prints_hint_without_raising_by_default(capsys, monkeypatch):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)
    checks.ex_1_2(lambda features, units: units * (features + units))
    out = capsys.readouterr().out
    assert out.startswith("✗ ex_1_2, case 1/3") and "expected 3, got 2" in out


def test_wrong_solution_raises_in_strict_mode():
    with pytest.raises(checks.CheckFailed, match="ex_1_1"):
        checks.ex_1_1(lambda x, h, k, r, b: x @ k + h @ r + b, strict=True)


def test_unstable_softmax_is_caught():
    def naive(logits, temperature):
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(np.asarray(logits) / temperature)
            return e / e.sum(axis=-1, keepdims=True)

    with pytest.raises(checks.CheckFailed, match="stability.*non-finite"):
        checks.ex_1_3(naive, strict=True)


def test_run_check_returns_whether_all_cases_pass():
    cases = [checks.Case("doubling", (2,), 4)]
    assert checks.run_check("toy", lambda v: 2 * v, cases, strict=False)
    assert not checks.run_check("toy", lambda v: v + 1, cases + [checks.Case("3", (3,), 6)],
                                strict=False)


def test_unimplemented_stub_gets_a_friendly_hint(capsys):
    def stub(*args):
        raise NotImplementedError("ex_1_1: your code here")

    checks.ex_1_1(stub, strict=False)
    assert "not implemented yet" in capsys.readouterr().out
