"""``golden image push``: arguments, the archive and project lookup, credentials and redaction, and the
digest check, with a stand-in ``skopeo`` on a ``PATH`` of its own (a real process, its calls recorded).

The real push to a registry is ``tests/image/test_push.py``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_testing import Capture, golden
from oci_testing import archive_manifest, tiny_archive

from dsdl_golden import cli
from dsdl_golden._cli.push import Reference

REF = "127.0.0.1:5999/dsdl/golden-cpu-empresa:test"
USER = "pusher"
PASSWORD = "pw-5f0c2a91-DISTINCTIVE-secret"
PAIR = f"{USER}:{PASSWORD}"
IDENTITY_TOKEN = "idtok-77e1b9-DISTINCTIVE"

#: A stand-in for skopeo: records each call (arguments, the auth file's text and mode) as a JSON line in
#: $FAKE_SKOPEO_RECORD; ``copy`` succeeds, or with FAKE_SKOPEO=deny prints every credential it was given
#: in a fatal message and fails; ``inspect`` prints the file $FAKE_MANIFEST.
FAKE_SKOPEO = """\
#!{python}
import base64, json, os, sys

args = sys.argv[1:]
authfile = next((args[i + 1] for i, arg in enumerate(args) if arg in ("--authfile", "--dest-authfile")), None)
auth = open(authfile).read() if authfile else ""
mode = oct(os.stat(authfile).st_mode & 0o777) if authfile else None
with open(os.environ["FAKE_SKOPEO_RECORD"], "a") as record:
    record.write(json.dumps({{"argv": args, "auth": auth, "mode": mode, "authfile": authfile}}) + "\\n")
if args[0] == "copy":
    print("Getting image source signatures", flush=True)
    if os.environ.get("FAKE_SKOPEO") == "deny":
        entries = json.loads(auth)["auths"].values() if auth else []
        told = [str(value) for entry in entries for value in entry.values()]
        told += [base64.b64decode(entry["auth"]).decode() for entry in entries if "auth" in entry]
        quote = chr(92) + '"'  # skopeo (logrus) escapes quotes in msg="..."
        told = " ".join(told).replace('"', quote)
        message = "denied: requested access refused for " + quote + told + quote
        print('time="t" level=fatal msg="' + message + '"', file=sys.stderr)
        sys.exit(1)
    print("Writing manifest to image destination")
elif args[0] == "inspect":
    sys.stdout.buffer.write(open(os.environ["FAKE_MANIFEST"], "rb").read())
