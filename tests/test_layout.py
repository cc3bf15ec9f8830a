"""The package map of the README's Architecture section holds: engine/ imports no domain
package, domain packages import neither the web nor the application, and no two packages
import each other (directly or round a loop)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ("workdays", "paperwork", "recording", "monitoring", "organisation", "disclosure", "spot_checks")
TOP = ("engine", "webui", "zhifa") + DOMAIN


def _package(module: str) -> str | None:
    """engine.store.models → engine.store; workdays.calendar → workdays; engine.hooks → engine."""
    parts = module.split(".")
    if parts[0] not in TOP:
        return None
    if parts[0] == "engine" and len(parts) > 2:
        return ".".join(parts[:2])
    if parts[0] == "engine" and len(parts) == 2 and (ROOT / "engine" / parts[1]).is_dir():
        return ".".join(parts[:2])
    return parts[0]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[:-node.level] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # "from engine.store import models"
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for top in TOP:
        for path in (ROOT / top).rglob("*.py") if (ROOT / top).is_dir() else []:
            if "migrations" in path.parts:
                continue
            source = _package(".".join(path.relative_to(ROOT).with_suffix("").parts))
            targets = {_package(m) for m in _imports(path)} - {None, source}
            graph.setdefault(source, set()).update(t for t in targets if (ROOT / t.replace(".", "/")).is_dir())
    return graph


def test_the_engine_imports_no_package_of_the_bureau():
    leaks = {src: sorted(t for t in targets if not t.startswith("engine")) for src, targets in _graph().items()
             if src.startswith("engine")}
    assert {src: t for src, t in leaks.items() if t} == {}


def test_domain_packages_import_neither_the_web_nor_the_application():
    leaks = {src: sorted(targets & {"webui", "zhifa"}) for src, targets in _graph().items() if src in DOMAIN}
    assert {src: t for src, t in leaks.items() if t} == {}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return cycles


def test_no_import_cycle_between_packages():
    assert _cycles(_graph()) == []


def test_the_checks_see_real_imports_and_a_planted_cycle():
    graph = _graph()
    assert "engine.store" in graph["engine.execution"] and "engine" in graph["zhifa"]
    assert _package("engine.hooks") == "engine" and _package("recording.evidence") == "recording"
    graph["engine.store"] = graph.get("engine.store", set()) | {"engine.inbox"}  # store → inbox → … → store
    assert any(c[0] == c[-1] and "engine.store" in c for c in _cycles(graph))


ENGINE_LAYERS = ["engine.store", "engine.sandbox", "engine.spec", "engine.access", "engine.deploy",
                 "engine.execution", "engine.inbox", "engine.admin"]


def test_engine_packages_import_only_lower_layers():
    graph = _graph()
    assert set(ENGINE_LAYERS) == {p for p in graph if p.startswith("engine.")}, "a new engine package needs its layer"
    upward = {src: sorted(t for t in graph[src] if t in ENGINE_LAYERS and ENGINE_LAYERS.index(t) > ENGINE_LAYERS.index(src))
              for src in ENGINE_LAYERS}
    assert {src: t for src, t in upward.items() if t} == {}
    assert graph.get("engine", set()) == set()  # engine/hooks.py is a leaf
