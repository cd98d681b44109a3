"""An SMPP connector's options: what `redcloud connectors add-smpp` takes, checked once, and
stored as the connector's settings (the password encrypted with the platform's key)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

BindMode = Literal["transceiver", "split"]
SplitMode = Literal["udh", "sar", "payload"]
IdFormat = Literal["same", "hex-to-dec", "dec-to-hex"]

BIND_MODES = ("transceiver", "split")
SPLIT_MODES = ("udh", "sar", "payload")
ID_FORMATS = ("same", "hex-to-dec", "dec-to-hex")


class InvalidOption(ValueError):
    """An option an operator gave that cannot work; the message says which and why."""


@dataclass(frozen=True, slots=True)
class SmppOptions:
    host: str
    port: int
    system_id: str
    password_encrypted: str
    system_type: str = ""
    bind: BindMode = "transceiver"
    binds: int = 1
    window: int = 64
    mps: int = 0
    enquire_link_seconds: int = 30
    split: SplitMode = "udh"
    dlr_id_format: IdFormat = "same"
    source_ton: int = 1
    source_npi: int = 1
    dest_ton: int = 1
    dest_npi: int = 1
    validity_seconds: int | None = None
    tls: bool = False
    response_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        check(bool(self.host.strip()), "--host must name the carrier's SMSC")
        check(1 <= self.port <= 65535, "--port must be between 1 and 65535")
        check(
            0 < len(self.system_id) <= 15 and _printable(self.system_id),
            "--system-id must be 1 to 15 printable ASCII characters",
        )
        check(
            len(self.system_type) <= 12 and _printable(self.system_type),
            "--system-type must be at most 12 printable ASCII characters",
        )
        check(self.bind in BIND_MODES, "--bind must be transceiver or split")
        check(1 <= self.binds <= 64, "--binds must be between 1 and 64")
        check(1 <= self.window <= 1024, "--window must be between 1 and 1024")
        check(self.mps >= 0, "--mps must be 0 (unlimited) or more")
        check(5 <= self.enquire_link_seconds <= 3600, "--enquire-link-seconds: 5 to 3600")
        check(self.split in SPLIT_MODES, "--split must be udh, sar or payload")
        check(self.dlr_id_format in ID_FORMATS, "--dlr-id-format: same, hex-to-dec, dec-to-hex")
        for name in ("source_ton", "source_npi", "dest_ton", "dest_npi"):
            check(0 <= getattr(self, name) <= 255, f"--{name.replace('_', '-')} must be 0 to 255")
        check(
            self.validity_seconds is None or 1 <= self.validity_seconds <= 7 * 86400,
            "--validity-seconds must be between 1 and 604800 (7 days)",
        )

    def to_settings(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_settings(cls, raw: dict[str, Any]) -> SmppOptions:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


def _printable(text: str) -> bool:
    """What a C-octet string field can carry: ASCII without control characters."""
    return all(" " <= char <= "~" for char in text)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidOption(message)


def check_password(password: str) -> None:
    """SMPP 3.4 passwords are at most 8 characters of ASCII."""
    check(
        0 < len(password) <= 8 and _printable(password),
        "--password must be 1 to 8 printable ASCII characters (SMPP 3.4 allows no more)",
    )
