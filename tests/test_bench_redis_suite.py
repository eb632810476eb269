"""bench/redis_suite.py reads runtest's console output: passes, failures with their first line of why,
and the places a unit stopped; then the goal figure of issue #18 and what costs the model most.

The samples are written here in the shapes runtest (Redis 7.0.15's tests/test_helper.tcl) prints;
no Tcl runs.
"""

from __future__ import annotations

import doctest
import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def suite() -> Iterator[ModuleType]:
    """The bench module, imported as its script would be (bench/ first on the path, for ``detect``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT / "bench"))
        yield importlib.import_module("redis_suite")


# A --durable run: colours on, an assertion, an error that is not one (its message sent twice, the
# first copy less its first ten characters, then Tcl's trace), an ignored test, and an error in a
# server block's own code.
DURABLE = """\
Cleanup: may take some time... OK
Starting test server at port 21079
[ready]: 4242
\x1b[1;37;49mTesting unit/type/widget\x1b[0m
[\x1b[0;32;49mok\x1b[0m]: WIDGET basics (1 ms)
[\x1b[0;31;49merr\x1b[0m]: WIDGET counts in tests/unit/type/widget.tcl
Expected '3' to be equal to '4' (context: type eval line 2 cmd {assert_equal 3 [r wcount w]} proc ::test)
[err]: WIDGET spins in tests/unit/type/widget.tcl
n command 'wspin', with args beginning with: 'w'
ERR unknown command 'wspin', with args beginning with: 'w'
    while executing
"[srv $level "client"] {*}$args"
    (procedure "r" line 7)
    invoked from within
"r wspin w"
[\x1b[0;36;49mignore\x1b[0m]: WIDGET replication: Tag: needs:repl denied
[ok]: WIDGET basics (12 ms)
[err]: n command 'config', with args beginning with: 'get' 'widget-max-size'
ERR unknown command 'config', with args beginning with: 'get' 'widget-max-size'
    while executing
"r config get widget-max-size"
    ("uplevel" body line 9)
[1/1 \x1b[0;33;49mdone\x1b[0m]: unit/type/widget (0 seconds)

                   The End

!!! WARNING The following tests failed:

*** [err]: WIDGET counts in tests/unit/type/widget.tcl
Expected '3' to be equal to '4' (context: type eval line 2 cmd {assert_equal 3 [r wcount w]} proc ::test)
"""


def test_a_durable_run_gives_passes_failures_and_block_stops(suite: ModuleType) -> None:
    outcome = suite.parse_runtest(DURABLE)
    assert outcome.passed == ["WIDGET basics", "WIDGET basics"]  # the same name twice counts twice
    assert [(f.test, f.why) for f in outcome.failed] == [
        ("WIDGET counts", "Expected '3' to be equal to '4'"),
        ("WIDGET spins", "ERR unknown command 'wspin', with args beginning with: 'w'")]
    assert outcome.ignored == 1
    assert [(s.test, s.why) for s in outcome.stops] == [
        ("in a server block's own code after test 'WIDGET basics' (the rest of that block skipped)",
         "ERR unknown command 'config', with args beginning with: 'get' 'widget-max-size'")]
    assert outcome.complete and outcome.hung is None


def test_an_exception_ends_the_unit_where_it_happened(suite: ModuleType) -> None:
    inside = suite.parse_runtest("""\
[ok]: WIDGET basics (1 ms)
[exception]: Executing test client: ERR unknown command 'wspin', with args beginning with: 'w'.
ERR unknown command 'wspin', with args beginning with: 'w'
    while executing
"r wspin w"
    ("uplevel" body line 3)
    invoked from within
"test {WIDGET spins} {
        r wspin w
    }"
    (file "tests/unit/type/widget.tcl" line 20)
""")
    assert [(f.test, f.why) for f in inside.failed] == [
        ("WIDGET spins", "ERR unknown command 'wspin', with args beginning with: 'w'.")]
    assert [s.test for s in inside.stops] == ["in test 'WIDGET spins'"] and not inside.complete
    setup = suite.parse_runtest("""\
[exception]: Executing test client: ERR unknown command 'function', with args beginning with: 'flush'.
    while executing
"r function flush"
    (procedure "run_external_server_test" line 25)
    invoked from within
"start_server {tags {"widget"}} {..."
    (file "tests/unit/type/widget.tcl" line 1)
""")
    assert not setup.failed
    assert [(s.test, s.why) for s in setup.stops] == [
        ("before the first test at tests/unit/type/widget.tcl line 1",
         "ERR unknown command 'function', with args beginning with: 'flush'.")]


def test_a_stall_names_the_hung_test(suite: ModuleType) -> None:
    outcome = suite.parse_runtest("""\
[ok]: WIDGET basics (1 ms)
[TIMEOUT]: clients state report follows.
sock5581a0 => (IN PROGRESS) WIDGET blocks forever

                   The End
""")
    assert outcome.hung == "WIDGET blocks forever" and not outcome.complete
    assert [f.test for f in outcome.failed] == ["WIDGET blocks forever"]
    assert [s.test for s in outcome.stops] == ["hung in test 'WIDGET blocks forever'"]


def test_the_goal_counts_shared_passes_and_attributes_what_did_not_run(suite: ModuleType) -> None:
    real = suite.UnitOutcome(passed=["a", "a", "b", "c", "d", "e"], complete=True)
    model = suite.UnitOutcome(passed=["a", "b", "only the model"],
                              failed=[suite.Failure("c", "ERR unknown command 'wspin', with args beginning with: 'w'")],
                              stops=[suite.Failure("before the first test",
                                                   "ERR unknown command 'config', with args beginning with: 'get' 'x'")])
    row = suite.UnitRow("type/widget", real, model)
    assert sum(row.real_passes().values()) == 6
    assert sum(row.model_passes().values()) == 2  # 'only the model' is not one real Redis passes
    assert row.not_run() == 3  # the second 'a', 'd' and 'e'
    assert suite.costs([row]) == {"unknown command WSPIN": 1, "unknown command CONFIG GET": 3}
    # With no stop, what did not run was skipped by the unit's own code (it asked INFO, say).
    quiet = suite.UnitRow("type/gadget", real, suite.UnitOutcome(passed=["a", "a", "b", "c", "d"], complete=True))
    assert quiet.unrun() == {"e": 1}
    assert suite.costs([row, quiet])[suite.UNIT_SKIPPED] == 1
    assert suite.goal_line("total", 6, 2).split() == ["total", "6", "2", "33.3%"]


def test_the_module_doctests_pass(suite: ModuleType) -> None:
    failed, attempted = doctest.testmod(suite, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0
