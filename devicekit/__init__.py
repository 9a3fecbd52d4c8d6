"""What every device app shares: the link to the hub over MQTT, the site view boards keep in sync, the serial frame
codec and the hall's voice (``devicekit.voice``).

Devices import this and ``contract``; never the hub's internals.
"""
