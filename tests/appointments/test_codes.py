"""Signed codes and key rotation, the secrets file, and what is kept of personal data."""

from __future__ import annotations

import base64
import contextlib
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract import mask_name
from hub.appointments import Keyring
from hub.appointments.codes import CodeBody, CodeError, sign, verify
from hub.appointments.keyfile import KeyFileError, load, load_or_create, main, retire, rotate
from hub.appointments.privacy import keyed_hash, mask_phone, normalise_id_number, normalise_phone

BODY = CodeBody(
    "Xy3_bK9-aQ2r", "centre", "A02", datetime(2026, 11, 25, 2, 0, tzinfo=UTC), datetime(2026, 11, 25, 2, 30, tzinfo=UTC)
)
OLD = Keyring({"k1": b"1" * 32}, "k1")
ROTATED = Keyring({"k1": b"1" * 32, "k2": b"2" * 32}, "k2")
RETIRED = Keyring({"k2": b"2" * 32}, "k2")


def test_a_code_is_compact_text_that_verifies_to_its_body() -> None:
    code = sign(OLD, BODY)

    assert code.startswith("HQ1.k1.") and code.count(".") == 3
    assert len(code) < 100  # a small QR (version 5 or so), easy to read from a phone screen
    assert verify(OLD, code) == BODY
    assert verify(OLD, f"  {code}\n") == BODY  # scanners add whitespace


def test_after_rotation_new_codes_use_the_new_key_and_old_codes_still_verify() -> None:
    old_code = sign(OLD, BODY)
    new_code = sign(ROTATED, BODY)

    assert new_code.startswith("HQ1.k2.")
    assert verify(ROTATED, old_code) == BODY
    assert verify(ROTATED, new_code) == BODY
    with pytest.raises(CodeError) as refused:
        verify(RETIRED, old_code)  # the old key retired: its codes are refused
    assert refused.value.forged
    assert verify(RETIRED, new_code) == BODY


def _swap(code: str, index: int, new: str) -> str:
    parts = code.split(".")
    parts[index] = new
    return ".".join(parts)


def test_a_changed_body_key_id_or_signature_is_refused_as_forged() -> None:
    code = sign(ROTATED, BODY)
    other_body = sign(ROTATED, CodeBody("other", BODY.site_id, BODY.matter, BODY.slot_start, BODY.slot_end))
    tampered = [
        _swap(code, 2, other_body.split(".")[2]),  # another body under this signature
        _swap(code, 1, "k1"),  # the same signature claimed for another key
        _swap(code, 1, "k9"),  # an unknown key
        _swap(code, 3, base64.urlsafe_b64encode(b"\0" * 16).decode().rstrip("=")),
        sign(Keyring({"k2": b"x" * 32}, "k2"), BODY),  # signed with a key of the same id that is not ours
    ]
    for forged in tampered:
        with pytest.raises(CodeError) as refused:
            verify(ROTATED, forged)
        assert refused.value.forged, forged


@pytest.mark.parametrize(
    "text",
    ["", "hello", "https://example.org/?q=1", "HQ1.k1.abc", "HQ2.k1.abc.def", "HQ1.k1.a*b.AAAA", "HQ1.k1.abc.AAAA",
     "HQ1.k1.abc.def.ghi", "HQ1." + "A" * 600],
)  # fmt: skip
def test_text_that_is_not_a_code_is_malformed(text: str) -> None:
    with pytest.raises(CodeError) as refused:
        verify(OLD, text)
    assert not refused.value.forged


@given(st.text(max_size=300))
def test_verifying_any_text_gives_a_body_or_a_code_error(text: str) -> None:
    with contextlib.suppress(CodeError):
        verify(OLD, text)


def test_a_keyring_checks_its_keys_and_never_shows_them() -> None:
    with pytest.raises(ValueError, match="current"):
        Keyring({"k1": b"1" * 32}, "k2")
    with pytest.raises(ValueError, match="shorter"):
        Keyring({"k1": b"short"}, "k1")
    with pytest.raises(ValueError, match="key id"):
        Keyring({"k.1": b"1" * 32}, "k.1")
    assert "1111" not in repr(ROTATED) and "k2" in repr(ROTATED)


def test_the_secrets_file_is_created_private_and_rotates_and_retires_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "appointment-keys.toml"
    first = load_or_create(path)
    code = sign(first.keyring, BODY)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(path).keyring.current == first.keyring.current  # not made again
    new_id = rotate(path, "k2099")
    rotated = load(path)
    assert rotated.keyring.current == new_id == "k2099"
    assert rotated.pepper == first.pepper  # the pepper never changes
    assert verify(rotated.keyring, code) == BODY
    with pytest.raises(KeyFileError, match="current"):
        retire(path, "k2099")
    retire(path, first.keyring.current)
    with pytest.raises(CodeError):
        verify(load(path).keyring, code)


def test_the_key_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.toml"

    assert main(["init", str(path)]) == 0
    assert main(["rotate", str(path), "k2"]) == 0
    first = next(key_id for key_id in load(path).keyring.key_ids if key_id != "k2")
    assert main(["retire", str(path), first]) == 0
    assert main(["retire", str(path), "k2"]) == 1  # the current key
    assert "current k2; keys k2" in capsys.readouterr().out
    assert load(path).pepper not in path.read_bytes()  # stored as base64url, never raw


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("current = 'k1'\npepper = 'cGVwcGVycGVwcGVycGVwcGVy'\n", "[keys]"),
        ("pepper = 'cGVwcGVycGVwcGVycGVwcGVy'\n[keys]\nk1 = 'MTExMTExMTExMTExMTExMTExMTE='\n", "current"),
        ("current = 'k1'\npepper = 'cA'\n[keys]\nk1 = 'MTExMTExMTExMTExMTExMTExMTE='\n", "pepper"),
        ("current = 'k1'\npepper = 'cGVwcGVycGVwcGVycGVwcGVy'\n[keys]\nk1 = 'MTE'\n", "k1"),
        ("current = ", "Invalid value"),
    ],
)
def test_a_broken_secrets_file_names_the_file_and_the_key(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(text)
    with pytest.raises(KeyFileError, match=str(path)) as error:
        load(path)
    assert problem in str(error.value)


def test_phone_numbers_are_normalised_and_masked() -> None:
    assert normalise_phone("+86 138-1234-5678") == "13812345678"
    assert normalise_phone("0086 13812345678") == "13812345678"
    for bad in ("1381234567", "23812345678", "1381234567a", "", "12812345678"):
        assert normalise_phone(bad) is None
    assert mask_phone("13812345678") == "138****5678"


def test_id_numbers_need_their_check_digit() -> None:
    assert normalise_id_number("11010519491231002x") == "11010519491231002X"
    assert normalise_id_number("110105194912310021") is None
    assert normalise_id_number("1101051949123100") is None


def test_names_keep_only_their_first_and_last_character() -> None:
    assert [mask_name(name) for name in ("张", "张三", "张三丰", "欧阳娜娜", " 李四 ")] == [
        "*",
        "张*",
        "张*丰",
        "欧**娜",
        "李*",
    ]


def test_keyed_hashes_depend_on_the_pepper_and_the_purpose() -> None:
    phone = "13812345678"
    assert keyed_hash(b"a" * 32, "phone", phone) != keyed_hash(b"b" * 32, "phone", phone)
    assert keyed_hash(b"a" * 32, "phone", phone) != keyed_hash(b"a" * 32, "citizen", phone)
    assert phone not in keyed_hash(b"a" * 32, "phone", phone)
