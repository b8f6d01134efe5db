"""The package layers, checked over the source's import statements (ast, every import wherever
it stands, so a function-local import cannot hide an upward dependency):

    kernels ← model ← serving (the engine) ← search ← training ← prover
    lean_env: below search, independent of kernels/model/serving (neither side imports the other)
    model and serving reach kernels only through kernels.dispatch
    benchmarks: on top, may import anything; nothing imports it

and no function-local import closes a cycle that module-level imports would make (the import
would be dodging it). The checker runs on the real tree and, to show it bites, on small trees
with one forbidden import each.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

RANK = {"kernels": 0, "model": 1, "serving": 2, "search": 3, "training": 4, "prover": 5, "benchmarks": 6}
MODEL_SIDE = {"kernels", "model", "serving"}
INDEPENDENT = "lean_env"
PACKAGES = (*RANK, INDEPENDENT)
KERNELS_DOOR = "kernels.dispatch"


@dataclass(frozen=True)
class Import:
    importer: str  # module name, e.g. "search.prove"
    target: str  # the module (or package) imported
    path: str  # the importer's file, relative to the root
    line: int
    local: bool  # inside a function or class body

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(root: Path) -> tuple[set[str], list[Import]]:
    """Every module of the layered packages, and every import of one of them."""
    modules = {module_name(root, p): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))
               if (root / pkg).is_dir()}
    found: list[Import] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        top_level = {id(node) for node in tree.body}
        for node in _walk_imports(tree):
            for target in _targets(node, package, modules):
                if target.split(".")[0] in PACKAGES:
                    local = id(node) not in top_level and not _guarded(tree, node)
                    found.append(Import(name, target, path.relative_to(root).as_posix(), node.lineno, local))
    return set(modules), found


def _walk_imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def _guarded(tree: ast.Module, node: ast.AST) -> bool:
    """At module level but under `if TYPE_CHECKING:`/`try:`: still a module-level import."""
    return any(node in ast.walk(stmt) for stmt in tree.body if isinstance(stmt, (ast.If, ast.Try)))


def _targets(node: ast.Import | ast.ImportFrom, package: str, modules: dict) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: resolve against the importing package
        anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    # `from pkg import mod` imports the module pkg.mod when there is one
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]


def violations(root: Path) -> list[str]:
    modules, imports = project_imports(root)
    problems = []
    for imp in imports:
        src, dst = imp.importer.split(".")[0], imp.target.split(".")[0]
        if src == dst:
            continue
        if INDEPENDENT in (src, dst):
            if dst == "benchmarks" or (src == INDEPENDENT) or src in MODEL_SIDE:
                problems.append(f"{imp.where}: {src} imports {imp.target}: lean_env and the model side "
                                "(kernels, model, serving) are independent; lean_env sits below search")
            continue
        if RANK[dst] > RANK[src]:
            problems.append(f"{imp.where}: {src} imports {imp.target}, a higher layer "
                            "(kernels ← model ← serving ← search ← training ← prover)")
        elif dst == "kernels" and src in ("model", "serving") and imp.target != KERNELS_DOOR \
                and imp.target != "kernels":
            problems.append(f"{imp.where}: {src} imports {imp.target}; reach kernels through {KERNELS_DOOR}")
        elif dst == "kernels" and src in ("model", "serving") and imp.target == "kernels":
            pass  # `from kernels import dispatch` resolves to kernels.dispatch when the module exists
    problems += dodged_cycles(modules, imports)
    return problems


def dodged_cycles(modules: set[str], imports: list[Import]) -> list[str]:
    """Function-local imports A -> B where B already reaches A through module-level imports."""
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for imp in imports:
        if not imp.local and imp.target in modules:
            edges[imp.importer].add(imp.target)
            # importing a module of another package also runs that package's __init__
            parent = imp.target.rpartition(".")[0]
            if parent in modules and not (imp.importer + ".").startswith(parent + "."):
                edges[imp.importer].add(parent)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            current = todo.pop()
            if current == goal:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(edges.get(current, ()))
        return False

    return sorted({f"{imp.where}: function-local import of {imp.target} dodges a cycle ({imp.target} "
                   f"reaches {imp.importer} through module-level imports); move the shared code down a layer"
                   for imp in imports if imp.local and imp.target in modules and imp.target != imp.importer
                   and reaches(imp.target, imp.importer)})


# ----------------------------------------------------------------------------- the real tree

def test_the_tree_keeps_its_layers() -> None:
    problems = violations(REPO)
    assert not problems, "\n".join(problems)


def test_the_checker_sees_the_real_imports() -> None:
    _, imports = project_imports(REPO)
    pairs = {(i.importer, i.target) for i in imports}
    assert ("model.deepseek", "kernels.dispatch") in pairs and ("search.prove", "lean_env.theorem") in pairs
    assert ("prover.cli", "training.train") in pairs  # a function-local import is still seen


# ----------------------------------------------------------------------------- it fails when it should

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for package in PACKAGES:
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


ALLOWED = {
    "kernels/dispatch.py": "import torch\n",
    "model/net.py": "from kernels import dispatch\nfrom kernels.dispatch import x\n",
    "serving/engine.py": "from model.net import Net\nfrom kernels import dispatch\n",
    "search/prove.py": "from lean_env.theorem import Theorem\nfrom serving.engine import E\n",
    "lean_env/theorem.py": "import re\n",
    "training/train.py": "from search.prove import aprove\nfrom model.net import Net\n",
    "prover/cli.py": "def train():\n    from training.train import train\n",
    "benchmarks/run.py": "from prover.cli import app\nfrom kernels.bench import main\n",
}


def test_a_tree_that_keeps_the_layers_passes(tmp_path: Path) -> None:
    assert violations(_tree(tmp_path, ALLOWED)) == []


@pytest.mark.parametrize("rel, text, needle", [
    ("model/net.py", "from search.prove import aprove\n", "higher layer"),
    ("model/train.py", "def f():\n    from search import prove\n", "higher layer"),  # hidden in a function
    ("serving/engine.py", "from kernels.mla_decode import mla_decode\n", "through kernels.dispatch"),
    ("search/prove.py", "from training.train import train\n", "higher layer"),
    ("training/train.py", "import prover.cli\n", "higher layer"),
    ("lean_env/theorem.py", "from search.tree import QED\n", "independent"),
    ("lean_env/theorem.py", "import torch\nfrom model.net import Net\n", "independent"),
    ("model/net.py", "from lean_env.theorem import Theorem\n", "independent"),
    ("kernels/dispatch.py", "from model import net\n", "higher layer"),
    ("search/prove.py", "from benchmarks.run import x\n", "higher layer"),
])
def test_a_forbidden_import_fails_the_check(tmp_path: Path, rel: str, text: str, needle: str) -> None:
    problems = violations(_tree(tmp_path, {**ALLOWED, rel: text}))
    assert problems and any(needle in p for p in problems), problems
    assert any(p.startswith(rel) for p in problems), problems


def test_a_function_local_import_that_dodges_a_cycle_fails(tmp_path: Path) -> None:
    files = {**ALLOWED,
             "search/a.py": "from search.b import helper\n",
             "search/b.py": "def helper():\n    from search.a import thing\n"}
    problems = violations(_tree(tmp_path, files))
    assert any("dodges a cycle" in p and p.startswith("search/b.py") for p in problems), problems
    files["search/b.py"] = "def helper():\n    from search.prove import aprove\n"  # lazy, but no cycle
    assert violations(_tree(tmp_path, files)) == []
