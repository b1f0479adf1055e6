"""Signed images: ``golden image push --sign-by`` to a real registry (Debian's ``docker-registry``) on
loopback, the signature in a ``file://`` lookaside, and the policy of ``golden image policy`` enforced
by skopeo (``skopeo copy --policy``, as podman and CRI-O enforce it when they pull).

The signed image is ``--image ARCHIVE`` when given (image/test: the built image), else a small one. The
*altered* image is that image with one annotation added to its manifest: config and layers unchanged,
the manifest re-digested, a valid image that was never signed (a signature covers the manifest digest,
which names every layer's digest). A changed byte of a layer is the registry-storage test: the signature
still verifies, and the layer's digest check fails.

A throw-away GPG key (no passphrase) is made in a temporary GNUPGHOME. The registry tests are root only
(image/test runs them) and skipped without docker-registry, skopeo, gpg or gpg-agent; the argument
checks at the end (``golden image policy``, ``push --sign-by``) run anywhere.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from oci_testing import (
    PASSWORD,
    PASSWORD_BCRYPT,
    USER,
    Manifest,
    archive_manifest,
    child_environment,
    free_port,
    given_or_tiny_archive,
    golden,
    golden_push,
    serve_registry,
)

from dsdl_golden import cli

REPOSITORY = "golden-cpu-empresa"
TOOLS = ("docker-registry", "skopeo", "gpg", "gpg-agent")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
KEY_USER = "golden test <test@example.invalid>"
UNKNOWN_KEY = "0" * 40
#: What ``gpg --export`` writes first: an old-format public-key packet header, version 4.
PUBLIC_KEY_START = b"\x99\x01\x8d\x04"

Test = Callable[..., None]


def registry_test(test: Test) -> Test:
    """A test against a registry on loopback: root only, with the tools (package names = tool names)."""
    marks = (
        pytest.mark.integration,
        pytest.mark.skipif(os.geteuid() != 0, reason="root only: image/test runs it"),
        pytest.mark.skipif(
            bool(MISSING),
            reason=f"needs {' '.join(MISSING)}: apt-get install {' '.join(MISSING)} (image/test does)",
        ),
    )
    for mark in marks:
        test = mark(test)
    return test


@dataclass(frozen=True)
class Key:
    """A GPG key pair: its keyring directory, fingerprint and exported public key."""

    home: Path
    fingerprint: str
    public: Path


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Key]:
    """A throw-away signing key without passphrase in a GNUPGHOME of its own; its agent is stopped
    afterwards."""
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {"PATH": os.environ["PATH"], "GNUPGHOME": str(home)}

    def gpg(*arguments: str) -> bytes:
        result = subprocess.run(
            ["gpg", "--batch", *arguments], env=env, capture_output=True, check=False, timeout=120
        )
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        return result.stdout

    try:
        gpg("--passphrase", "", "--quick-gen-key", KEY_USER, "default", "default", "never")
        listing = gpg("--with-colons", "--list-secret-keys").decode().splitlines()
        fingerprint = next(line.split(":")[9] for line in listing if line.startswith("fpr:"))
        public = home / "public.gpg"
        public.write_bytes(gpg("--export", fingerprint))
        yield Key(home, fingerprint, public)
    finally:
        subprocess.run(
            ["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True, check=False, timeout=60
        )


@pytest.fixture
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """``--image ARCHIVE``, else a small archive."""
    return given_or_tiny_archive(request, tmp_path / "image")


@pytest.fixture
def environment(tmp_path: Path, key: Key) -> dict[str, str]:
    """No credentials or settings of the caller; the test key's keyring as GNUPGHOME."""
    return {**child_environment(tmp_path), "GNUPGHOME": str(key.home)}


@dataclass(frozen=True)
class Trust:
    """What ``golden image policy`` wrote: the policy, the registries.d naming the lookaside."""

    policy: Path
    registries_d: Path
    lookaside: Path

    def sign(self, fingerprint: str) -> tuple[str, ...]:
        """``golden image push``'s options signing with ``fingerprint`` into the lookaside."""
        return ("--sign-by", fingerprint, "--registries-d", str(self.registries_d))


@pytest.fixture
def trust(tmp_path: Path, key: Key, environment: dict[str, str]) -> Callable[[str], Trust]:
    """``golden image policy`` for the repository ``HOST:PORT/REPOSITORY`` of a registry: a policy
    accepting only the key's signatures, a registries.d with a ``file://`` lookaside for it."""

    def write(registry: str) -> Trust:
        made = Trust(tmp_path / "policy.json", tmp_path / "registries.d", tmp_path / "lookaside")
        result = golden(
            "image",
            "policy",
            "--key",
            str(key.public),
            "--repository",
            f"{registry}/{REPOSITORY}",
            "--lookaside",
            str(made.lookaside),
            "--registries-d",
            str(made.registries_d),
            "--output",
            str(made.policy),
            env=environment,
        )
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
        return made

    return write


