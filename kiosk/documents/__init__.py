"""Document acceptance at the kiosk.

``vision``: pure image code on camera frames (find the page, check it, correct its perspective, notice when it is
steady, encode it); no Kivy and no I/O, so the kiosk flow runs it off the UI thread and the tests run it on
generated photographs (tests/support/documents.py). See docs/documents.md.
"""
