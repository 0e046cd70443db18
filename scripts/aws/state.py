"""A small local record of a deployment (``.deploy/<name>.json``).

AWS tags stay the source of truth; the file remembers what tags can't: the region (so `down`
finds the deployment without --region), the private key path, and the launch token.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from scripts.aws.config import Deployment


def state_file(dep: Deployment) -> Path:
    return dep.state_dir / f"{dep.name}.json"


def load(dep: Deployment) -> dict[str, Any]:
    try:
        data = json.loads(state_file(dep).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update(dep: Deployment, **fields: Any) -> dict[str, Any]:
    """Merge fields into the state file; written to a temp file and renamed, so a crash
    never leaves half a file."""
    data = {**load(dep), **fields}
    path = state_file(dep)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return data


def remove(dep: Deployment) -> None:
    state_file(dep).unlink(missing_ok=True)
