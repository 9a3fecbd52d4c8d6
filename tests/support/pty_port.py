"""A serial port that exists on any Linux machine: a pty pair whose device end (``path``) the code under test opens
with pyserial, while the test's peer reads and writes the other end (``host``) as the device would."""

from __future__ import annotations

import os
import tty


class PtyPort:
    def __init__(self) -> None:
        self.host, self.device = os.openpty()
        tty.setraw(self.device)  # the test keeps the device end open: the host end never sees EIO between opens
        self.path = os.ttyname(self.device)

    def close(self) -> None:
        for fd in (self.host, self.device):
            os.close(fd)
