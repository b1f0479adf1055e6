"""DSDL's own build path: the files a clone of splunk/splunk-mltk-container-docker needs so that its
``./build.sh <tag> <repo_prefix> <version>`` builds this image (``golden dsdl-overlay``).

DSDL's build.sh reads the tag's row of ``tag_mapping.csv`` and runs ``docker build`` on the checkout
with ``dockerfiles/<dockerfile>`` and the build args ``BASE_IMAGE``, ``TAG``,
``REQUIREMENTS_PYTHON_BASE`` and ``REQUIREMENTS_PYTHON_SPECIFIC``. The overlay writes:

- the row (``image/dsdl/dsdl.toml``), added or replaced in place;
- ``dockerfiles/<dockerfile>``: ``image/dsdl/Dockerfile.in`` filled from ``image/spec.toml``;
- ``requirements_files/<base_requirements>``: ``poetry.lock`` exported for the image's platform with
  every file's sha256 (:func:`goldenimage.requirements.requirements_text`);
- ``<context>/``: the dsdl_golden wheel (``dist/``) and the image's own files (``rootfs/``: ``/dltk``,
  ``/etc/golden``), made by the builder's own code. Empty directories are created by the Dockerfile,
  so that the overlay can be committed to a fork (git keeps no empty directory).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goldenimage.build import golden_files
from goldenimage.pyenv import build_wheel
from goldenimage.requirements import LockedFile, locked_files, requirements_text
from goldenimage.spec import ROOT, ImageSpec

__all__ = [
    "TAG_MAPPING",
    "TAG_MAPPING_HEADER",
    "Overlay",
    "TagRow",
    "Written",
    "checkout_problem",
    "images_stanza",
    "load_overlay",
    "render_dockerfile",
    "with_row",
    "write_overlay",
]

SETTINGS = ROOT / "image" / "dsdl" / "dsdl.toml"
TEMPLATE = ROOT / "image" / "dsdl" / "Dockerfile.in"
TAG_MAPPING = "tag_mapping.csv"
#: The first line of DSDL's tag_mapping.csv (build.sh reads the fields by position).
TAG_MAPPING_HEADER = (
    "Tags:,base_image,dockerfile,base_requirements,specific_requirements,runtime,requirements_dockerfile,"
    "stanza_name"
)
#: What build.sh cannot carry in a field: it splits lines on commas and runs ``echo $line`` unquoted.
_UNSAFE_FIELD = re.compile(r"[,\s*?\[\]]")


@dataclass(frozen=True)
class TagRow:
    """One row of DSDL's ``tag_mapping.csv``, in its column order."""

    tag: str
    base_image: str
    dockerfile: str
    base_requirements: str
    specific_requirements: str
    runtime: str
    requirements_dockerfile: str
    title: str

    def line(self) -> str:
        """The row as build.sh reads it; raises ``ValueError`` for a field build.sh would mangle."""
        fields = [
            self.tag,
            self.base_image,
            self.dockerfile,
            self.base_requirements,
            self.specific_requirements,
            self.runtime,
            self.requirements_dockerfile,
        ]
        for field in fields:
            if not field or _UNSAFE_FIELD.search(field):
                raise ValueError(
                    f"tag_mapping.csv field {field!r}: empty, or a comma, space or glob character"
                )
        if not self.title or re.search(r"[,*?\[\]\n]|\s\s", self.title):
            raise ValueError(f"tag_mapping.csv title {self.title!r}: a comma, glob character or double space")
        return ",".join([*fields, self.title])


@dataclass(frozen=True)
class Overlay:
    """The row and where the wheel and the image's files go in the checkout."""

    row: TagRow
    context: str


@dataclass(frozen=True)
class Written:
    """What :func:`write_overlay` wrote, relative to the checkout."""

    row: TagRow
    replaced: bool
    dockerfile: Path
    requirements: Path
    packages: int
    wheel: Path
    context: Path


def load_overlay(spec: ImageSpec, settings: Path = SETTINGS) -> Overlay:
    """The overlay for ``spec``: the row of ``settings`` with the spec's name and title."""
    raw = tomllib.loads(settings.read_text())
    row = TagRow(
        tag=spec.name,
        base_image=raw["base_image"],
        dockerfile=raw["dockerfile"],
        base_requirements=raw["base_requirements"],
        specific_requirements=raw["specific_requirements"],
        runtime=raw["runtime"],
        requirements_dockerfile=raw["requirements_dockerfile"],
        title=f"{spec.raw['image']['title']} {spec.version}",
    )
    row.line()
    return Overlay(row=row, context=raw["context"])


def checkout_problem(checkout: Path) -> str | None:
    """Why ``checkout`` is not a checkout of splunk-mltk-container-docker, or None when it is."""
    if not checkout.is_dir():
        return "no such directory"
    for name in ("build.sh", TAG_MAPPING):
        if not (checkout / name).is_file():
            return f"no {name}"
    lines = (checkout / TAG_MAPPING).read_text().splitlines()
    if not lines or lines[0].strip() != TAG_MAPPING_HEADER:
        return f"{TAG_MAPPING} does not start with DSDL's header {TAG_MAPPING_HEADER!r}"
    return None


