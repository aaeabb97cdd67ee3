"""The operations commands keep README's promise: a command that fails exits 1 with one line
saying why (no traceback); a wrong argument exits 2 with the usage (argparse).

Each command runs as `manage.py` runs it (`run_from_argv`), in this process. That closes the
database connections at the end, so these tests use real transactions.
"""

from __future__ import annotations

import pytest
from django.core.management import get_commands, load_command_class

from flowviz.production.models import Scenario

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("role_groups")]


def run(capsys, *argv: str) -> tuple[int | str | None, str]:
    """(exit status, standard error) of `manage.py *argv`."""
    name = argv[0]
    command = load_command_class(get_commands()[name], name)
    with pytest.raises(SystemExit) as stopped:
        command.run_from_argv(["manage.py", *argv])
    return stopped.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        pytest.param(
            ("import_scenario", "no-such-file.json"), "no-such-file.json: no such file", id="import"
        ),
        pytest.param(
            ("export_scenario", "no-such-scenario"), "No scenario with id no-such-scenario", id="export"
        ),
        pytest.param(
            ("export_scenario", "flowviz-demo", "/no-such-directory/out.json"),
            "/no-such-directory/out.json: cannot write: No such file or directory",
            id="export-unwritable",
        ),
        pytest.param(
            ("create_user", "not-an-email", "--role", "VIEWER"),
            "User not created: email: Enter a valid email address.",
            id="create_user",
        ),
        pytest.param(("backfill_genealogy", "--lot", "NOPE"), "no lot with code 'NOPE'", id="backfill"),
        pytest.param(("generate_factory", "--lots", "3"), "need at least 7 lots", id="generate_factory"),
        pytest.param(("mock_recall", "NOPE"), "no lot with code 'NOPE'", id="mock_recall"),
        pytest.param(
            ("mock_recall", "RAW-BEEF-001", "--user", "nobody@flowviz.com"),
            "no user with email 'nobody@flowviz.com'",
            id="mock_recall-user",
        ),
    ],
)
def test_a_failing_command_exits_1_saying_why(capsys, demo, argv, reason):
    assert Scenario.objects.exists()  # the demo seed, which some of the failures need
    status, stderr = run(capsys, *argv)
    assert status == 1
    assert stderr.startswith(f"CommandError: {reason}") and "Traceback" not in stderr, stderr


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        pytest.param(
            ("create_user", "x@example.com"), "the following arguments are required: --role", id="missing"
        ),
        pytest.param(
            ("seed_demo", "--password", "pw-1234567", "--no-password"),
            "argument --no-password: not allowed with argument --password",
            id="exclusive",
        ),
        pytest.param(("generate_factory", "--lots", "many"), "argument --lots: invalid int value", id="type"),
    ],
)
def test_a_wrong_argument_exits_2_with_the_usage(capsys, argv, complaint):
    status, stderr = run(capsys, *argv)
    assert status == 2
    assert stderr.startswith(f"usage: manage.py {argv[0]}") and complaint in stderr
