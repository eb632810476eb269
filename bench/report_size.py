"""Report size and open time on a large history: 100,000 operations with one stale read.

    python bench/report_size.py [--operations 100000] [--clients 32] [--keys 1000] [--seed 1] [--out DIR]

Builds a synthetic Redis history (SET/GET on many keys from concurrent clients, linearizable by
construction, plus one stale read in the middle), checks and minimises it, writes the report, and
prints each file's size, the time to write it and, when Debian's ``chromium`` and
``chromedriver`` are installed, the time to open ``report.html`` in headless Chromium: from the
start of navigation to the marker the page's script sets once it has drawn
(``data-redlin-ready``), median of three loads.  The issue's budget: under 5 MB and 2 s.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from redlin import History, Operation, Violation, check, minimise, redis_model
from redlin.model import OK
from redlin.report.write import write_report

STEP_NS = 10_000
"""Linearization points are 10 µs apart; each operation spans up to half a round of all clients
on each side of its point, so operations of different clients overlap."""


def synthetic_history(operations: int = 100_000, *, clients: int = 32, keys: int = 1000, seed: int = 1) -> History:
    """A linearizable SET/GET history with one stale read of key ``stale`` in the middle.

    Each operation gets a linearization point and an interval around it (the usual way to make a
    history linearizable by construction); three operations near the middle are replaced by
    ``SET stale old``, ``SET stale new`` and a ``GET stale`` that returns ``"old"`` although the
    write of ``"new"`` completed before it was invoked.  Times are nanoseconds.
    """
    rng = random.Random(seed)
    victim = operations // 2
    planted = {victim - 100: (b"SET", b"stale", b"old"), victim - 50: (b"SET", b"stale", b"new"),
               victim: (b"GET", b"stale")}
    values: dict[bytes, bytes] = {}
    last_end: dict[int, int] = {}
    half_round = clients * STEP_NS // 2
    ops = []
    for index in range(operations):
        client = index % clients
        point = (index + 1) * STEP_NS
        start = max(last_end.get(client, 0) + 1, point - rng.randrange(half_round))
        end = point + rng.randrange(half_round)
        last_end[client] = end
        command = planted.get(index)
        if command is None:
            key = b"k%d" % rng.randrange(keys)
            command = (b"SET", key, b"%d" % index) if rng.random() < 0.5 else (b"GET", key)
        if command[0] == b"SET":
            values[command[1]] = command[2]
            reply: object = OK
        else:
            reply = b"old" if index == victim else values.get(command[1])
        ops.append(Operation(index, client, (command,), (reply,), start, end))
    return History(tuple(ops))


def chromium_open_times(html: Path, loads: int = 3) -> list[float] | None:
    """Seconds from navigation start to the page's ready marker, per load; ``None`` without chromium."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="redlin-chromium-")
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        times = []
        for _ in range(loads):
            driver.get("about:blank")
            driver.get(html.resolve().as_uri())
            WebDriverWait(driver, 30).until(
                lambda d: d.execute_script("return document.documentElement.dataset.redlinReady") == "1")
            times.append(float(driver.execute_script("return window.redlinReadyAt")) / 1000)
        return times
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operations", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="report directory (default: a temporary one, removed)")
    args = parser.parse_args()

    started = time.perf_counter()
    history = synthetic_history(args.operations, clients=args.clients, keys=args.keys, seed=args.seed)
    built = time.perf_counter()
    model = redis_model()
    result = check(history, model, time_limit=300)
    checked = time.perf_counter()
    assert isinstance(result, Violation), f"expected a violation, got {result.verdict}"
    core = minimise(history, model, result, time_limit=60)
    minimised = time.perf_counter()
    out = args.out or Path(tempfile.mkdtemp(prefix="redlin-report-"))
    files = write_report(out, history=history, model=model, result=result, core=core,
                         meta={"bench": "report_size", "seed": args.seed})
    written = time.perf_counter()

    print(f"history: {len(history):,} operations, {args.clients} clients, {args.keys} keys "
          f"(built in {built - started:.2f} s)")
    print(f"check: {result.verdict} in {checked - built:.2f} s; core of {len(core)} in {minimised - checked:.2f} s")
    print(f"write_report: {written - minimised:.2f} s")
    for path in files:
        print(f"  {path.name:<16} {path.stat().st_size / 1e6:8.3f} MB")
    times = chromium_open_times(files.html)
    if times is None:
        print("open in headless chromium: skipped (chromium and chromedriver not installed)")
    else:
        print(f"open in headless chromium (navigation start to ready marker): median {statistics.median(times):.3f} s "
              f"of {', '.join(f'{t:.3f}' for t in times)}")
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