def with_row(text: str, row: TagRow) -> tuple[str, bool]:
    """``tag_mapping.csv`` text with ``row`` in place of every row of its tag (the first one's
    position kept), else appended; returns the text and whether a row was replaced."""
    line = row.line()
    lines = text.splitlines()
    kept: list[str] = []
    replaced = False
    for existing in lines:
        if existing.startswith(f"{row.tag},"):
            if not replaced:
                kept.append(line)
            replaced = True
        else:
            kept.append(existing)
    if not replaced:
        kept.append(line)
    return "\n".join(kept) + "\n", replaced


def images_stanza(row: TagRow, repo: str, version: str) -> str:
    """The ``images.conf`` stanza DSDL's ``./build.sh <tag> <repo> <version>`` writes for ``row``."""
    runtime = "none,nvidia" if row.runtime == "nvidia" else row.runtime
    return (
        f"[{row.tag}]\ntitle = {row.title}\nimage = mltk-container-{row.tag}:{version}\n"
        f"repo = {repo}\nruntime = {runtime}\n"
    )


def _index_options(files: Iterable[LockedFile], pyproject: Path) -> str:
    """pip options for the package indexes of the lock's explicit sources (PyPI is pip's default)."""
    sources = {
        source["name"]: source["url"]
        for source in tomllib.loads(pyproject.read_text())["tool"]["poetry"].get("source", [])
    }
    used = sorted({item.source for item in files if item.source is not None})
    return " ".join(f"--extra-index-url {sources[name]}" for name in used)


def _env_instruction(env: Mapping[str, str]) -> str:
    for name, value in env.items():
        if re.search(r'["\\$\n]', value):
            raise ValueError(f"image/spec.toml env {name}: a quote, backslash, $ or newline")
    return " \\\n    ".join(f'{name}="{value}"' for name, value in env.items())


def _stage_files(spec: ImageSpec, rootfs: Path, revision: str, epoch: int) -> list[str]:
    """The image's own files under ``rootfs`` (the builder's :func:`golden_files`); returns the lines
    it adds to ``/etc/passwd``, which the Dockerfile appends to the base image's."""
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "passwd").write_text("")
    (rootfs / "tmp").mkdir()
    golden_files(spec, rootfs, revision, epoch)
    passwd = (rootfs / "etc" / "passwd").read_text().splitlines()
    (rootfs / "etc" / "passwd").unlink()
    shutil.rmtree(rootfs / "tmp")
    for tree in _user_trees(spec):
        for path in [rootfs / tree, *(rootfs / tree).rglob("*")]:
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod((mode & ~0o070) | ((mode & 0o700) >> 3))
    return passwd


def _user_trees(spec: ImageSpec) -> list[str]:
    """The trees owned by the image's user (``[layout]``: ``dltk``, ``srv``), relative."""
    return [spec.raw["layout"][key].lstrip("/") for key in ("dltk", "srv")]


def _empty_directories(rootfs: Path) -> list[str]:
    """Directories under ``rootfs`` without a file anywhere below, absolute in the image."""
    directories = [path for path in sorted(rootfs.rglob("*")) if path.is_dir() and not path.is_symlink()]
    return [
        "/" + path.relative_to(rootfs).as_posix()
        for path in directories
        if not any(child.is_file() for child in path.rglob("*"))
    ]


def _copy_instructions(spec: ImageSpec, context: str, rootfs: Path) -> str:
    trees = set(_user_trees(spec))
    lines = []
    for top in sorted(rootfs.iterdir()):
        if not any(child.is_file() for child in top.rglob("*")):
            continue
        owner = f"--chown={spec.config['user']} " if top.name in trees else ""
        lines.append(f"COPY {owner}{context}/rootfs/{top.name}/ /{top.name}/")
    return "\n".join(lines)


def _layout_commands(spec: ImageSpec, rootfs: Path, passwd: list[str]) -> str:
    user = spec.config["user"]
    trees = _user_trees(spec)
    empty = _empty_directories(rootfs)
    owned = sorted({*(f"/{tree}" for tree in trees), *empty})
    writable_files = [
        path
        for path in spec.raw["layout"]["group_writable"]
        if path.lstrip("/") not in trees and not path.startswith(tuple(f"/{tree}/" for tree in trees))
    ]
    commands = [f"echo {shlex.quote(line)} >> /etc/passwd" for line in passwd]
    if empty:
        commands.append("mkdir -p " + " ".join(empty))
    commands += [f"chown {user} {' '.join(owned)}", f"chmod g=u {' '.join(owned)}"]
    if writable_files:
        commands.append("chmod g+w " + " ".join(writable_files))
    return " && \\\n    ".join(commands)


