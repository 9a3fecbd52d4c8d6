"""Serial hall devices played on ptys, to try each shipped profile without the hardware (``hall-serial-try``,
docs/serial.md): a keypad whose keys you type, an evaluator you rate on, an LED strip that prints what it is told to
show, an ID card reader with a made-up sample card. The tests use the same peers against the real host side."""
