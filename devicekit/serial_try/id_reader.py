"""A second-generation ID card reader (GA/T 467, ``firmware_profiles/id_readers/``) played on a pty, with a made-up
sample card: it answers the host's find, select and read as a reader does, and says each request in words.
``kiosk.id_reader.IdCardReader`` is the host.

The sample card is nobody's: a sample name and address, an ID number of the Yanta district (610113) whose GB 11643
check digit is right, so the hub takes it. Even so it is said masked, as the kiosk shows a card."""

from __future__ import annotations

from dataclasses import astuple, dataclass

import contract as wire
from devicekit.frames import Decoded
from devicekit.serial_profile import SerialProfile
from devicekit.serial_try.pty import DevicePeer, UsageError

FIND, SELECT, READ = bytes.fromhex("20 01"), bytes.fromhex("20 02"), bytes.fromhex("30 01")
SAM_STATUS, SAM_ID = bytes.fromhex("11 FF"), bytes.fromhex("12 FF")
OK, FOUND, NO_CARD, NOT_SELECTED, READ_FAILED, BAD_COMMAND = 0x90, 0x9F, 0x80, 0x81, 0x41, 0x21
FIELD_BYTES = (30, 2, 4, 16, 70, 36, 30, 16, 16, 36)
"""The text block's fields in order (UTF-16-LE, space-padded): name, gender, nation, birth, address, ID number,
issuing authority, valid from, valid to, and reserved; 256 bytes in all."""
PHOTO_BYTES = 1024


@dataclass(frozen=True)
class CardText:
    name: str = "张样例"
    gender: str = "1"
    nation: str = "01"
    birth: str = "19900101"
    address: str = "陕西省西安市雁塔区样例路1号（测试卡）"
    id_number: str = "610113199001010019"
    authority: str = "样例签发机关（测试）"
    valid_from: str = "20200101"
    valid_to: str = "20400101"

    def block(self) -> bytes:
        """The card's 256-byte text block."""
        texts = (*astuple(self), "")
        return b"".join(
            text.ljust(size // 2).encode("utf-16-le") for text, size in zip(texts, FIELD_BYTES, strict=True)
        )

    def masked(self) -> str:
        number = self.id_number
        return f"{wire.mask_name(self.name)} {number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"


SAMPLE_CARD = CardText()


def status(code: int, data: bytes = b"") -> bytes:
    """A reply's data: SW1 SW2 (00 00), SW3, and what follows it."""
    return bytes((0, 0, code)) + data


class IdReaderPeer(DevicePeer):
    kind = "ID card reader"
    help = (
        "swipe (or Enter): the sample card, taken away once read; lay / take: lay it there, take it away;\n"
        "fault 41: answer every request with that status; silent: answer nothing; ok: answer again"
    )

    def __init__(self, profile: SerialProfile, card: CardText = SAMPLE_CARD) -> None:
        super().__init__(profile)
        self.card = card
        self.lying: CardText | None = None
        """The card on the reader now."""
        self.swiped = False
        """The card goes once it has been read."""
        self.fault: int | None = None
        self.silent = False
        self.empty_looks = 0
        """Finds answered "no card"."""

    def command(self, words: list[str]) -> None:
        match words:
            case [] | ["swipe"]:
                self.lying, self.swiped = self.card, True
                self.say(f"the sample card {self.card.masked()} is swiped (made up)")
            case ["lay"]:
                self.lying, self.swiped = self.card, False
                self.say(f"the sample card {self.card.masked()} lies on the reader (made up)")
            case ["take"]:
                self.lying = None
                self.say("the card is taken away")
            case ["fault", code] if len(code) == 2:
                try:
                    self.fault, self.silent = int(code, 16), False
                except ValueError:
                    raise UsageError("fault takes a status byte in hex: fault 41") from None
                self.say(f"every request is answered with status {code.upper()}")
            case ["silent"]:
                self.fault, self.silent = None, True
                self.say("the reader answers nothing")
            case ["ok"]:
                self.fault, self.silent = None, False
                self.say("the reader answers again")
            case _:
                raise UsageError(self.help)

    def handle(self, frame: Decoded) -> None:
        request = frame.data[:2]
        if self.silent:
            self.say(f"← request {request.hex(' ').upper()}: not answered (silent)")
            return
        if self.fault is not None:
            self._answer(status(self.fault), f"status {self.fault:02X} (a fault) to {request.hex(' ').upper()}")
            return
        card = self.lying
        if request == FIND:
            self.empty_looks += card is None
            reply = status(FOUND, bytes(4)) if card else status(NO_CARD)
            self._answer(reply, "card found (9F)" if card else "no card (80)", quiet=card is None)
        elif request == SELECT:
            self._answer(status(OK, bytes(8)) if card else status(NOT_SELECTED), "selected (90)" if card else "81")
        elif request == READ and card is not None:
            sizes = len(card.block()).to_bytes(2, "big") + PHOTO_BYTES.to_bytes(2, "big")
            self._answer(status(OK, sizes + card.block() + bytes(PHOTO_BYTES)), f"the card's text {card.masked()}")
            if self.swiped:
                self.lying = None
        elif request == READ:
            self._answer(status(READ_FAILED), "read failed (41): no card")
        elif request in (SAM_STATUS, SAM_ID):
            self._answer(status(OK, bytes(16) if request == SAM_ID else b""), "SAM ok (90)")
        else:
            self._answer(status(BAD_COMMAND), f"bad command (21) to {request.hex(' ').upper()}")

    def setup(self, path: str) -> list[str]:
        return [
            "give the kiosk this reader (docs/kiosk.md):",
            f"    KIOSK_ID_READER={path} KIOSK_ID_READER_PROFILE={self.profile.id}",
        ]

    def _answer(self, reply: bytes, what: str, *, quiet: bool = False) -> None:
        """Send ``reply``; say it unless ``quiet`` (a kiosk asks for a card several times a second)."""
        frame = self.codec.encode(reply)
        if quiet:
            self._write(frame)
        else:
            self.send(frame, what)
