"""The exercise machinery: wrong answers probed against checks, learners' errors surfaced."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from utils.exercises import (
    PROBE_TAG,
    ExerciseCheckError,
    check,
    expect_rejection,
    expected_failure,
    inject_wrong_answer_probes,
    traced,
    wrong_answers,
)


def test_expect_rejection_accepts_the_checks_own_error(capsys: pytest.CaptureFixture[str]) -> None:
    with expect_rejection("ex.wrong_x"):
        check(False, "count words, not characters")
    assert "rejected ex.wrong_x: ExerciseCheckError: count words" in capsys.readouterr().out


def test_expect_rejection_fails_when_the_check_passes() -> None:
    with (
        pytest.raises(AssertionError, match=r"accepted the wrong answer ex\.wrong_x"),
        expect_rejection("ex.wrong_x"),
    ):
        check(True, "never shown")


def test_expect_rejection_lets_a_crash_through() -> None:
    """A check that crashes on a wrong answer (instead of explaining) must fail the test."""
    with pytest.raises(TypeError), expect_rejection("ex.wrong_x"):
        _ = None + 1  # type: ignore[operator]


def test_expect_rejection_of_a_learners_own_exception() -> None:
    with expect_rejection("ex.wrong_raises", KeyError):
        {}["text"]


def _chapter(tmp_path: Path) -> Path:
    sol = tmp_path / "solutions"
    sol.mkdir()
    (sol / "ex1_double.py").write_text("def double(x):\n    return 2 * x\n")
    (sol / "ex1_double.wrong_square.py").write_text(
        "# Wrong: squares\ndef double(x):\n    return x * x\n"
    )
    (sol / "ex1_double.wrong_raises.py").write_text(
        "# expect: ZeroDivisionError\ndef double(x):\n    return x / 0\n"
    )
    return tmp_path


def test_wrong_answers_and_their_expected_failures(tmp_path: Path) -> None:
    chapter = _chapter(tmp_path)
    found = wrong_answers(chapter, "ex1_double")
    assert [p.name for p in found] == ["ex1_double.wrong_raises.py", "ex1_double.wrong_square.py"]
    assert [expected_failure(p) for p in found] == ["ZeroDivisionError", "ExerciseCheckError"]


def _notebook(check_source: str) -> nbformat.NotebookNode:
    stub = nbformat.v4.new_code_cell("def double(x):\n    raise NotImplementedError\n")
    stub.metadata["tags"] = ["exercise:ex1_double"]
    chk = nbformat.v4.new_code_cell(check_source)
    chk.metadata["tags"] = ["exercise-check", "raises-exception"]
    after = nbformat.v4.new_code_cell("assert double(4) == 8  # later cells see the solution")
    return nbformat.v4.new_notebook(cells=[stub, chk, after])


def _run(nb: nbformat.NotebookNode) -> None:
    namespace: dict = {}
    for cell in nb.cells:
        exec(cell.source, namespace)


GOOD_CHECK = (
    "from utils.exercises import check\n"
    "check(double(3) == 6, 'double 3 is 6')\n"
    "check(double(1) == 2, 'double 1 is 2')\n"
)


def test_probes_run_each_wrong_answer_and_restore_the_solution(tmp_path: Path) -> None:
    chapter = _chapter(tmp_path)
    nb = _notebook(GOOD_CHECK)
    assert inject_wrong_answer_probes(nb, chapter) == 2
    probes = [c for c in nb.cells if PROBE_TAG in c.metadata.get("tags", [])]
    assert len(probes) == 6  # per wrong answer: load it, wrapped check, load the solution back
    nb.cells[0].source = (chapter / "solutions" / "ex1_double.py").read_text()
    _run(nb)  # both wrong answers rejected, solution restored for the last cell


def test_probes_fail_on_a_check_that_accepts_a_wrong_answer(tmp_path: Path) -> None:
    chapter = _chapter(tmp_path)
    weak = "from utils.exercises import check\ncheck(double(2) == 4, 'double 2 is 4')\n"
    nb = _notebook(weak)  # 2*2 == 2**2: the square passes this check
    inject_wrong_answer_probes(nb, chapter)
    nb.cells[0].source = (chapter / "solutions" / "ex1_double.py").read_text()
    with pytest.raises(AssertionError, match=r"accepted the wrong answer ex1_double\.wrong_square"):
        _run(nb)


def test_traced_surfaces_the_learners_exception(client) -> None:
    import weave

    @weave.op
    def race(question: str) -> dict:
        return {"keyword": {}["text"]}

    result, call = race.call("q")  # the pitfall: .call() never raises
    assert result is None and call.exception
    with pytest.raises(KeyError, match="text"):
        traced(race, "q")

    @weave.op
    def fine(question: str) -> str:
        return question.upper()

    out, call = traced(fine, "q")
    assert out == "Q" and call.id


def test_check_error_is_an_assertion() -> None:
    assert issubclass(ExerciseCheckError, AssertionError)


def test_traced_shows_the_learners_frames_first(client) -> None:
    import traceback

    import weave

    @weave.op
    def stub(question: str) -> dict:
        raise NotImplementedError("Exercise 3")

    with pytest.raises(NotImplementedError) as info:
        traced(stub, "q")
    frames = traceback.extract_tb(info.value.__traceback__)
    assert [f.name for f in frames][-1] == "stub"
    assert not any("/weave/trace/" in f.filename for f in frames)  # no wrapper internals


def test_a_failed_check_shows_its_hint_without_helper_frames() -> None:
    from utils.exercises import _show_hint_only

    shown: list[tuple[type, BaseException, list[str]]] = []

    class Shell:
        def _showtraceback(self, etype: type, evalue: BaseException, stb: list[str]) -> None:
            shown.append((etype, evalue, stb))

    err = ExerciseCheckError("count words, not characters")
    stb = _show_hint_only(Shell(), ExerciseCheckError, err, None)
    assert shown and shown[0][0] is ExerciseCheckError  # shown as an error output
    assert len(stb) == 1 and "count words, not characters" in stb[0] and "File" not in stb[0]
