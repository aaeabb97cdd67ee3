#!/usr/bin/env python
"""Django's command-line utility for FlowViz."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowviz.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A missing or bad setting is one line, not a traceback whose cause sits at the bottom
        # (Django reports it while looking up the command, as a KeyError). --traceback shows all.
        if "--traceback" in sys.argv:
            raise
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
