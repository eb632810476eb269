"""``redlin campaign``: the matrix grammar, the results table, and one real campaign (slow).

The grammar and the table are tested on text and fabricated results; the campaign's loop (an error
row never ends it, the table is written after every cell, Ctrl-C keeps the rows) with
``run_deployment`` replaced by a stand-in; one small campaign runs real redis-servers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import need_binary

from redlin.cli import main
from redlin.deploy import campaign
from redlin.deploy.campaign import (
    DEFAULT_MATRIX,
    INDEX_HTML,
    RESULTS_JSON,
    RESULTS_MD,
    Cell,
    CellResult,
    cell_directory,
    exit_code,
    parse_matrix,
    render_html,
    render_markdown,
    run_campaign,
    table_rows,
    write_results,
)
from redlin.deploy.faults import FAULT_KINDS
from redlin.deploy.node import DeployError
from redlin.deploy.runner import DeploymentOutcome, DeploymentPlan
from redlin.deploy.topology import KINDS
from redlin.errors import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, UsageError

# -- the grammar ----------------------------------------------------------------------------------


def test_the_example_matrix_expands_one_cell_per_nemesis() -> None:
    cells = parse_matrix("single x none,pause ; primary-replica:1 x kill:target=primary ; "
                         "primary-replica:1,aof-always x kill:target=primary ; sentinel x failover ; "
                         "sentinel x failover +wait=1 ; cluster x kill,failover")
    assert [(cell.deployment, cell.nemesis, cell.wait) for cell in cells] == [
        ("single", None, None), ("single", "pause", None),
        ("primary-replica:1", "kill:target=primary", None),
        ("primary-replica:1,aof-always", "kill:target=primary", None),
        ("sentinel", "failover", None), ("sentinel", "failover", (1, 100)),
        ("cluster", "kill", None), ("cluster", "failover", None),
    ]


def test_plus_joins_faults_of_one_cell_and_options_apply_to_the_line() -> None:
    text = """
        # a comment line, then a blank one

        sentinel x kill:target=primary:interval=1-2+pause, none  +replica-reads=2 +wait=1:50  # trailing
    """
    cells = parse_matrix(text)
    assert cells == [
        Cell("sentinel", ("kill:target=primary:interval=1-2", "pause"), replica_reads=2, wait=(1, 50)),
        Cell("sentinel", (), replica_reads=2, wait=(1, 50)),
    ]
    assert cells[0].nemesis == "kill:target=primary:interval=1-2,pause"  # what --nemesis takes
    assert cells[0].label == "sentinel x kill:target=primary:interval=1-2+pause +replica-reads=2 +wait=1:50"


def test_every_label_parses_back_to_its_cell() -> None:
    cells = parse_matrix(DEFAULT_MATRIX + "sentinel x kill+pause:duration=1 +replica-reads=1 +wait=2:10")
    for cell in cells:
        assert parse_matrix(cell.label) == [cell]


@pytest.mark.parametrize(("spec", "names"), [
    ("single none", "one x between spaces"),
    ("single x", "no nemesis after x"),
    ("x kill", "no deployment before x"),
    ("single sentinel x kill", "one deployment before x"),
    ("single x kill x pause", "one x between spaces"),
    ("singel x kill", "unknown deployment 'singel'"),
    ("primary-replica:0 x kill", "replica count"),
    ("single x kil", "unknown fault 'kil'"),
    ("single x kill:target", "unknown option 'target'"),
    ("single x kill,,pause", "an empty nemesis between commas"),
    ("single x kill++pause", "an empty fault in 'kill++pause'"),
    ("single x none+kill", "none cannot be joined"),
    ("cluster x kill + pause", "bad option '+'"),
    ("cluster x kill +pause", "join faults without spaces"),
    ("sentinel x failover +wait=x", "bad option '+wait=x'"),
    ("sentinel x failover +wait", "bad option '+wait'"),
    ("sentinel x none +replica-reads=65", "'+replica-reads=65'"),
    ("sentinel x none +clients=3", "bad option '+clients=3'"),
    ("hosts=redis://127.0.0.1:1 x kill", "a deployment of your own takes none"),
    ("hosts=nowhere x none", "is not redis://HOST:PORT"),
    (" ; # only a comment", "no cells"),
])
def test_bad_matrix_is_one_line_naming_the_part(spec: str, names: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_matrix("cluster x pause ; " + spec if "no cells" not in names else spec)
    message = str(raised.value)
    assert names in message
    assert "\n" not in message
    if "no cells" not in names:
        assert repr(spec.strip()) in message  # the line is quoted, not the whole matrix
        assert "cluster x pause ;" not in message


def test_default_matrix_covers_every_local_kind_and_fault() -> None:
    cells = parse_matrix(DEFAULT_MATRIX)
    assert {cell.deployment.split(",")[0].split(":")[0] for cell in cells} == set(KINDS)
    assert any(cell.deployment.endswith(",aof-always") for cell in cells)
    kinds = {fault.split(":")[0] for cell in cells for fault in cell.faults}
    assert kinds == set(FAULT_KINDS) - {"latency", "restart"}
    assert any(not cell.faults for cell in cells)
    assert any(cell.wait for cell in cells) and any(cell.replica_reads for cell in cells)
    single = [cell for cell in cells if cell.deployment == "single"]
    assert not any("failover" in cell.faults for cell in single)  # it needs a replica to promote
    assert len(cells) <= 17  # about 25 s each at most: the default stays under 7 minutes


def test_cell_directories_are_numbered_slugs() -> None:
    cell = parse_matrix("primary-replica:1,aof-always x kill:target=primary:interval=0.5-1 +wait=1")[0]
    assert cell_directory(3, cell) == "03-primary-replica-1-aof-always-x-kill-target-primary-interval"
    assert re.fullmatch(r"[0-9a-z-]+", cell_directory(12, parse_matrix("single x none")[0]))


def test_a_cell_never_shows_the_password_of_the_users_deployment(tmp_path: Path) -> None:
    [cell] = parse_matrix("hosts=redis://alice:s3cret@10.0.0.5:6379 x none")
    assert cell.deployment == "hosts=redis://alice:s3cret@10.0.0.5:6379"  # what the run connects with
    result = CellResult(1, cell, cell_directory(1, cell), "linearizable", 0, 10, "", 20, 0, 1.0, "")
    shown = [cell.label, cell.command(8, 0, 4), cell_directory(1, cell), json.dumps(result.to_json()),
             render_markdown([result])]
    assert not any("s3cret" in text for text in shown), shown
    assert "alice:***@10.0.0.5" in cell.label and "alice:***@" in render_markdown([result])


# -- the table --------------------------------------------------------------------------------------


def fabricated(tmp_path: Path) -> list[CellResult]:
    cells = parse_matrix("single x none ; primary-replica:2,aof-always x kill:target=primary ; "
                         "primary-replica x none +replica-reads=2 ; sentinel x failover +wait=1 ; cluster x pause")
    for index in (1, 2, 3):
        (tmp_path / cell_directory(index, cells[index - 1])).mkdir()
        (tmp_path / cell_directory(index, cells[index - 1]) / "report.html").write_text("<html></html>")
    return [
        CellResult(1, cells[0], cell_directory(1, cells[0]), "linearizable", 0, 816, "", 1631, 0, 8.6,
                   f"{cell_directory(1, cells[0])}/report.html"),
        CellResult(2, cells[1], cell_directory(2, cells[1]), "violation", 3, 120, "", 700, 2, 23.4,
                   f"{cell_directory(2, cells[1])}/report.html", notes="not settled: a | b"),
        CellResult(3, cells[2], cell_directory(3, cells[2]), "unknown", 0, 90, "sequential", 900, 0, 12.0,
                   f"{cell_directory(3, cells[2])}/report.html"),
        CellResult(4, cells[3], cell_directory(4, cells[3]), "error", seconds=1.5,
                   error="redis-sentinel is not installed | <try apt>"),
    ]


SETTINGS: dict[str, Any] = {"duration": 8.0, "seed": 0, "clients": 4, "started": "2026-12-05T15:00:00+0000"}


def test_markdown_table_has_a_row_per_result(tmp_path: Path) -> None:
    results = fabricated(tmp_path)
    lines = render_markdown(results).splitlines()
    assert lines[0] == ("| deployment | persistence | nemesis | options | linearizability | lost acked writes | "
                        "sequential | ops | faults | seconds | report |")
    assert len(lines) == 2 + len(results)
    assert lines[2] == ("| single | none | none |  | linearizable | 0 of 816 |  | 1631 | 0 | 8.6 | "
                        "[report](01-single-x-none/report.html) |")
    assert "| primary-replica:2 | aof-always | kill:target=primary |  | violation | 3 of 120 |" in lines[3]
    assert "not settled: a \\| b |" in lines[3]  # a '|' of a message does not split the row
    assert "| replica-reads=2 | unknown | 0 of 90 | sequential |" in lines[4]
    assert lines[5] == ("| sentinel | none | failover | wait=1:100 | error |  |  |  |  | 1.5 | "
                        "redis-sentinel is not installed \\| <try apt> |")
    assert all(len(re.split(r"(?<!\\)\|", line)) == len(lines[0].split("|")) for line in lines[2:])


def test_html_table_links_reports_and_colours_verdicts(tmp_path: Path) -> None:
    results = fabricated(tmp_path)
    page = render_html(results, {**SETTINGS, "cells": [result.cell.label for result in results] + ["cluster x pause"]})
    assert page.count("<tr title=") == len(results)
    assert '<td class=good>linearizable</td>' in page
    assert '<td class=bad>violation</td><td class=bad>3 of 120</td>' in page
    assert '<td class=unsure>unknown</td><td class=good>0 of 90</td><td class=good>sequential</td>' in page
    assert '<td class=error>error</td>' in page
    assert '<a href="02-primary-replica-2-aof-always-x-kill-target-primary/report.html">report</a>' in page
    assert "&lt;try apt&gt;" in page and "<try apt>" not in page
    assert "redlin run --deployment sentinel --nemesis failover --duration 8 --seed 0 --clients 4 --wait 1:100" in page
    assert "4 of 5 cells" in page and "Not run: cluster x pause" in page
    for href in re.findall(r'href="([^"]+)"', page):
        assert (tmp_path / href).is_file()


def test_results_files_are_written_whole(tmp_path: Path) -> None:
    results = fabricated(tmp_path)
    write_results(tmp_path, results, {**SETTINGS, "cells": [result.cell.label for result in results]})
    assert render_markdown(results) in (tmp_path / RESULTS_MD).read_text()
    document = json.loads((tmp_path / RESULTS_JSON).read_text())
    assert [row["verdict"] for row in document["results"]] == ["linearizable", "violation", "unknown", "error"]
    assert document["results"][3]["cell"]["label"] == "sentinel x failover +wait=1:100"
    assert (tmp_path / INDEX_HTML).read_text().startswith("<!doctype html>")
    assert not list(tmp_path.glob(".*.partial"))
    assert table_rows(results)[1]["persistence"] == "aof-always"


def test_exit_code_is_3_for_an_error_row_and_4_for_a_bug(tmp_path: Path) -> None:
    results = fabricated(tmp_path)
    assert exit_code(results[:3]) == EXIT_OK  # a violation is a result, not a failure
    assert exit_code(results) == EXIT_USAGE
    bug = CellResult(5, results[0].cell, "05-x", "error", error="KeyError: 'x'", internal=True)
    assert exit_code([*results, bug]) == EXIT_INTERNAL


# -- the campaign's loop, with a stand-in for run_deployment ---------------------------------------


def test_a_failing_cell_is_a_row_and_the_campaign_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def stand_in(plan: DeploymentPlan, progress: Any = None) -> DeploymentOutcome:
        seen.append(len(json.loads((tmp_path / RESULTS_JSON).read_text())["results"]))  # rows before this cell
        if plan.nemesis == "pause":
            raise DeployError("node0 did not start: port in use")
        if plan.nemesis == "kill":
            raise KeyError("a bug")
        plan.out.mkdir(parents=True)
        (plan.out / "report.html").write_text("<html></html>")
        return DeploymentOutcome(plan.out, "linearizable", 10, [], [], 5, None, 1.0, "", 0, {})

    monkeypatch.setattr(campaign, "run_deployment", stand_in)
    results = run_campaign(parse_matrix("single x pause,kill,none"), tmp_path, 1.0, 7)
    assert seen == [0, 1, 2]  # the table was rewritten after every cell
    assert [result.verdict for result in results] == ["error", "error", "linearizable"]
    assert results[0].error == "node0 did not start: port in use" and not results[0].internal
    assert results[1].error == "KeyError: 'a bug'" and results[1].internal
    assert results[2].report == "03-single-x-none/report.html"
    assert len(json.loads((tmp_path / RESULTS_JSON).read_text())["results"]) == 3


def test_ctrl_c_ends_the_campaign_and_keeps_the_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def stand_in(plan: DeploymentPlan, progress: Any = None) -> DeploymentOutcome:
        if plan.nemesis == "kill":
            raise KeyboardInterrupt
        return DeploymentOutcome(plan.out, "violation", 10, [], [], 5, None, 1.0, "", 1, {})

    monkeypatch.setattr(campaign, "run_deployment", stand_in)
    results = run_campaign(parse_matrix("single x none,kill,pause"), tmp_path, 1.0, 0)
    assert [result.verdict for result in results] == ["violation"]
    assert "Not run: single x kill, single x pause" in (tmp_path / RESULTS_MD).read_text()


# -- the command line -------------------------------------------------------------------------------


def test_cli_lists_cells_and_refuses_a_bad_matrix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campaign", "--list", "sentinel x none,failover +wait=1"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "redlin run --deployment sentinel --nemesis failover --duration 8 --seed 0 --clients 4 --wait 1:100" in out
    matrix = tmp_path / "matrix.txt"
    matrix.write_text("cluster x kill\n# nothing else\n")
    assert main(["campaign", "--list", "--file", str(matrix), "--duration", "3"]) == EXIT_OK
    assert "redlin run --deployment cluster --nemesis kill --duration 3" in capsys.readouterr().out
    assert main(["campaign", "single x kil"]) == EXIT_USAGE
    assert "unknown fault 'kil'" in capsys.readouterr().err
    assert main(["campaign", "single x none", "--file", str(matrix)]) == EXIT_USAGE
    assert main(["campaign", "--file", str(tmp_path / "missing")]) == EXIT_USAGE
    assert "cannot read the campaign matrix" in capsys.readouterr().err


# -- a real campaign ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_small_real_campaign(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    need_binary("redis-server")
    out = tmp_path / "campaign"
    code = main(["campaign", "single x none ; primary-replica:1 x kill:target=primary:interval=0.5-1",
                 "--duration", "3", "--out", str(out)])
    assert code == EXIT_OK
    printed = capsys.readouterr().out
    document = json.loads((out / RESULTS_JSON).read_text())
    rows = document["results"]
    assert [row["cell"]["label"] for row in rows] == ["single x none",
                                                      "primary-replica:1 x kill:target=primary:interval=0.5-1"]
    single, killed = rows
    assert (single["verdict"], single["lost"]) == ("linearizable", 0)
    assert single["acknowledged"] > 0 and single["operations"] > 0 and single["faults"] == 0
    assert killed["verdict"] in ("linearizable", "violation", "unknown")
    assert killed["faults"] >= 1 and 0 <= killed["lost"] <= killed["acknowledged"]
    for row in rows:
        assert (out / row["report"]).is_file() and row["report"].startswith(row["directory"] + "/")
        assert (out / row["directory"] / "deployment.json").is_file()
    for name in (RESULTS_MD, INDEX_HTML):
        assert (out / name).is_file()
    for href in re.findall(r'href="([^"]+)"', (out / INDEX_HTML).read_text()):
        assert (out / href).is_file()
    assert "| single | none | none |  | linearizable | 0 of " in printed
