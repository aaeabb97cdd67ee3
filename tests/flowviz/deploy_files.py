"""Readers for the deployment files (docker/), shared by the deployment tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
_ASSIGNMENT = re.compile(r"^\s*(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")
_INTERPOLATION = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text())


def env_example(*, include_commented: bool = False) -> dict[str, str]:
    """The variables of docker/.env.example (commented-out ones too, if asked)."""
    values: dict[str, str] = {}
    for line in (DOCKER / ".env.example").read_text().splitlines():
        match = _ASSIGNMENT.match(line)
        if match and (include_commented or not match.group(1)):
            values[match.group(2)] = match.group(3).split("  #")[0].strip()
    return values


def interpolated_names(text: str) -> set[str]:
    return {match.group(1) for match in _INTERPOLATION.finditer(text.replace("$$", ""))}


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, enough for our compose file."""

    def replace(match: re.Match) -> str:
        name, operator, argument = match.groups()
        value = variables.get(name, "")
        if operator in {":-", "-"} and not value:
            return argument
        if operator in {":?", "?"} and not value:
            raise KeyError(f"{name}: {argument}")
        return value

    return _INTERPOLATION.sub(replace, text)