"""


@pytest.fixture(autouse=True)
def no_registry_auth_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tiny_archive(tmp_path / "image").archive


@pytest.fixture
def skopeo_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive: Path) -> Path:
    """The stand-in skopeo alone on PATH, serving ``archive``'s manifest; returns its record file."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    fake = bin_dir / "skopeo"
    fake.write_text(FAKE_SKOPEO.format(python=sys.executable))
    fake.chmod(0o755)
    manifest = tmp_path / "served-manifest.json"
    manifest.write_bytes(archive_manifest(archive).raw)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("FAKE_SKOPEO_RECORD", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("FAKE_MANIFEST", str(manifest))
    return tmp_path / "calls.jsonl"


Push = Callable[..., tuple[int, str, str]]


@pytest.fixture
def push(capsys: Capture, archive: Path) -> Push:
    """``golden image push REF --archive <archive> *extra``: the status, stdout and stderr."""

    def run(*extra: str | Path) -> tuple[int, str, str]:
        return golden(capsys, "image", "push", REF, "--archive", archive, *extra)

    return run


def calls(record: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def make_project(root: Path, version: str = "9.9.9") -> Path:
    """A dsdl-golden checkout as far as the archive lookup reads it."""
    (root / "image").mkdir(parents=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "dsdl-golden"\nversion = "{version}"\n')
    (root / "image" / "spec.toml").write_text('[image]\nname = "golden-cpu-empresa"\n')
    return root


# --- arguments --------------------------------------------------------------------------------------


def test_push_defaults() -> None:
    args = cli.build_parser().parse_args(["image", "push", REF])
    assert args.reference == Reference("127.0.0.1:5999", "dsdl/golden-cpu-empresa", "test")
    assert str(args.reference) == REF
    assert (args.archive, args.project, args.authfile, args.creds_env) == (None, None, None, None)
    assert args.tls_verify is True


def test_no_tls_verify() -> None:
    assert cli.build_parser().parse_args(["image", "push", REF, "--no-tls-verify"]).tls_verify is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["image"], "the following arguments are required: ACTION"),
        (["image", "push"], "the following arguments are required: REF"),
        (["image", "push", "golden-cpu-empresa:0.1.0"], "expected HOST[:PORT]/REPOSITORY:TAG"),
        (["image", "push", "dsdl/golden-cpu-empresa:0.1.0"], "got 'dsdl/golden-cpu-empresa:0.1.0'"),
        (["image", "push", "registry.example.com/golden-cpu-empresa"], "explicit tag"),
        (["image", "push", "registry.example.com/Golden:1"], "lower-case repository"),
        (["image", "push", "registry.example.com/golden@sha256:" + "0" * 64], "HOST[:PORT]/REPOSITORY:TAG"),
        (["image", "push", REF, "--authfile", "a.json", "--creds-env", "X"], "not allowed with argument"),
    ],
)
def test_usage_errors(capsys: Capture, argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "ref", ["localhost/golden:1", "registry.example.com:443/a/b/c:0.1.0_rc-1", "docker.io/x/y:z"]
)
def test_references_naming_a_registry_are_accepted(ref: str) -> None:
    assert str(cli.build_parser().parse_args(["image", "push", ref]).reference) == ref


# --- the archive and the project --------------------------------------------------------------------


def test_missing_default_archive_says_to_run_image_build(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "checkout")
    (project / "helpers").mkdir()
    monkeypatch.chdir(project / "helpers")
    status, out, err = golden(capsys, "image", "push", REF)
    expected = project / "build" / "image" / "golden-cpu-empresa-9.9.9.oci.tar"
    assert (status, out) == (2, "")
    assert err == (
        f"golden image push: no image archive at {expected}: build it with `sudo image/build` "
        "(or pass --archive FILE)\n"
    )


def test_missing_archive_option(tmp_path: Path, capsys: Capture) -> None:
    status, _, err = golden(capsys, "image", "push", REF, "--archive", tmp_path / "none.oci.tar")
    assert status == 2
    assert f"no image archive at {tmp_path / 'none.oci.tar'}: build it with `sudo image/build`" in err


def test_not_an_archive(tmp_path: Path, capsys: Capture) -> None:
    (tmp_path / "junk.oci.tar").write_bytes(b"not a tar file" * 100)
    status, _, err = golden(capsys, "image", "push", REF, "--archive", tmp_path / "junk.oci.tar")
    assert status == 2
    assert "junk.oci.tar: not a readable OCI image archive" in err


