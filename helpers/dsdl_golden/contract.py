"""Does an exported module honour DSDL's contract? One line per problem, before DSDL calls it.

DSDL calls ``init(df, param)``, ``fit(model, df, param)``, ``apply(model, df, param)``,
``save(model, name)``, ``load(name)`` and ``summary(model=None)`` (``summary()`` first, without a
model). :func:`check_source` reads the code without running it (the Jupyter hook uses it);
:func:`check_module` also imports the module, so that a missing library shows, and calls
``summary()`` to check that it returns a JSON-serialisable dict.
"""

from __future__ import annotations

import ast
import json
import sys
import types
from pathlib import Path
from typing import Final

from dsdl_golden._error_text import USER_CODE_FAILURES, exception_text

__all__ = ["CONTRACT", "check_module", "check_source"]

#: Each function and the positional arguments DSDL passes to it (summary: 0 and 1).
CONTRACT: Final = {
    "init": (2,),
    "fit": (3,),
    "apply": (3,),
    "save": (2,),
    "load": (1,),
    "summary": (0, 1),
}
_SIGNATURES: Final = {
    "init": "init(df, param)",
    "fit": "fit(model, df, param)",
    "apply": "apply(model, df, param)",
    "save": "save(model, name)",
    "load": "load(name)",
    "summary": "summary(model=None)",
}


def _accepts(function: ast.FunctionDef | ast.AsyncFunctionDef, count: int) -> bool:
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    required = len(positional) - len(arguments.defaults)
    required_keywords = [
        arg
        for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if default is None
    ]
    if required_keywords:
        return False
    return required <= count and (count <= len(positional) or arguments.vararg is not None)


def check_source(source: str, filename: str = "<module>") -> list[str]:
    """Problems of the module's source against the contract, found without running it."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as error:
        return [f"line {error.lineno}: syntax error: {error.msg}: fix the cell with that code"]
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in CONTRACT
    }
    problems = []
    for name, counts in CONTRACT.items():
        function = functions.get(name)
        if function is None:
            problems.append(f"{name}: missing; define {_SIGNATURES[name]} in a cell named mltkc_{name}")
        elif isinstance(function, ast.AsyncFunctionDef):
            problems.append(f"line {function.lineno}: {name} is async; DSDL calls it as a plain function")
        elif not all(_accepts(function, count) for count in counts):
            problems.append(f"line {function.lineno}: {name} must accept {_SIGNATURES[name]}")
    return problems


def _import(path: Path) -> types.ModuleType:
    """Run the module as the runtime would (``app.model.<name>``); nothing stays registered if it fails."""
    name = f"app.model.{path.stem}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__package__ = "app.model"
    sys.modules[name] = module
    try:
        exec(compile(path.read_bytes(), str(path), "exec"), module.__dict__)  # noqa: S102 - the module under check
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _import_problem(error: BaseException) -> str:
    if isinstance(error, ImportError):
        missing = error.name or str(error)
        if missing == "app" or missing.startswith("app."):
            return (
                f"import failed: {error}; modules of app.model are exported notebooks: export the notebook "
                "it imports, and check from DSDL's layout (GOLDEN_SRV_DIR)"
            )
        return f"import failed: {missing} is not installed here; add it to the image or remove the import"
    if isinstance(error, SystemExit):
        return f"import failed: the module calls sys.exit({error.code!r}) at import"
    return f"import failed: {type(error).__name__}: {error}"


def check_module(path: str | Path) -> list[str]:
    """:func:`check_source`, then import the module and call ``summary()``; one line per problem."""
    path = Path(path)
    problems = check_source(path.read_text(encoding="utf-8"), str(path))
    if any("syntax error" in problem for problem in problems):
        return problems
    try:
        module = _import(path)
    except USER_CODE_FAILURES as error:  # anything the module's top level raises
        return [*problems, _import_problem(error)]
    summary = getattr(module, "summary", None)
    if callable(summary):
        try:
            facts = summary()
        except USER_CODE_FAILURES as error:
            raised = f"{type(error).__name__}: {exception_text(error)}"
            problems.append(f"summary() without a model raised {raised}")
        else:
            if not isinstance(facts, dict):
                problems.append(f"summary() returned a {type(facts).__name__}; return a dict")
            else:
                try:
                    json.dumps(facts)
                except (TypeError, ValueError) as error:
                    problems.append(f"summary() is not JSON-serialisable: {error}")
    return problems
