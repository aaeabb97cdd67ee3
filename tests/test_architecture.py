"""The import architecture of docs/architecture.md: dependencies point one way.

Every module of flowviz, accounts, quality and lots is parsed (not imported), migrations
excepted (they are frozen history). Every import statement counts, including imports inside
functions and under `if TYPE_CHECKING:`: a lazy import is still a dependency, and hiding one
in a function is how a cycle survives unnoticed.

Layers, bottom to top:
- infrastructure: `flowviz.core` (imports only core) and `flowviz.ops` (core and ops);
- the domain apps, in this order: accounts < quality < flowviz.production < lots;
- the top: each app's API, schemas, auth, admin, forms and management commands, and the rest
  of flowviz (the root API, `flowviz.http`, urls, settings, ASGI/WSGI, Celery app, the demo
  and legacy apps). The top may import anything.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("flowviz", "accounts", "quality", "lots")

# Bottom to top: a domain module may import its own app and the apps before it.
DOMAIN_APPS = ("accounts", "quality", "flowviz.production", "lots")
CORE = "flowviz.core"
OPS = "flowviz.ops"
# Modules of an app that belong to the top layer (HTTP, admin, operations commands).
TOP_MODULES_OF_AN_APP = frozenset({"api", "schemas", "auth", "admin", "forms", "management"})


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        path = modules()[self.importer].relative_to(ROOT)
        return f"{self.importer} imports {self.imported} ({path}, line {self.line})"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                found[_module_name(path)] = path
    return found


def _known(name: str) -> str | None:
    """The FlowViz module `name` refers to (its longest known prefix), or None if not ours."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules():
            return candidate
        parts.pop()
    return None


def _imports_of(module: str) -> Iterator[Import]:
    """Each FlowViz module `module` imports, once per import statement."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` imports the module a.b when there is one, else names of a.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules() else base
                for alias in node.names
            ]
        else:
            continue
        for imported in dict.fromkeys(map(_known, targets)):
            if imported is not None and imported != module:
                yield Import(module, imported, node.lineno)


@cache
def import_graph() -> dict[str, tuple[Import, ...]]:
    return {module: tuple(_imports_of(module)) for module in modules()}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def domain_app(module: str) -> str | None:
    """The domain app whose domain layer holds `module`; None for infrastructure and the top."""
    for app in sorted(DOMAIN_APPS, key=len, reverse=True):
        if _within(module, app):
            rest = module[len(app) + 1 :].split(".")[0] if module != app else ""
            return None if rest in TOP_MODULES_OF_AN_APP else app
    return None


def _cycles() -> list[list[str]]:
    """The import cycles (Tarjan's strongly connected components of more than one module)."""
    graph = {module: sorted({i.imported for i in imports}) for module, imports in import_graph().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return components


def _cycle_path(component: list[str]) -> str:
    """One cycle through the component, written out import by import."""
    members = set(component)
    edges = {m: {i.imported: i for i in import_graph()[m] if i.imported in members} for m in component}
    path, seen = [component[0]], {component[0]: 0}
    while True:
        following = sorted(edges[path[-1]])[0]
        if following in seen:
            loop = [*path[seen[following] :], following]
            return "\n    ".join(str(edges[a][b]) for a, b in itertools.pairwise(loop))
        seen[following] = len(path)
        path.append(following)


def test_every_app_is_found_where_the_layout_puts_it():
    for app in DOMAIN_APPS:
        assert f"{app}.models" in modules(), f"no module {app}.models: does DOMAIN_APPS match the layout?"
    assert any(_within(m, CORE) for m in modules()) and any(_within(m, OPS) for m in modules())


def test_the_module_import_graph_has_no_cycle():
    cycles = _cycles()
    assert not cycles, "import cycles:\n  " + "\n  ".join(_cycle_path(c) for c in cycles)


def _imports_leaving(package: str, *, allowed: tuple[str, ...]) -> list[str]:
    """Imports by modules of `package` of a module outside the `allowed` packages."""
    return [
        str(i)
        for module, imports in import_graph().items()
        if _within(module, package)
        for i in imports
        if not any(_within(i.imported, other) for other in allowed)
    ]


def test_core_imports_nothing_of_flowviz_outside_core():
    wrong = _imports_leaving(CORE, allowed=(CORE,))
    assert not wrong, "flowviz.core must import no app and no other layer:\n  " + "\n  ".join(wrong)


def test_ops_imports_only_core_and_ops():
    wrong = _imports_leaving(OPS, allowed=(CORE, OPS))
    assert not wrong, "flowviz.ops must import no app and no top-layer module:\n  " + "\n  ".join(wrong)


def test_a_domain_module_imports_no_higher_app():
    wrong = []
    for module, imports in import_graph().items():
        app = domain_app(module)
        if app is None:
            continue
        for i in imports:
            target = domain_app(i.imported)
            if target is not None and DOMAIN_APPS.index(target) > DOMAIN_APPS.index(app):
                wrong.append(f"{i}: {target} is above {app}")
    assert not wrong, (
        f"domain apps import only themselves and the apps below them ({' < '.join(DOMAIN_APPS)}):\n  "
        + "\n  ".join(wrong)
    )


def test_a_domain_module_imports_no_top_layer_module():
    wrong = [
        str(i)
        for module, imports in import_graph().items()
        if domain_app(module) is not None
        for i in imports
        if domain_app(i.imported) is None and not (_within(i.imported, CORE) or _within(i.imported, OPS))
    ]
    assert not wrong, (
        "a domain module must not import an API, admin, command, demo, legacy or project module:\n  "
        + "\n  ".join(wrong)
    )