def _healthcheck_instruction(check: Mapping[str, Any]) -> str:
    """The HEALTHCHECK arguments: its options, then ``CMD`` in exec form."""
    kind, *command = check["test"]
    if kind != "CMD":
        raise ValueError(
            f"image/spec.toml: config.healthcheck.test must start with CMD (exec form), not {kind!r}"
        )
    options = " ".join(
        f"--{option.replace('_', '-')}={check[f'{option}_seconds']}s"
        for option in ("interval", "timeout", "start_period")
    )
    return f"{options} --retries={check['retries']} CMD {json.dumps(command)}"


def render_dockerfile(
    spec: ImageSpec,
    overlay: Overlay,
    rootfs: Path,
    *,
    passwd: list[str],
    index_options: str,
    revision: str,
    template: Path = TEMPLATE,
) -> str:
    """``template`` filled from the spec, for the files staged in ``rootfs``."""
    config, python = spec.config, spec.python
    version = python["platform"]["python_version"]
    major, minor = version.split(".")
    site_packages = f"{python['venv']}/lib/python{version}/site-packages"
    prune = [
        f"find {site_packages} -type d -name {name} -prune -exec rm -rf {{}} +"
        for name in python.get("prune_directories_named", ())
    ]
    if python.get("prune"):
        prune.append("rm -rf " + " ".join(f"{site_packages}/{path}" for path in python["prune"]))
    packages = [str(name) for name in spec.base["packages"]]
    values: dict[str, str] = {
        "NAME": spec.name,
        "VERSION": spec.version,
        "REVISION": revision,
        "BASE_IMAGE": overlay.row.base_image,
        "PYTHON_VERSION": version,
        "PYTHON_MAJOR": major,
        "PYTHON_MINOR": minor,
        "PIP_INDEX_OPTIONS": index_options,
        "ENV": _env_instruction(config["env"]),
        "DEBIAN_PACKAGES": " ".join(name for name in packages if not name.startswith("python3")),
        "PYTHON_PACKAGES": " ".join(name for name in packages if name.startswith("python3")),
        "VENV": python["venv"],
        "SITE_PACKAGES": site_packages,
        "PRUNE": " && \\\n    ".join(prune) or "true",
        "CONTEXT": overlay.context,
        "COPY_FILES": _copy_instructions(spec, overlay.context, rootfs),
        "LAYOUT": _layout_commands(spec, rootfs, passwd),
        "USER": config["user"],
        "WORKDIR": config["workdir"],
        "PORTS": " ".join(str(port) for port in config["ports"]),
        "VOLUMES": json.dumps(list(config["volumes"])),
        "STOP_SIGNAL": config["stop_signal"],
        "HEALTHCHECK": _healthcheck_instruction(config["healthcheck"]),
        "ENTRYPOINT": json.dumps(list(config["entrypoint"])),
    }

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise ValueError(f"{template}: unknown placeholder {match.group(0)}")
        return values[match.group(1)]

    return re.sub(r"@([A-Z_]+)@", fill, template.read_text())


def write_overlay(checkout: Path, spec: ImageSpec, revision: str, epoch: int) -> Written:
    """Write the overlay into ``checkout`` (see the module); running it again gives the same files.

    Raises ``ValueError`` when ``checkout`` is not a DSDL checkout or the lock has no file for the
    image's platform; ``subprocess.CalledProcessError`` when the wheel cannot be built.
    """
    problem = checkout_problem(checkout)
    if problem is not None:
        raise ValueError(f"{checkout}: not a checkout of splunk-mltk-container-docker: {problem}")
    overlay = load_overlay(spec)
    python = spec.python
    files = locked_files(ROOT / "poetry.lock", python["extras"], python["platform"])
    context = checkout / overlay.context
    if context.exists():
        shutil.rmtree(context)
    rootfs = context / "rootfs"
    passwd = _stage_files(spec, rootfs, revision, epoch)
    wheel = build_wheel(ROOT, context / "dist", epoch)
    requirements = checkout / "requirements_files" / overlay.row.base_requirements
    requirements.parent.mkdir(exist_ok=True)
    requirements.write_text(requirements_text(files))
    specific = checkout / "requirements_files" / overlay.row.specific_requirements
    if not specific.exists():
        specific.write_text("")
    dockerfile = checkout / "dockerfiles" / overlay.row.dockerfile
    dockerfile.parent.mkdir(exist_ok=True)
    index_options = _index_options(files, ROOT / "pyproject.toml")
    dockerfile.write_text(
        render_dockerfile(
            spec, overlay, rootfs, passwd=passwd, index_options=index_options, revision=revision
        )
    )
    table = checkout / TAG_MAPPING
    text, replaced = with_row(table.read_text(), overlay.row)
    table.write_text(text)
    return Written(
        row=overlay.row,
        replaced=replaced,
        dockerfile=dockerfile.relative_to(checkout),
        requirements=requirements.relative_to(checkout),
        packages=len(files),
        wheel=wheel.relative_to(checkout),
        context=context.relative_to(checkout),
    )