def test_outside_a_checkout(tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n')
    monkeypatch.chdir(tmp_path)
    status, _, err = golden(capsys, "image", "push", REF)
    assert status == 2
    assert f"{tmp_path} is not inside a dsdl-golden checkout" in err
    assert "pass --project DIR or --archive FILE" in err


def test_project_option_must_be_a_checkout(tmp_path: Path, capsys: Capture) -> None:
    status, _, err = golden(capsys, "image", "push", REF, "--project", tmp_path)
    assert (status, err) == (
        2,
        f"golden image push: --project {tmp_path}: no pyproject.toml of dsdl-golden there\n",
    )


def test_a_checkout_without_the_image_spec(tmp_path: Path, capsys: Capture) -> None:
    project = make_project(tmp_path / "checkout")
    (project / "image" / "spec.toml").unlink()
    status, _, err = golden(capsys, "image", "push", REF, "--project", project)
    assert status == 2
    assert f"{project}: cannot name the image archive from image/spec.toml and pyproject.toml" in err
    assert err.endswith("pass --archive FILE\n")


def test_default_archive_of_the_project_option_is_pushed(
    tmp_path: Path, capsys: Capture, skopeo_calls: Path, archive: Path
) -> None:
    project = make_project(tmp_path / "checkout", version="1.2.3")
    default = project / "build" / "image" / "golden-cpu-empresa-1.2.3.oci.tar"
    default.parent.mkdir(parents=True)
    default.write_bytes(archive.read_bytes())
    status, _, err = golden(capsys, "image", "push", REF, "--project", project)
    assert status == 0, err
    assert calls(skopeo_calls)[0]["argv"][-2:] == [f"oci-archive:{default}", f"docker://{REF}"]


# --- skopeo -----------------------------------------------------------------------------------------


def test_missing_skopeo_says_how_to_install_it(tmp_path: Path, archive: Path) -> None:
    empty_path = tmp_path / "no-tools"
    empty_path.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "dsdl_golden", "image", "push", REF, "--archive", str(archive)],
        env={"PATH": str(empty_path), "HOME": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "golden image push: skopeo is not installed (not found on PATH): install it with "
        "`apt-get install skopeo` (Debian/Ubuntu; `dnf install skopeo` on Fedora/RHEL)\n"
    )


def test_push_prints_the_reference_with_the_archives_digest(
    push: Push, skopeo_calls: Path, archive: Path
) -> None:
    status, out, err = push()
    digest = archive_manifest(archive).digest
    assert (status, out) == (0, f"{REF}@{digest}\n"), err
    copy, inspect = calls(skopeo_calls)
    assert copy["argv"] == [
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=true",
        f"oci-archive:{archive}",
        f"docker://{REF}",
    ]
    assert inspect["argv"] == ["inspect", "--raw", "--tls-verify=true", f"docker://{REF}"]
    assert f"pushing {archive} ({digest}) to {REF}" in err
    assert "  Writing manifest to image destination" in err


def test_no_tls_verify_reaches_both_skopeo_calls_with_a_warning(push: Push, skopeo_calls: Path) -> None:
    status, _, err = push("--no-tls-verify")
    assert status == 0
    copy, inspect = calls(skopeo_calls)
    assert "--dest-tls-verify=false" in copy["argv"]
    assert "--tls-verify=false" in inspect["argv"]
    assert "warning: --no-tls-verify: 127.0.0.1:5999 is not verified" in err


