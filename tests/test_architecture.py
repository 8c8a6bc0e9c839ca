"""The package's shape: no module imports one that imports it back, no module grows past what
one reader takes in at once."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "flask_passlock"
#: The longest a module may be, in lines.
LONGEST = 420


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports when it is imported (not in functions)."""
    found = modules()
    packages = {name for name, path in found.items() if path.name == "__init__.py"}
    graph = {}
    for name, path in found.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.level:
                base = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                target = f"{base}.{node.module}" if node.module else base
                subs = {f"{target}.{a.name}" for a in node.names} & found.keys()
                deps |= subs or ({target} & found.keys())
        graph[name] = deps - packages - {name}
    return graph


def test_no_import_circle():
    graph = import_graph()
    circles = []

    def walk(name: str, path: list[str]) -> None:
        for dep in graph[name]:
            if dep in path:
                circles.append(path[path.index(dep) :] + [dep])
            else:
                walk(dep, path + [dep])

    for name in graph:
        walk(name, [name])
    assert circles == []
    assert "flask_passlock.extension" not in graph["flask_passlock.views"]
    assert graph["flask_passlock.state"] == set()  # the low module everyone may import


def test_no_module_is_too_long():
    long = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > LONGEST
    }
    assert long == {}