def push(
    reference: str, archive: Path, environment: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    """``golden image push REFERENCE`` of ``archive`` over HTTP; it must succeed."""
    pushed = golden_push(reference, "--no-tls-verify", "--archive", str(archive), *extra, env=environment)
    assert pushed.returncode == 0, pushed.stderr
    return pushed


def verify(
    reference: str, trust: Trust, destination: Path, environment: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    """``skopeo copy --policy`` of ``reference`` to the OCI layout ``destination``: the signatures
    checked against the policy, then every blob against its digest (``--remove-signatures``: a layout
    cannot store signatures)."""
    command = ["skopeo", "copy", "--remove-signatures", "--policy", str(trust.policy)]
    command += ["--registries.d", str(trust.registries_d), "--src-tls-verify=false", *extra]
    return subprocess.run(
        [*command, f"docker://{reference}", f"oci:{destination}"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def annotated_archive(archive: Path, destination: Path) -> Manifest:
    """``archive`` with an annotation added to its manifest (re-digested, config and layers as they
    are) written to ``destination``; returns the new manifest."""
    original = archive_manifest(archive)
    document = original.document
    document["annotations"] = {**document.get("annotations", {}), "org.example.altered": "yes"}
    altered = Manifest(json.dumps(document, sort_keys=True, separators=(",", ":")).encode())
    with tarfile.open(archive) as source, tarfile.open(destination, "w", format=tarfile.PAX_FORMAT) as target:
        for member in source:
            content = source.extractfile(member) if member.isfile() else None
            if member.name == "index.json":
                assert content is not None
                index = json.loads(content.read())
                index["manifests"][0].update(digest=altered.digest, size=len(altered.raw))
                _add(target, "index.json", json.dumps(index).encode())
            elif member.name == _blob(original.digest):
                _add(target, _blob(altered.digest), altered.raw)
            else:
                target.addfile(member, content)
    assert archive_manifest(destination) == altered
    return altered


def _blob(digest: str) -> str:
    return f"blobs/sha256/{digest.removeprefix('sha256:')}"


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def signature_of(trust: Trust, digest: str) -> Path:
    """Where skopeo keeps the first signature of the manifest ``digest`` in the lookaside."""
    return trust.lookaside / f"{REPOSITORY}@sha256={digest.removeprefix('sha256:')}" / "signature-1"


# --- with a registry --------------------------------------------------------------------------------


@registry_test
def test_a_signed_push_is_accepted_by_the_policy(
    tmp_path: Path,
    archive: Path,
    key: Key,
    environment: dict[str, str],
    trust: Callable[[str], Trust],
) -> None:
    with serve_registry(tmp_path / "registry", htpasswd=f"{USER}:{PASSWORD_BCRYPT}\n") as registry:
        made = trust(registry)
        assert (
            (made.registries_d / f"127.0.0.1_{registry.split(':')[1]}_{REPOSITORY}.yaml")
            .read_text()
            .endswith(f'lookaside: "{made.lookaside.as_uri()}"\n')
        )
        reference = f"{registry}/{REPOSITORY}:signed"
        digest = archive_manifest(archive).digest
        login = {**environment, "PUSH_CREDS": f"{USER}:{PASSWORD}"}
        pushed = push(reference, archive, login, "--creds-env", "PUSH_CREDS", *made.sign(key.fingerprint))
        assert pushed.stdout == f"{reference}@{digest}\n"
        assert f"signing with GPG key {key.fingerprint}; signatures stored in {made.lookaside.as_uri()}" in (
            pushed.stderr
        )
        assert signature_of(made, digest).is_file()
        assert PASSWORD not in pushed.stdout + pushed.stderr

        verified = verify(
            reference, made, tmp_path / "pulled", environment, "--src-creds", f"{USER}:{PASSWORD}"
        )
        assert verified.returncode == 0, verified.stderr
        pulled = json.loads((tmp_path / "pulled" / "index.json").read_text())
        assert [entry["digest"] for entry in pulled["manifests"]] == [digest]


@registry_test
def test_unsigned_and_altered_images_are_refused(
    tmp_path: Path, archive: Path, key: Key, environment: dict[str, str], trust: Callable[[str], Trust]
) -> None:
    with serve_registry(tmp_path / "registry") as registry:
        made = trust(registry)
        signed = f"{registry}/{REPOSITORY}:signed"
        push(signed, archive, environment, *made.sign(key.fingerprint))
        assert verify(signed, made, tmp_path / "signed", environment).returncode == 0

        altered = annotated_archive(archive, tmp_path / "altered.oci.tar")
        assert altered.layer_digests == archive_manifest(archive).layer_digests
        for tag in ("unsigned", "signed"):  # a tag of its own, then over the signed one
            push(f"{registry}/{REPOSITORY}:{tag}", tmp_path / "altered.oci.tar", environment)
            refused = verify(f"{registry}/{REPOSITORY}:{tag}", made, tmp_path / f"altered-{tag}", environment)
            assert refused.returncode == 1
            assert (
                "Source image rejected: A signature was required, but no signature exists" in refused.stderr
            )
            assert not signature_of(made, altered.digest).exists()

        # A signature covers a manifest digest in a repository, whatever the tag: the signed image's
        # bytes pushed again unsigned under another tag are still its bytes, and accepted.
        copy = f"{registry}/{REPOSITORY}:copy"
        push(copy, archive, environment)
        assert verify(copy, made, tmp_path / "copy", environment).returncode == 0


@registry_test
def test_a_changed_byte_of_a_stored_layer_fails_verification(
    tmp_path: Path, archive: Path, key: Key, environment: dict[str, str], trust: Callable[[str], Trust]
) -> None:
    with serve_registry(tmp_path / "registry") as registry:
        made = trust(registry)
        reference = f"{registry}/{REPOSITORY}:signed"
        push(reference, archive, environment, *made.sign(key.fingerprint))
        assert verify(reference, made, tmp_path / "before", environment).returncode == 0

        layers = archive_manifest(archive).document["layers"]
        layer = min(layers, key=lambda entry: entry["size"])["digest"].removeprefix("sha256:")
        blob = (
            tmp_path / "registry" / "storage" / "docker/registry/v2/blobs/sha256" / layer[:2] / layer / "data"
        )
        with open(blob, "r+b") as file:
            file.seek(blob.stat().st_size // 2)
            byte = file.read(1)[0]
            file.seek(-1, os.SEEK_CUR)
            file.write(bytes([byte ^ 0x01]))

        tampered = verify(reference, made, tmp_path / "after", environment)
        assert tampered.returncode == 1
        assert f"Digest did not match, expected sha256:{layer}" in tampered.stderr


@registry_test
def test_an_unknown_key_fails_with_skopeos_message_and_the_image_stays_unsigned(
    tmp_path: Path, archive: Path, environment: dict[str, str], trust: Callable[[str], Trust]
) -> None:
    with serve_registry(tmp_path / "registry") as registry:
        made = trust(registry)
        reference = f"{registry}/{REPOSITORY}:signed"
        command = ["--no-tls-verify", "--archive", str(archive), *made.sign(UNKNOWN_KEY)]
        pushed = golden_push(reference, *command, env=environment)
        assert (pushed.returncode, pushed.stdout) == (1, "")
        assert pushed.stderr.splitlines()[-1] == (
            f"golden image push: pushing to {reference} failed (skopeo exit status 1): creating signature: "
            f'key "{UNKNOWN_KEY}" not found (the image is in the registry without a signature: --sign-by '
            "takes the fingerprint of a secret key in the GPG keyring of $GNUPGHOME or ~/.gnupg, see "
            "`gpg --list-secret-keys`)"
        )
        refused = verify(reference, made, tmp_path / "pulled", environment)
        assert refused.returncode == 1
        assert "no signature exists" in refused.stderr


@registry_test
def test_signing_without_a_lookaside_stops_before_pushing(
    tmp_path: Path, archive: Path, key: Key, environment: dict[str, str]
) -> None:
    empty = tmp_path / "registries.d"
    empty.mkdir()
    reference = f"127.0.0.1:{free_port()}/{REPOSITORY}:signed"  # nothing listens: a push would say so
    command = ["--no-tls-verify", "--archive", str(archive), "--sign-by", key.fingerprint]
    pushed = golden_push(reference, *command, "--registries-d", str(empty), env=environment)
    assert (pushed.returncode, pushed.stdout) == (1, "")
    last = pushed.stderr.splitlines()[-1]
    assert last.startswith(
        f"golden image push: --sign-by: no lookaside is configured for {reference} in --registries-d {empty} "
        f"(skopeo: No signature storage configuration found for {reference}, using built-in default "
    )
    assert last.endswith("and pass --registries-d DIR; nothing was pushed")
    assert "pushing" not in pushed.stderr


# --- golden image policy's arguments (no tools needed) -----------------------------------------------


def policy(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    status = cli.main(["image", "policy", *(str(arg) for arg in argv)])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_policy_accepts_only_the_repositorys_images_signed_by_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "key.gpg").write_bytes(PUBLIC_KEY_START + b"rest of the key")
    monkeypatch.chdir(tmp_path)
    status, out, err = policy(
        capsys, "--key", "key.gpg", "--repository", "registry.example.com:5000/dsdl/golden"
    )
    assert (status, err) == (0, "")
    assert json.loads(out) == {
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                "registry.example.com:5000/dsdl/golden": [
                    {
                        "type": "signedBy",
                        "keyType": "GPGKeys",
                        "keyPath": str(tmp_path / "key.gpg"),
                        "signedIdentity": {"type": "matchRepository"},
                    }
                ]
            }
        },
    }


def test_the_lookaside_is_shown_as_registries_d_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "key.asc").write_bytes(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQGNBG...\n")
    status, out, err = policy(
        capsys,
        "--key",
        tmp_path / "key.asc",
        "--repository",
        "localhost/golden",
        "--lookaside",
        "https://sigs.example.com/golden",
        "--output",
        tmp_path / "policy.json",
    )
    assert (status, out) == (0, "")
    assert json.loads((tmp_path / "policy.json").read_text())["transports"]["docker"]["localhost/golden"]
    assert err == (
        f"wrote {tmp_path / 'policy.json'}: only localhost/golden signed by {tmp_path / 'key.asc'} is "
        "accepted\nregistries.d: save this as /etc/containers/registries.d/localhost_golden.yaml (or pass "
        "--registries-d DIR) where images are pushed and verified:\n"
        "# golden image policy: where the signatures of localhost/golden are (containers-registries.d(5))\n"
        'docker:\n  "localhost/golden":\n    lookaside: "https://sigs.example.com/golden"\n'
        "signers also need `lookaside-staging: file:///DIR` in it, with DIR published at "
        "https://sigs.example.com/golden\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x95\x03\xc6\x04", "a secret key, which verifiers must not get"),
        (b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n", "a secret key, which verifiers must not get"),
        (b"", "empty (gpg exports nothing for an unknown key)"),
        (b"PK\x03\x04 a zip file", "not an OpenPGP public key"),
    ],
    ids=["secret", "armored-secret", "empty", "other"],
)
def test_a_key_that_is_not_a_public_key_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    (tmp_path / "key").write_bytes(content)
    status, out, err = policy(capsys, "--key", tmp_path / "key", "--repository", "localhost/golden")
    assert (status, out) == (2, "")
    assert err == (
        f"golden image policy: --key {tmp_path / 'key'}: {message}: export the public key with "
        "`gpg --export FINGERPRINT > key.gpg`\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["image", "policy", "--key", "k"], "the following arguments are required: --repository"),
        (["image", "policy", "--key", "k", "--repository", "golden"], "expected HOST[:PORT]/REPOSITORY"),
        (["image", "policy", "--key", "k", "--repository", "localhost/golden:1"], "no tag"),
        (
            ["image", "push", "localhost/golden:1", "--sign-by", "ABCD1234"],
            "expected the fingerprint of a GPG key",
        ),
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [
                "image",
                "policy",
                "--key",
                "key.gpg",
                "--repository",
                "localhost/golden",
                "--registries-d",
                "d",
            ],
            "golden image policy: --registries-d DIR is where the YAML of --lookaside goes: "
            "give --lookaside too",
        ),
        (
            [
                "image",
                "policy",
                "--key",
                "key.gpg",
                "--repository",
                "localhost/golden",
                "--lookaside",
                "ftp://x",
            ],
            "golden image policy: --lookaside ftp://x: expected a directory or a file://, http:// or "
            "https:// URL",
        ),
        (
            ["image", "push", "localhost/golden:1", "--registries-d", "d"],
            "golden image push: --registries-d DIR configures where signatures go: give --sign-by too",
        ),
        (
            ["image", "push", "localhost/golden:1", "--sign-by", UNKNOWN_KEY, "--registries-d", "missing"],
            "golden image push: --registries-d missing: no such directory",
        ),
    ],
    ids=["registries-d-without-lookaside", "lookaside-scheme", "push-registries-d-alone", "no-such-dir"],
)
def test_argument_checks(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "key.gpg").write_bytes(PUBLIC_KEY_START)
    (tmp_path / "d").mkdir()
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"{message}\n")
