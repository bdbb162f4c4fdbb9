"""The project source files a stage script runs: its static import closure within ``nrdh``.

DVC reruns a stage when one of its deps changes, so each stage must list every module its
script can execute. Imports are read from the source (``ast``), including those inside
functions (lazy imports), so the closure is a safe over-approximation of what runs; only
``if TYPE_CHECKING:`` blocks are skipped, since they never execute.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "nrdh"


def module_file(src: Path, module: str) -> Path | None:
    """The file of a dotted module under `src` (a package's ``__init__.py``), or None."""
    base = src.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.AST, package: str) -> set[str]:
    """Dotted names a module imports (``from a import b`` gives a and a.b), with relative
    imports resolved against `package` (the importing module's package)."""
    names: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        stack.extend(ast.iter_child_nodes(node))
    return names


def _with_parents(module: str) -> list[str]:
    """A module and every package above it (importing a.b.c runs a and a.b first)."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def closure(script: Path, src: Path) -> list[Path]:
    """Every ``nrdh`` source file `script` can execute (sorted), found by following
    imports through `src` (the folder that holds the package)."""
    seen: set[Path] = set()
    todo: list[tuple[Path, str]] = [(script, "")]
    while todo:
        path, package = todo.pop()
        tree = ast.parse(path.read_text(), filename=str(path))
        for name in _imported(tree, package):
            if name.split(".")[0] != PACKAGE:
                continue
            for module in _with_parents(name):
                file = module_file(src, module)
                if file is None or file in seen:
                    continue
                seen.add(file)
                is_pkg = file.name == "__init__.py"
                todo.append((file, module if is_pkg else module.rpartition(".")[0]))
    return sorted(seen)
