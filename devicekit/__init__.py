"""What every device app shares: the link to the hub over MQTT and the site view boards keep in sync.

Devices import this and ``contract``; never the hub's internals.
"""
