"""bench/api: wrk's output read right, issue 13's targets judged right, tables that paste."""

from __future__ import annotations

import dataclasses

from bench.api.measure import Row, parse_wrk
from bench.api.table import COLUMNS, cells, checks, render

WRK_OUTPUT = """Running 15s test @ http://127.0.0.1:8100/api/lots
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    14.66ms   30.69ms   1.02s    92.71%
    Req/Sec     0.91k   240.30     1.34k    71.67%
  Latency Distribution
     50%  850.00us
     75%   16.00ms
     90%   30.00ms
     99%    1.02s
  27300 requests in 15.00s, 1.02MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:   1820.00
Transfer/sec:    341.25KB
"""

ROW = Row(
    endpoint="lot_create",
    connections=32,
    rps=900.0,
    p50=20.0,
    p99=80.0,
    requests=13500,
    non_2xx=0,
    socket_errors=0,
    api_ms=1.5,
    pg_ms=1.0,
    celery_ms=0.4,
    pg_other_ms=0.0,
    pg_other_connections=0,
    others_pct=3.0,
)
FLOOR_INSERT = dataclasses.replace(ROW, endpoint="insert", rps=1000.0, celery_ms=None)


def test_wrk_figures_are_read_in_milliseconds_whatever_unit_wrk_prints():
    result = parse_wrk(WRK_OUTPUT)
    assert (result.rps, result.p50, result.p99) == (1820.0, 0.85, 1020.0)
    assert (result.requests, result.non_2xx, result.socket_errors) == (27300, 7, 3)


def test_wrk_output_without_errors_counts_none():
    clean = "\n".join(
        line for line in WRK_OUTPUT.splitlines() if "errors" not in line and "Non-2xx" not in line
    )
    result = parse_wrk(clean)
    assert (result.non_2xx, result.socket_errors) == (0, 0)


def test_cpu_per_request_adds_up_the_process_groups():
    assert ROW.total_ms == 2.9
    assert dataclasses.replace(ROW, pg_ms=None, celery_ms=None).total_ms == 1.5


def test_a_write_within_every_target_is_met():
    found = checks(ROW, FLOOR_INSERT)
    assert [check.name for check in found] == ["cpu", "3xFastAPI", "0.8xfloor", "p99", "errors"]
    assert all(check.met for check in found)
    assert cells(ROW, FLOOR_INSERT)[COLUMNS.index(("met", False))] == "yes"


def test_each_target_missed_is_named_in_the_met_column():
    slow = dataclasses.replace(ROW, celery_ms=14.5, rps=700.0, p99=120.0, non_2xx=3)
    met = cells(slow, FLOOR_INSERT)[COLUMNS.index(("met", False))]
    assert met == "NO: cpu, 3xFastAPI, 0.8xfloor, p99, errors"


def test_throughput_of_a_write_is_held_against_the_floor():
    # 3x FastAPI's 261 rps is met, 0.8x a floor of 1200 rps is not.
    found = {check.name: check.met for check in checks(ROW, dataclasses.replace(FLOOR_INSERT, rps=1200.0))}
    assert found["3xFastAPI"] is True
    assert found["0.8xfloor"] is False


def test_reads_have_no_floor_throughput_target_and_graph_no_fastapi_figure():
    graph = dataclasses.replace(ROW, endpoint="graph", api_ms=0.5, pg_ms=0.1, celery_ms=0.0)
    assert [check.name for check in checks(graph, FLOOR_INSERT)] == ["cpu", "p99", "errors"]
    assert all(check.met for check in checks(graph, None))


def test_targets_apply_at_32_connections_only():
    assert checks(dataclasses.replace(ROW, connections=1, p99=500.0), FLOOR_INSERT) == []


def test_the_markdown_table_has_a_header_an_alignment_row_and_one_line_per_row():
    text = render(COLUMNS, [cells(ROW, FLOOR_INSERT)], markdown=True)
    header, alignment, line = text.splitlines()
    assert header.startswith("| endpoint | conns | rps |")
    assert alignment.startswith("| --- | ---: |")
    assert header.count("|") == alignment.count("|") == line.count("|") == len(COLUMNS) + 1
    assert line.startswith("| lot_create | 32 | 900 |")


def test_the_text_table_lines_up_its_columns():
    rows = [cells(ROW, FLOOR_INSERT), cells(dataclasses.replace(ROW, endpoint="health", connections=1))]
    header, rule, *lines = render(COLUMNS, rows, markdown=False).splitlines()
    assert set(rule) == {"-"}
    assert header.index("rps") + len("rps") == lines[0].index("900") + len("900")
    assert lines[1].startswith("health ")
