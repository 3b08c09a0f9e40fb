"""Put the Smart Turn v3.2 model where Butler looks for it (`make setup` runs this).

    python -m butler.voice.turn_model_install [--to PATH]

The model ships inside the pipecat-ai wheel; installing that package would pull in a
second audio framework, so this fetches the wheel alone from the package index pip is
configured with, checks the model's SHA-256 and copies the one file out."""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from butler.voice.turn_models import SMART_TURN_FILE, SMART_TURN_SHA256, default_smart_turn_path

WHEEL = "pipecat-ai==1.14.0"
MEMBER = f"pipecat/audio/turn/smart_turn/data/{SMART_TURN_FILE}"


def is_installed(target: Path) -> bool:
    return target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == SMART_TURN_SHA256


def install(target: Path) -> None:
    if is_installed(target):
        return
    print(f"fetching {SMART_TURN_FILE} from the {WHEEL} wheel (8.7 MB, once)", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(  # noqa: S603 (a fixed command)
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", folder, WHEEL],
            check=True,
        )
        (wheel,) = Path(folder).glob("*.whl")
        data = zipfile.ZipFile(wheel).read(MEMBER)
    if hashlib.sha256(data).hexdigest() != SMART_TURN_SHA256:
        raise SystemExit(f"{MEMBER} in {wheel.name} is not the expected model; not installed")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)  # never a half-written model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", type=Path, default=default_smart_turn_path())
    args = parser.parse_args()
    try:
        install(args.to)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"could not fetch {WHEEL} with pip (exit {exc.returncode})") from None
    print(f"Smart Turn model: {args.to}")


if __name__ == "__main__":
    main()
