"""Write data/demo-prompts.jsonl: a few hundred short, made-up product records (seeded, so it never changes).

Run from anywhere: `python projects/data/make_demo_prompts.py [count]`.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ADJECTIVES = ["compact", "folding", "solid oak", "stainless", "waterproof", "handmade", "wireless", "recycled", "ceramic", "linen"]
THINGS = {
    "home": ["desk lamp", "bookshelf", "throw blanket", "coffee mug", "wall clock", "plant pot"],
    "outdoor": ["camping stove", "hammock", "rain jacket", "water bottle", "trail map case", "head torch"],
    "office": ["notebook", "monitor stand", "pen set", "desk organiser", "paper tray", "footrest"],
    "kitchen": ["chef knife", "cutting board", "teapot", "spice rack", "salad bowl", "measuring jug"],
}
AUDIENCES = ["students", "busy parents", "first-time campers", "remote workers", "home cooks", "gift shoppers"]


def records(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    categories = sorted(THINGS)
    rows = []
    for number in range(1, count + 1):
        category = rng.choice(categories)
        title = f"{rng.choice(ADJECTIVES)} {rng.choice(THINGS[category])}"
        rows.append({"sku": f"DEMO-{number:04d}", "title": title, "category": category, "audience": rng.choice(AUDIENCES)})
    return rows


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    target = Path(__file__).with_name("demo-prompts.jsonl")
    with open(target, "w", encoding="utf-8") as file:
        file.writelines(json.dumps(row) + "\n" for row in records(count))
    print(f"wrote {count} records to {target}")


if __name__ == "__main__":
    main()
