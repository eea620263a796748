"""Package boundaries, read from the source (ast), not by importing anything:

- `schemas` imports nothing of ours; `queries` only `schemas` and `runtime`;
- `pipeline` never imports `trainer`; `runtime` only `schemas`;
- `trainer` never imports Beam, `pipeline` or `queries`, and the `runtime` modules it imports
  do not import Beam when they are imported (module level, followed transitively).
"""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
OURS = ("schemas", "queries", "pipeline", "trainer", "runtime", "synth")
ALLOWED = {  # package -> our packages it may import (besides itself)
    "schemas": set(),
    "queries": {"schemas", "runtime"},
    "runtime": {"schemas"},
    "pipeline": {"schemas", "queries", "runtime"},
    "trainer": {"schemas", "runtime"},
}
NEVER = {"trainer": {"apache_beam"}}  # third-party packages a package must not import


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, name: str) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import in `source` (module `name`)."""
    tree = ast.parse(source)
    top = {id(n) for n in tree.body}
    blocks = (ast.If, ast.Try, ast.With)  # their bodies run at import too
    top |= {id(n) for s in tree.body if isinstance(s, blocks) for n in ast.walk(s)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                pkg = name.split(".")[: -node.level]
                base = ".".join([*pkg, base] if base else pkg)
            out.append((base, id(node) in top))
    return out


def source_tree() -> dict[str, str]:
    return {
        module_name(p): p.read_text(encoding="utf-8")
        for pkg in ALLOWED
        for p in sorted((ROOT / pkg).rglob("*.py"))
    }


def _imports_beam(mod: str, graph: dict[str, list[tuple[str, bool]]], seen: set[str]) -> bool:
    """Whether importing `mod` imports Beam (module-level imports, followed through ours)."""
    if mod in seen or mod not in graph:
        return False
    seen.add(mod)
    for target, top in graph[mod]:
        if not top:
            continue
        if target.split(".")[0] == "apache_beam":
            return True
        if _imports_beam(target, graph, seen) or _imports_beam(
            target.rsplit(".", 1)[0], graph, seen
        ):
            return True
    return False


def violations(tree: dict[str, str]) -> list[str]:
    """Every forbidden arrow in `tree` (module name -> source), as 'a -> b (why)'."""
    graph = {name: imports(src, name) for name, src in tree.items()}
    found = []
    for name, targets in graph.items():
        pkg = name.split(".")[0]
        for target, _ in targets:
            root = target.split(".")[0]
            if root in OURS and root != pkg and root not in ALLOWED[pkg]:
                found.append(f"{name} -> {target} ({pkg} may not import {root})")
            if root in NEVER.get(pkg, ()):
                found.append(f"{name} -> {target} ({pkg} may not import {root})")
            if pkg == "trainer" and root == "runtime" and _imports_beam(target, graph, set()):
                found.append(f"{name} -> {target} (imports Beam, which trainer may not)")
    return found


def test_no_forbidden_arrow():
    assert violations(source_tree()) == []


def test_the_check_sees_each_kind_of_arrow():
    tree = source_tree()
    planted = {
        "queries.build.planted": "from pipeline.beam_options import pipeline_options\n",
        "schemas.planted": "from runtime import cli\n",
        "pipeline.planted": "def f():\n    import trainer.cli\n",
        "trainer.planted": "import apache_beam as beam\n",
        "trainer.planted2": "from runtime.beam import pipeline_options\n",
        "runtime.planted": "from pipeline.curate import options\n",
    }
    found = violations({**tree, **planted})
    for name in planted:
        assert any(v.startswith(name + " ->") for v in found), name
    # a deferred (function-level) import of a Beam module from runtime does not load Beam
    assert not _imports_beam("runtime.cli", {n: imports(s, n) for n, s in tree.items()}, set())
