"""Workload files with absurd numbers: one line naming the file and the field, exit 3, never a
traceback or a run that cannot draw a step (issue #11 part 4; :mod:`redlin.harness.family_limits`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redlin.cli import main
from redlin.harness.family_limits import MAX_AMOUNT, MAX_RETRIES, MAX_WEIGHT
from redlin.harness.workloads import Cas, Family, Op, load_family

STEPS = [{"op": "GET {key}"}, {"op": "DECRBY {key} {amount}"}, {"cas": "{key}"}]


def _family(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("where, value, shown", [
    ("weight", "1e999", "Infinity"),
    ("weight", "-1e999", "-Infinity"),
    ("weight", "NaN", "NaN"),
    ("weight", "-1", "-1"),
    ("weight", "0", "0"),
    ("weight", "2.5", "2.5"),
    ("weight", "true", "true"),
    ("weight", '"3"', '"3"'),
    ("weight", str(MAX_WEIGHT + 1), str(MAX_WEIGHT + 1)),
    ("weight", "1" + "0" * 40, "a 41-digit number"),
    ("retries", "-1", "-1"),
    ("retries", "1e9", "1000000000.0"),
    ("max_amount", "0", "0"),
    ("max_amount", "1e999", "Infinity"),
    ("max_amount", str(MAX_AMOUNT + 1), str(MAX_AMOUNT + 1)),
])
def test_absurd_numbers_name_the_file_and_the_field(tmp_path: Path, where: str, value: str, shown: str) -> None:
    steps = [dict(step) for step in STEPS]
    family: dict[str, object] = {"name": "absurd", "keys": ["a", "b"], "steps": steps}
    text = json.dumps(family)
    if where == "max_amount":
        text = text[:-1] + f', "max_amount": {value}}}'
    else:
        target = 1 if where == "weight" else 2
        text = text.replace(json.dumps(steps[target]), json.dumps(steps[target])[:-1] + f', "{where}": {value}}}')
    path = _family(tmp_path / "absurd.json", text)
    with pytest.raises(ValueError) as error:
        load_family(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and f"'{where}' must be a whole number" in message
    assert message.endswith(f"not {shown}") and "\n" not in message


def test_whole_numbers_written_as_floats_are_numbers(tmp_path: Path) -> None:
    text = json.dumps({"name": "fine", "keys": ["a"], "max_amount": 7.0,
                       "steps": [{"op": "GET {key}", "weight": 2e0}, {"cas": "{key}", "retries": 1.0}]})
    family = load_family(_family(tmp_path / "fine.json", text))
    assert family.max_amount == 7 and family.steps == (Op("GET {key}", weight=2), Cas("{key}", retries=1))


@pytest.mark.parametrize("text, message", [
    ('{"name": "x", "keys": ["a"], "max_amount": ' + "9" * 5000 + ', "steps": [{"op": "GET {key}"}]}', "not JSON"),
    ("[" * 100_000 + "]" * 100_000, "not JSON"),
])
def test_json_python_cannot_read_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = _family(tmp_path / "deep.json", text)
    with pytest.raises(ValueError, match=message) as error:
        load_family(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_families_built_in_python_are_bounded_too() -> None:
    with pytest.raises(ValueError, match=f"weight must be from 1 to {MAX_WEIGHT}"):
        Family("big", "", keys=("a",), steps=(Op("GET {key}", weight=MAX_WEIGHT + 1),))
    with pytest.raises(ValueError, match=f"retries from 0 to {MAX_RETRIES}"):
        Family("big", "", keys=("a",), steps=(Cas("{key}", retries=10**9),))
    with pytest.raises(ValueError, match="max_amount must be from 1"):
        Family("big", "", keys=("a",), steps=(Op("GET {key}"),), max_amount=0)


def test_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _family(tmp_path / "w.json", '{"name": "w", "keys": ["a"], "steps": [{"op": "GET {key}", "weight": 1e999}]}')
    code = main(["run", "--workload", str(path), "--out", str(tmp_path / "out"), "--database", str(tmp_path / "db")])
    printed = capsys.readouterr()
    assert code == 3 and printed.out == ""
    assert printed.err.count("\n") == 1 and str(path) in printed.err and "'weight'" in printed.err
