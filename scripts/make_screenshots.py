"""Draw the dashboard's screenshots (screenshots/*.svg) from the recorded scenes the snapshot tests use.

    python scripts/make_screenshots.py [--png DIR]

`--png` also writes PNG copies (needs `rsvg-convert`), to look at them as a user would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "ui")]

import scenes  # noqa: E402  (after the path is set)

OUT = ROOT / "screenshots"


async def shoot(name: str) -> str:
    make_scene, keys = scenes.SHOTS[name]
    app = scenes.app_for(make_scene())
    async with app.run_test(size=scenes.TERMINAL_SIZE) as pilot:
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
        await pilot.pause()
        return app.export_screenshot(title=f"oaib-tui · {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", type=Path, help="also write PNG copies here (needs rsvg-convert)")
    args = parser.parse_args()
    os.environ["TZ"] = "UTC"
    time.tzset()
    OUT.mkdir(exist_ok=True)
    for name in scenes.SHOTS:
        svg = OUT / f"{name}.svg"
        svg.write_text(asyncio.run(shoot(name)))
        print(f"wrote {svg.relative_to(ROOT)}")
        if args.png:
            args.png.mkdir(parents=True, exist_ok=True)
            subprocess.run(["rsvg-convert", "-w", "1800", str(svg), "-o", str(args.png / f"{name}.png")], check=True)


if __name__ == "__main__":
    main()
