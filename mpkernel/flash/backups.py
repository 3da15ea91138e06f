"""Flash backups: the image file plus a JSON sidecar that says whose flash it is."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from .. import __version__
from ..atomic_write import write_atomically
from .esp import ChipInfo, FlashError, esptool_version


def sidecar_path(image: Path) -> Path:
    return image.with_name(image.name + ".json")


def write_backup(image: Path, data: bytes, info: ChipInfo) -> dict[str, object]:
    """Write FILE and FILE.json atomically (temporary names, then rename).

    `data` was checked against the chip's MD5 as it was read, so its MD5 is the chip's.
    """
    record: dict[str, object] = {
        "kind": "mpkernel flash backup",
        **info.as_dict(),
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "tools": {"mpkernel": __version__, "esptool": esptool_version()},
    }
    side = sidecar_path(image)
    try:
        image.parent.mkdir(parents=True, exist_ok=True)
        for path, content in ((image, data), (side, json.dumps(record, indent=2).encode())):
            write_atomically(path, content)
    except OSError as exc:
        raise FlashError(f"Cannot write {image}: {exc.strerror or exc}.") from None
    return record


def read_backup(image: Path) -> tuple[bytes, dict[str, object]]:
    """The backup's bytes and sidecar, checked: a truncated or changed file is refused."""
    if not image.is_file():
        raise FlashError(f"No backup file {image}.")
    side = sidecar_path(image)
    try:
        record = json.loads(side.read_text())
    except FileNotFoundError:
        raise FlashError(
            f"{side.name} is missing: without it the backup cannot be checked "
            "(use %flash FILE to write a plain image)."
        ) from None
    except (OSError, ValueError) as exc:
        raise FlashError(f"{side.name} is not a readable backup record ({exc}).") from None
    data = image.read_bytes()
    if len(data) != record.get("size"):
        raise FlashError(
            f"{image.name} is truncated or padded: {len(data):,} bytes, the backup had "
            f"{record.get('size'):,}. Nothing was written."
        )
    if hashlib.sha256(data).hexdigest() != record.get("sha256"):
        raise FlashError(
            f"{image.name} is corrupt: its SHA-256 does not match the backup record. "
            "Nothing was written."
        )
    return data, record


def backups_of(info: ChipInfo, folder: Path) -> list[Path]:
    """Backups in `folder` whose sidecar names this chip (by MAC)."""
    found = []
    for side in sorted(folder.glob("*.json")):
        try:
            record = json.loads(side.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("mac") == info.mac:
            found.append(side.with_name(side.name[: -len(".json")]))
    return found
