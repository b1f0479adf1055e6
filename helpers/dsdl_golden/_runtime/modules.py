"""Model modules (exported notebooks) of the ``app.model`` package, loaded safely and never stale.

DSDL imports ``app.model.<algo>`` with whatever ``algo`` the request names and serves the module it
imported first on ``/apply`` even after the notebook was exported again. Here ``algo`` must be a
plain module name whose file is a regular file inside the model package directory (no ``..``, no
absolute paths, no symbolic link leading out), and a module is executed again whenever its source
changed: the loader compares a hash of the file with the one it last executed, on every request.
The source is compiled from the file itself, so a stale ``.pyc`` is never used.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path

from dsdl_golden._lifecycle.params import check_name

__all__ = ["LoadedModule", "ModuleLoader", "ModuleNotAllowedError"]

PACKAGE = "app.model"


class ModuleNotAllowedError(ValueError):
    """The request names a module that is not a model module of the package."""


@dataclass
class LoadedModule:
    """A model module and what identifies its source."""

    name: str
    module: types.ModuleType
    digest: str
    generation: int
    lock: threading.Lock = field(default_factory=threading.Lock)


class ModuleLoader:
    """Loads ``app.model.<algo>`` from ``package_dir/<algo>.py``, again whenever the file changes."""

    def __init__(self, package_dir: Path) -> None:
        self.package_dir = package_dir
        self._loaded: dict[str, LoadedModule] = {}
        self._lock = threading.Lock()
        self._generation = 0

    def path_of(self, algo: str) -> Path:
        """The file of module ``algo``; raises :class:`ModuleNotAllowedError` or ``FileNotFoundError``."""
        try:
            check_name(algo, "algo")
        except ValueError as error:
            raise ModuleNotAllowedError(str(error)) from None
        root = self.package_dir.resolve()
        path = root / f"{algo}.py"
        if not path.is_file():
            available = sorted(p.stem for p in root.glob("*.py") if p.stem != "__init__")
            raise FileNotFoundError(
                f"no module {algo!r} in {root}: export the notebook {algo}.ipynb (save it in Jupyter, or "
                f"golden export); modules there: {', '.join(available) or 'none'}"
            )
        if path.resolve().parent != root:
            raise ModuleNotAllowedError(f"module {algo!r} links outside the model package {root}")
        return path

    def get(self, algo: str) -> LoadedModule:
        """The current module ``algo``, executed again if its file changed since it was loaded."""
        path = self.path_of(algo)
        source = path.read_bytes()
        digest = hashlib.sha256(source).hexdigest()
        with self._lock:
            loaded = self._loaded.get(algo)
            if loaded is not None and loaded.digest == digest:
                return loaded
            module = self._execute(algo, path, source)
            self._generation += 1
            lock = loaded.lock if loaded is not None else threading.Lock()
            loaded = LoadedModule(algo, module, digest, self._generation, lock)
            self._loaded[algo] = loaded
            return loaded

    @staticmethod
    def _execute(algo: str, path: Path, source: bytes) -> types.ModuleType:
        name = f"{PACKAGE}.{algo}"
        module = types.ModuleType(name)
        module.__file__ = str(path)
        module.__package__ = PACKAGE
        previous = sys.modules.get(name)
        sys.modules[name] = module
        try:
            exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - the user's exported notebook
        except BaseException:
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
            raise
        return module
