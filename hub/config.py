"""The hub's configuration: a TOML file (optional) with environment overrides ``HALL_<SECTION>_<KEY>``.

    [database]  url = "sqlite:///var/hall.db"        # or postgresql://user@host/db
    [district]  path = "assets/districts/yanta"      # loaded into an empty database
    [mqtt]      host = ""                            # empty: start a managed Mosquitto on a private port
                port = 0
                username = "hub"
                password = ""
    [broker]    directory = "var/broker"             # the managed broker's config, password and ACL files
                port = 1884                          # 0 = a free port
    [http]      host = "127.0.0.1"
                port = 8080
    [log]       format = "json"                      # or "text"
                level = "INFO"
    [clock]     start = ""                           # e.g. "2026-11-25T10:00+08:00" to demo opening hours at night
    [secrets]   path = "var/hub-secret"              # 32 random bytes made at first start (mode 0600): the key
                                                     # of tickets' status links
    [appointments] keys_file = "var/appointment-keys.toml"  # rotating keys of appointment QR codes
                walk_in_share = 0.3 ...              # the booking rules: hub/appointments/rules.py
    [requests]  device_rate = "50/second;1500/minute" # requests the hub decides per device; more: rate_limited
                refusals_kept_seconds = 600          # a refusal's answer repeated to its retries this long
    [web]       secure_cookies = false               # true behind a TLS proxy: the session cookie gets Secure
                idle_minutes = 30                    # a session unused this long ends; one ends anyway after
                absolute_hours = 12                  # absolute_hours since its sign-in (docs/web.md)
                sign_in_limit = "5/minute;20/hour"   # failed sign-ins per username, and per address:
                address_limit = "20/minute;100/hour" # beyond them sign-in answers 429 until the window moves on
    [cluster]   hub_id = ""                          # set on every hub of a city (PostgreSQL only): sites are
                prefer = "centre,xiaozhai"           # shared out among the hubs (docs/deployment.md)
                address = "http://hub-a:8080"
    [archive]   directory = "var/archive"            # page files of handed-in documents; retention_years = 30
                store = "disk"                       # or "s3" with s3_endpoint, s3_bucket, s3_access_key_id ...
    [follow_ups] contacted_hours = 24 ...            # bad ratings' follow-up deadlines: hub/follow_ups.py

For example ``HALL_DATABASE_URL=postgresql://postgres@127.0.0.1/hall`` or ``HALL_MQTT_HOST=10.0.0.5``.
"""

from __future__ import annotations

import logging
import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import msgspec
from pythonjsonlogger.json import JsonFormatter

from hub.appointments.rules import AppointmentsConfig
from hub.district_file import SAMPLE_DISTRICT
from hub.follow_ups import FollowUpRules


class DatabaseConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str = "sqlite:///var/hall.db"


class DistrictConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    path: str = str(SAMPLE_DISTRICT)


class MqttConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str = ""
    port: int = 1883
    username: str = "hub"
    password: str = ""

    @property
    def managed(self) -> bool:
        return not self.host


class BrokerConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    directory: str = "var/broker"
    port: int = 1884
    """0: any free port (tests)."""
    accounts: Literal["", "nats", "rabbitmq"] = ""
    """Who makes the device accounts on an external broker when a device is added, rotated or revoked
    (``hub.broker_accounts``, docs/broker.md): "" nobody (the managed Mosquitto reads the registry itself), "nats"
    or "rabbitmq"."""
    nats_files: str = ""
    """NATS: the include file(s) of MQTT users the hub writes, comma-separated: one shared by every node, or one
    per node (each gets the same text). The nodes' configuration has ``include <file>`` in place of
    ``authorization {}``."""
    nats_pid_files: str = ""
    """NATS: every node's pid file (or pid), comma-separated: each is sent ``nats-server --signal reload=<it>``."""
    nats_reload_command: str = ""
    """NATS: a command that reloads every node instead (e.g. a script that runs the signal on each host)."""
    nats_monitor_urls: str = ""
    """NATS: every node's monitoring address (``http://127.0.0.1:8222``), comma-separated: given, a change waits
    until each node has loaded the new file, and a node that does not is an error. Empty: not checked."""
    rabbitmq_url: str = "http://127.0.0.1:15672"
    """RabbitMQ: the management HTTP API (plugin ``rabbitmq_management``)."""
    rabbitmq_user: str = ""
    """RabbitMQ: a user of the management API with the ``administrator`` tag."""
    rabbitmq_password: str = ""
    rabbitmq_vhost: str = "/"
    """RabbitMQ: the virtual host of the MQTT plugin (its ``mqtt.vhost``)."""


class HttpConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 8080


class ClockConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    start: str = ""
    """Pretend the hub started at this ISO 8601 instant (demos, tests); empty: the real time."""


class LogConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    format: str = "json"
    """"json": one JSON object per line (for log shippers); "text": for people at a terminal."""
    level: str = "INFO"


class RequestsConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    device_rate: str = "50/second;1500/minute"
    """Requests one device may send (``limits`` notation; every part applies): a kiosk or caller in use sends a few
    a minute, a retry loop hundreds a second."""
    refusals_kept_seconds: float = 600.0
    """How long a refusal is remembered (in memory only) to give its retries the same answer: far longer than a
    device retries (devicekit: 3 attempts, 2 s apart)."""


class WebConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The managers' web pages (hub/web_pages, docs/web.md)."""

    secure_cookies: bool = False
    """Mark the session cookie Secure: set it when the pages are served over TLS (a reverse proxy in front)."""
    idle_minutes: float = 30.0
    absolute_hours: float = 12.0
    sign_in_limit: str = "5/minute;20/hour"
    """Failed sign-ins allowed per username (``limits`` notation; every part applies)."""
    address_limit: str = "20/minute;100/hour"
    """Failed sign-ins allowed per client address."""


HUB_ID_LENGTH = 54
"""A hub's id is part of its lease session's ``application_name`` (63 bytes with "hall-hub ") and of MQTT topics."""


class ClusterConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Several hubs on one PostgreSQL, each deciding some of the sites (``hub.cluster``, docs/deployment.md)."""

    hub_id: str = ""
    """This hub's name among the city's hubs (its MQTT client id too); empty: the only hub, deciding every site."""
    prefer: str = ""
    """Site ids this hub takes first, comma-separated; it takes any site nobody holds after ``grace_seconds``."""
    address: str = ""
    """This hub's web address as other hubs' pages link to it (e.g. http://hub-a.hall.local:8080)."""
    tick_seconds: float = 1.0
    """How often the hub renews its hold on its sites (a heartbeat) and looks for sites to take or give back."""
    hold_seconds: float = 3.0
    """A hold not renewed for this long is given up by its hub; another hub waits this long (and a little more)
    after taking a site before deciding for it, so that two hubs never answer for one site."""
    grace_seconds: float = 10.0
    """After a start, only preferred sites are taken this long (so after a full restart each returns home)."""

    def __post_init__(self) -> None:
        if len(self.hub_id) > HUB_ID_LENGTH or any(mark in self.hub_id for mark in "/+# "):
            raise ValueError(f"hub_id: at most {HUB_ID_LENGTH} characters, none of / + # or a space")
        if not 0 < self.tick_seconds < self.hold_seconds:
            raise ValueError("tick_seconds must be positive and shorter than hold_seconds (a hold is renewed by ticks)")

    @property
    def enabled(self) -> bool:
        return bool(self.hub_id)

    @property
    def preferred(self) -> tuple[str, ...]:
        return tuple(site for site in (part.strip() for part in self.prefer.split(",")) if site)


class SecretsConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    path: str = "var/hub-secret"


def load_secret(path: Path) -> bytes:
    """The hub's secret key, made (32 random bytes, readable by the hub's user only) when the file is missing.
    Every hub process of one deployment must share it: copy the file, never regenerate it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(secrets.token_bytes(32))
    secret = path.read_bytes()
    if len(secret) < 16:
        raise ConfigError(f"{path}: a secret key needs at least 16 bytes")
    return secret


class ArchiveConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The archive of handed-in documents (hub/archive, docs/documents.md)."""

    directory: str = "var/archive"
    """Where the page files are kept, content-addressed (``<directory>/ab/cd/<sha256>``)."""
    retention_years: int = 30
    """``hall-hub archive purge`` removes cases created longer ago than this."""
    max_page_bytes: int = 8 * 1024 * 1024
    """A page file over this is refused (413)."""
    store: Literal["disk", "s3"] = "disk"
    """Where the page files are kept: "disk" (``directory``) or "s3", a bucket of any S3-compatible store
    (hub/archive/s3.py; MinIO, Ceph, a cloud's), keyed by the same checksums."""
    s3_endpoint: str = ""
    """The S3 API's address (``http://minio.hall.local:9000``); empty: AWS's own for ``s3_region``."""
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_file: str = ""
    """A file holding the secret access key (readable by the hub's user only); empty: the environment variable
    ``HALL_S3_SECRET_ACCESS_KEY``. The secret is never kept in this file's configuration nor logged."""
    s3_prefix: str = "pages/"
    """Keys are ``<prefix>ab/cd/<sha256>``."""

    def __post_init__(self) -> None:
        if self.store == "s3" and not (self.s3_bucket and self.s3_access_key_id):
            raise ValueError('store = "s3" needs s3_bucket and s3_access_key_id')


class HubConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    database: DatabaseConfig = msgspec.field(default_factory=DatabaseConfig)
    district: DistrictConfig = msgspec.field(default_factory=DistrictConfig)
    mqtt: MqttConfig = msgspec.field(default_factory=MqttConfig)
    broker: BrokerConfig = msgspec.field(default_factory=BrokerConfig)
    http: HttpConfig = msgspec.field(default_factory=HttpConfig)
    clock: ClockConfig = msgspec.field(default_factory=ClockConfig)
    log: LogConfig = msgspec.field(default_factory=LogConfig)
    secrets: SecretsConfig = msgspec.field(default_factory=SecretsConfig)
    appointments: AppointmentsConfig = msgspec.field(default_factory=AppointmentsConfig)
    requests: RequestsConfig = msgspec.field(default_factory=RequestsConfig)
    web: WebConfig = msgspec.field(default_factory=WebConfig)
    cluster: ClusterConfig = msgspec.field(default_factory=ClusterConfig)
    archive: ArchiveConfig = msgspec.field(default_factory=ArchiveConfig)
    follow_ups: FollowUpRules = msgspec.field(default_factory=FollowUpRules)


class ConfigError(ValueError):
    pass


def make_clock(start: str) -> Callable[[], datetime]:
    """The real UTC clock, or one that starts at ``start`` and runs on in real time."""
    if not start:
        return lambda: datetime.now(UTC)
    fixed = datetime.fromisoformat(start)
    if fixed.tzinfo is None:
        raise ConfigError(f"clock start {start!r} needs a timezone, e.g. {start}+08:00")
    began = datetime.now(UTC)
    return lambda: fixed + (datetime.now(UTC) - began)


def _env_key(name: str) -> tuple[str, str] | None:
    """(section, key) of a ``HALL_<SECTION>_<KEY>`` variable, or None. A section's name may hold an underscore
    (``HALL_FOLLOW_UPS_CONTACTED_HOURS``): the longest section name the variable starts with is taken."""
    if not name.startswith("HALL_"):
        return None
    rest = name[5:].lower()
    sections = sorted((field.name for field in msgspec.structs.fields(HubConfig)), key=len, reverse=True)
    for section in sections:
        if rest.startswith(f"{section}_") and len(rest) > len(section) + 1:
            return section, rest[len(section) + 1 :]
    return None


def load_config(path: Path | None = None, environ: Mapping[str, str] = os.environ) -> HubConfig:
    """Defaults, then the TOML file, then ``HALL_<SECTION>_<KEY>`` variables; errors name the key."""
    data: dict[str, dict[str, Any]] = {}
    if path is not None:
        with path.open("rb") as file:
            data = tomllib.load(file)
    for name, value in environ.items():
        found = _env_key(name)
        if found is not None:
            section, key = found
            data.setdefault(section, {})[key] = value
    try:
        return msgspec.convert(data, HubConfig, strict=False)
    except msgspec.ValidationError as error:
        raise ConfigError(f"{path or 'environment'}: {error}") from None


def setup_logging(config: LogConfig) -> None:
    """Structured (JSON lines) or plain logs on stderr. Log lines never carry personal data or passwords."""
    handler = logging.StreamHandler()
    if config.format == "json":
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", timestamp=False))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=config.level.upper(), handlers=[handler], force=True)
