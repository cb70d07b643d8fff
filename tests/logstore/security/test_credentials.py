"""The SCRAM credential store survives a restart, holds no password, and `python -m logstore
add-scram` fills it with kafka-storage's syntax (refusing a bad spec with exit 2)."""

from __future__ import annotations

import subprocess
import sys

from logstore.__main__ import main
from logstore.security.credentials import CredentialStore
from logstore.security.scram import make_credential, verify_password


def test_credentials_survive_reopening_and_deletes(tmp_path) -> None:
    store = CredentialStore(tmp_path)
    store.upsert("alice", make_credential("SCRAM-SHA-256", "alice-secret"))
    store.upsert("alice", make_credential("SCRAM-SHA-512", "alice-512"))
    store.upsert("bob", make_credential("SCRAM-SHA-256", "bob-secret"))
    again = CredentialStore(tmp_path)
    assert set(again.users()) == {"alice", "bob"}
    alice = again.get("alice", "SCRAM-SHA-512")
    assert alice is not None
    assert verify_password(alice, "alice-512")
    assert again.delete("alice", "SCRAM-SHA-256")
    assert not again.delete("alice", "SCRAM-SHA-256")
    assert again.delete("bob", "SCRAM-SHA-256")
    third = CredentialStore(tmp_path)
    assert list(third.users()) == ["alice"]
    assert third.get("bob", "SCRAM-SHA-256") is None
    assert not list(tmp_path.glob("*.tmp"))


def test_no_password_is_written(tmp_path) -> None:
    CredentialStore(tmp_path).upsert("u", make_credential("SCRAM-SHA-256", "plaintext-canary"))
    assert b"plaintext-canary" not in (tmp_path / "scram-credentials.json").read_bytes()


def test_add_scram_cli_stores_credentials_the_broker_reads(tmp_path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "logstore",
            "add-scram",
            "--data-dir",
            str(tmp_path),
            "SCRAM-SHA-256=[name=admin,password=admin-secret]",
            "SCRAM-SHA-512=[name=admin,iterations=8192,password=admin-512]",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "stored SCRAM-SHA-512 credential for admin" in result.stdout
    store = CredentialStore(tmp_path / ".state" / "security")
    sha256 = store.get("admin", "SCRAM-SHA-256")
    sha512 = store.get("admin", "SCRAM-SHA-512")
    assert sha256 is not None
    assert verify_password(sha256, "admin-secret")
    assert sha512 is not None
    assert sha512.iterations == 8192
    assert verify_password(sha512, "admin-512")


def test_add_scram_refuses_a_bad_spec_and_writes_nothing(tmp_path, capsys) -> None:
    code = main(
        [
            "add-scram",
            "--data-dir",
            str(tmp_path),
            "SCRAM-SHA-256=[name=ok,password=fine]",
            "SCRAM-SHA-256=[name=x,password=y,iterations=10]",
        ]
    )
    assert code == 2
    assert "iterations must be between 4096 and 16384" in capsys.readouterr().err
    assert not (tmp_path / ".state").exists()
