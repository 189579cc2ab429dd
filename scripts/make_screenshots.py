"""Draw the dashboard's screenshots (screenshots/*.svg, and a PNG beside each) from the recorded scenes
the snapshot tests use.

    python scripts/make_screenshots.py [--no-png]

The PNGs need `rsvg-convert` (Debian: librsvg2-bin). They are there to be looked at as a user would.
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
PNG_PIXELS_PER_COLUMN = 12


async def shoot(name: str) -> str:
    make_scene, keys, size = scenes.SHOTS[name]
    app = scenes.app_for(make_scene())
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
        await pilot.pause()
        return app.export_screenshot(title=f"oaib-tui · {name}")


def write_png(svg: Path, columns: int) -> Path:
    """A PNG of `svg`. Rich writes runs of spaces as no-break spaces; without `xml:space="preserve"`
    rsvg-convert drops the leading ones and right-aligned figures slide left."""
    png = svg.with_suffix(".png")
    text = svg.read_text().replace("<svg ", '<svg xml:space="preserve" ', 1)
    subprocess.run(["rsvg-convert", "-w", str(columns * PNG_PIXELS_PER_COLUMN), "-o", str(png)],
                   input=text.encode(), check=True)
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-png", action="store_true", help="write the SVGs only")
    args = parser.parse_args()
    os.environ["TZ"] = "UTC"
    time.tzset()
    OUT.mkdir(exist_ok=True)
    for name, (_, _, (columns, _)) in scenes.SHOTS.items():
        svg = OUT / f"{name}.svg"
        svg.write_text(asyncio.run(shoot(name)))
        print(f"wrote {svg.relative_to(ROOT)}")
        if not args.no_png:
            print(f"wrote {write_png(svg, columns).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
