"""The queue engine: pure queue rules for a site's hall. Commands in, events or a rejection out; no I/O, no clock.

``handle(district, state, command)`` decides a command; ``fold`` rebuilds a site's state from its event log.
"""

from engine.decide import handle
from engine.rejections import Rejection
from engine.state import SiteState, apply, fold

__all__ = ["Rejection", "SiteState", "apply", "fold", "handle"]
