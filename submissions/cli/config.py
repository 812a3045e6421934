"""Where the CLI keeps its state: server URL, token and key path (0600, never world-readable)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_SERVER = "http://127.0.0.1:8000"


def config_dir() -> Path:
    base = os.environ.get("IPWBOARD_CONFIG_DIR") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "ipwboard"
    )
    return Path(base)


def default_key_path() -> Path:
    return config_dir() / "signing-key.pem"


@dataclass
class Config:
    server: str = DEFAULT_SERVER
    token: str = ""

    @classmethod
    def load(cls) -> Config:
        path = config_dir() / "config.json"
        data: dict[str, str] = {}
        if path.exists():
            data = json.loads(path.read_text())
        config = cls(**{k: v for k, v in data.items() if k in ("server", "token")})
        # Environment beats the file; flags beat both (applied by the caller).
        config.server = os.environ.get("IPWBOARD_SERVER", config.server)
        config.token = os.environ.get("IPWBOARD_TOKEN", config.token)
        return config

    def save(self) -> Path:
        directory = config_dir()
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = directory / "config.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(self), fh, indent=2)
        os.chmod(path, 0o600)
        return path