def test_a_registry_serving_another_manifest_fails(
    tmp_path: Path, push: Push, skopeo_calls: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tiny_archive(tmp_path / "other", marker="two")
    served = tmp_path / "other-manifest.json"
    served.write_bytes(archive_manifest(other.archive).raw)
    monkeypatch.setenv("FAKE_MANIFEST", str(served))
    status, out, err = push()
    assert (status, out) == (1, "")
    assert (
        f"golden image push: the registry serves {REF} with manifest digest {other.manifest_digest}, "
        f"not the archive's {archive_manifest(archive).digest}"
    ) in err


# --- credentials ------------------------------------------------------------------------------------


def test_creds_env_goes_to_skopeo_in_a_private_auth_file_only(
    push: Push, skopeo_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUSH_CREDS", PAIR)
    status, out, err = push("--creds-env", "PUSH_CREDS")
    assert status == 0, err
    copy, inspect = calls(skopeo_calls)
    assert copy["argv"][copy["argv"].index("--dest-authfile") + 1] == copy["authfile"]
    assert inspect["authfile"] == copy["authfile"]
    assert copy["mode"] == "0o600"
    assert json.loads(copy["auth"]) == {
        "auths": {"127.0.0.1:5999": {"auth": base64.b64encode(PAIR.encode()).decode()}}
    }
    assert not Path(copy["authfile"]).exists()
    assert not Path(copy["authfile"]).parent.exists()
    for call in (copy, inspect):
        assert PASSWORD not in " ".join(call["argv"])
    assert PASSWORD not in out + err


def test_a_refused_push_shows_skopeos_message_with_secrets_redacted(
    push: Push, skopeo_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUSH_CREDS", PAIR)
    monkeypatch.setenv("FAKE_SKOPEO", "deny")
    status, out, err = push("--creds-env", "PUSH_CREDS")
    assert (status, out) == (1, "")
    last = err.splitlines()[-1]
    assert last.startswith(f"golden image push: pushing to {REF} failed (skopeo exit status 1): denied: ")
    assert "***" in last
    assert last.endswith(
        ' for "*** ***" (log in with --authfile FILE, REGISTRY_AUTH_FILE or --creds-env NAME)'
    )
    for secret in (PASSWORD, base64.b64encode(PAIR.encode()).decode()):
        assert secret not in err
    assert len(calls(skopeo_calls)) == 1  # nothing inspected after a failed push


def test_an_auth_files_secrets_are_redacted(
    tmp_path: Path, push: Push, skopeo_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authfile = tmp_path / "auth.json"
    auth = base64.b64encode(PAIR.encode()).decode()
    authfile.write_text(
        json.dumps({"auths": {"127.0.0.1:5999": {"auth": auth, "identitytoken": IDENTITY_TOKEN}}})
    )
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(authfile))
    monkeypatch.setenv("FAKE_SKOPEO", "deny")
    status, _, err = push()
    assert status == 1
    assert calls(skopeo_calls)[0]["authfile"] == str(authfile)
    assert "denied: requested access refused" in err
    for secret in (PASSWORD, auth, IDENTITY_TOKEN):
        assert secret not in err


def test_authfile_option_wins_over_the_variable(
    tmp_path: Path, push: Push, skopeo_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = tmp_path / "chosen.json"
    chosen.write_text('{"auths": {}}')
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "missing.json"))
    status, _, err = push("--authfile", chosen)
    assert status == 0, err
    assert [call["authfile"] for call in calls(skopeo_calls)] == [str(chosen), str(chosen)]


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        (None, "--creds-env PUSH_CREDS: the environment variable PUSH_CREDS is not set"),
        (PASSWORD, "--creds-env PUSH_CREDS: expected USER:PASSWORD in $PUSH_CREDS (its value is not shown)"),
        (
            f"{USER}:",
            "--creds-env PUSH_CREDS: expected USER:PASSWORD in $PUSH_CREDS (its value is not shown)",
        ),
    ],
    ids=["unset", "no-colon", "no-password"],
)
def test_unusable_creds_env(
    push: Push,
    skopeo_calls: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str | None,
    message: str,
) -> None:
    if variable is not None:
        monkeypatch.setenv("PUSH_CREDS", variable)
    status, _, err = push("--creds-env", "PUSH_CREDS")
    assert (status, err) == (2, f"golden image push: {message}\n")
    assert calls(skopeo_calls) == []


def test_a_missing_registry_auth_file(
    tmp_path: Path, push: Push, skopeo_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth.json"))
    status, _, err = push()
    assert (status, err) == (
        2,
        f"golden image push: REGISTRY_AUTH_FILE {tmp_path / 'auth.json'}: no such auth file\n",
    )
    assert calls(skopeo_calls) == []


def test_an_auth_file_that_is_not_json(tmp_path: Path, push: Push, skopeo_calls: Path) -> None:
    authfile = tmp_path / "auth.json"
    authfile.write_text('{"auths": ' + PASSWORD)
    status, _, err = push("--authfile", authfile)
    assert (status, err) == (
        2,
        f"golden image push: --authfile {authfile}: not a JSON auth file (line 1, column 11)\n",
    )
    assert calls(skopeo_calls) == []
