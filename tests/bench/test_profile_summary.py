"""bench/api/profile_summary.py: a py-spy raw profile summed into a request's phases."""

from __future__ import annotations

from bench.api.profile_summary import STACK, summarize

PROCESS = 'process 7:"gunicorn"'
HANDLER = "APIASGIHandler.handle (flowviz/http/asgi.py:212)"
VIEW = "PathView._async_view (ninja/operation.py:699)"
AUTH = "JWTAuth.authenticate (accounts/auth.py:178)"
THREAD_WORK = "_released (flowviz/http/asgi.py:121)"
COMMIT_HOOKS = "BaseDatabaseWrapper.run_and_clear_commit_hooks (django/db/backends/base/base.py:760)"


def _line(*frames: str, samples: int) -> str:
    return ";".join((PROCESS, *frames)) + f" {samples}\n"


def test_a_sample_goes_to_the_innermost_phase_on_its_stack():
    shares, total = summarize(
        [
            _line(HANDLER, VIEW, AUTH, "fetch_one (flowviz/ops/async_db.py:112)", samples=3),
            _line(THREAD_WORK, "lot_create (lots/services.py:246)", COMMIT_HOOKS, samples=2),
            _line(HANDLER, VIEW, "traceability_one_step (lots/api.py:164)", samples=1),
        ]
    )
    assert total == 6
    assert shares["authentication (token, user row on the event loop's pool)"] == 3
    assert shares["after-commit work (cache retirement, metrics)"] == 2
    assert shares["endpoint operation, rest (ninja: checks, the view's own code, the response)"] == 1


def test_the_authentication_query_run_as_a_task_of_its_own_counts_as_authentication():
    task = ("Runner.run (asyncio/runners.py:118)", "_fetch_one (flowviz/ops/async_db.py:124)")
    shares, _ = summarize([_line(*task, "AsyncCursor.execute (psycopg/cursor_async.py:113)", samples=2)])
    assert shares["authentication (token, user row on the event loop's pool)"] == 2


def test_what_no_phase_claims_is_the_server_and_django_around_the_endpoint():
    shares, total = summarize([_line("Runner.run (asyncio/runners.py:118)", HANDLER, samples=4), "garbage\n"])
    assert (shares[STACK], total) == (4, 4)
