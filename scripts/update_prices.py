"""Write oaib_tui/price_table.py: OpenAI's token prices per tier, from the `genai-prices` package's bundled data.

    python scripts/update_prices.py [--as-of YYYY-MM-DD] [--check]

`pip install -U genai-prices` first (a test dependency, never a runtime one: the product reads the
plain table this writes, not genai-prices' 30,000-line data module). The prices are those in force
on `--as-of` (default: today, UTC), which becomes `PRICES_AS_OF`. The same genai-prices and the same
date always write the same file. Nothing is fetched: only the data bundled with the package is read.
`--check` only says whether the file is out of date (exit 1 if so).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

from genai_prices import types
from genai_prices.data import providers

OUT = Path(__file__).resolve().parents[1] / "oaib_tui" / "price_table.py"

TIERS = {"flex": {"service_tier": "flex"}, "priority": {"service_tier": "priority"}, "batch": {"processing": "batch"}}
"""Our tier → the genai-prices `price_context` that selects its variant."""
SNAPSHOT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")
"""As in oaib_tui.pricing: `gpt-4o-2024-08-06` is priced as `gpt-4o` without an alias."""
FIELDS = ("input_mtok", "cache_read_mtok", "output_mtok", "cache_write_mtok")

FREE_MODERATION = ("omni-moderation-latest", "text-moderation-latest", "text-moderation-stable")
"""OpenAI's moderation endpoint is free; genai-prices lists it without prices under a `contains` match."""

HEADER = '''"""OpenAI's token prices per tier. Written by scripts/update_prices.py from {source}: do not edit.

Per 1,000,000 tokens, US dollars. A tier's prices are (input, cached input, output, cache write,
long context); cached input or cache write is None where not sold apart from input; long context is
None or (above, input, cached input, output, cache write): the prices of a whole request whose prompt
has more than `above` tokens. A model has `batch`, `flex` or `priority` only where it is sold at that tier
(a model without `batch` gets the Batch API's usual discount).
"""

from __future__ import annotations

PRICES_AS_OF = "{as_of}"
SOURCE = "{source}"

LongContext = tuple[int, float, float | None, float, float | None]
TierPrices = tuple[float, float | None, float, float | None, LongContext | None]

'''


def build(as_of: date) -> str:
    """The table module's text, with the prices in force on `as_of`."""
    when = datetime.combine(as_of, time(), UTC)
    openai = next(provider for provider in providers if provider.id == "openai")
    rows, aliases = [], []
    for model in sorted(openai.models, key=lambda m: m.id):
        if not _is_plain_name(model.id) or model.get_prices(when).input_mtok is None:
            continue
        rows.append(f"    {_q(model.id)}: {{\n" + "".join(
            f"        {_q(tier)}: {_tier_prices(prices)},\n" for tier, prices in _tiers(model, when)) + "    },\n")
        aliases += [f"    {_q(alias)}: {_q(model.id)},\n" for alias in _aliases(model)]
    rows += [f'    {_q(name)}: {{"standard": (0.0, None, 0.0, None, None)}},\n' for name in FREE_MODERATION]
    source = f"genai-prices {version('genai-prices')}"
    return (HEADER.format(source=source, as_of=as_of.isoformat())
            + "TABLE: dict[str, dict[str, TierPrices]] = {\n" + "".join(rows) + "}\n\n"
            + "ALIASES: dict[str, str] = {\n" + "".join(sorted(aliases)) + "}\n"
            + '"""Other names OpenAI answers to for a model in TABLE (dated snapshots are found without this)."""\n')


def _is_plain_name(model_id: str) -> bool:
    """genai-prices keeps fine-tune price patterns (`ft:gpt-4o`, `gpt-4o-mini-2024-07-18.ft-`) beside models."""
    return ":" not in model_id and not model_id.endswith("-")


def _tiers(model: types.ModelInfo, when: datetime) -> Iterator[tuple[str, types.ModelPrice]]:
    yield "standard", model.get_prices(when)
    for tier, context in TIERS.items():
        if any(variant.when == context and (variant.constraint is None or variant.constraint.active(when))
               for variant in model.price_variants or ()):
            yield tier, model.get_prices(when, context)


def _tier_prices(prices: types.ModelPrice) -> str:
    base = _fields(prices, _base)
    long = _long_context(prices)
    return f"({', '.join(base)}, {long})"


def _long_context(prices: types.ModelPrice) -> str:
    """`(above, input, cached, output, cache write)` when prices rise past a prompt size, else `None`."""
    tiered = [getattr(prices, field) for field in FIELDS if isinstance(getattr(prices, field), types.TieredPrices)]
    if not tiered:
        return "None"
    starts = {(len(p.tiers), p.tiers[0].start) for p in tiered}
    if len(starts) != 1 or next(iter(starts))[0] != 1:
        raise SystemExit(f"price tiers our table cannot hold: {prices!r}")
    above = next(iter(starts))[1]
    return f"({above}, {', '.join(_fields(prices, _above))})"


def _fields(prices: types.ModelPrice, pick: Callable[[Any], Decimal | None]) -> tuple[str, ...]:
    """Input, cached input, output and cache write; a model without output tokens (embeddings) has output 0."""
    values = [pick(getattr(prices, field)) for field in FIELDS]
    values[2] = Decimal(0) if values[2] is None else values[2]
    return tuple(_number(value) for value in values)


def _base(price: Decimal | types.TieredPrices | None) -> Decimal | None:
    return price.base if isinstance(price, types.TieredPrices) else price


def _above(price: Decimal | types.TieredPrices | None) -> Decimal | None:
    return price.tiers[0].price if isinstance(price, types.TieredPrices) else price


def _number(price: Decimal | None) -> str:
    return "None" if price is None else repr(float(price))


def _aliases(model: types.ModelInfo) -> Iterator[str]:
    """The other exact names a model's match rule lists; dated snapshots and patterns are left to our suffix rule."""
    clauses = model.match.or_ if isinstance(model.match, types.ClauseOr) else [model.match]
    for clause in clauses:
        if isinstance(clause, types.ClauseEquals) and model.id not in (clause.equals, SNAPSHOT_SUFFIX.sub("", clause.equals)):
            yield clause.equals


def _q(text: str) -> str:
    return json.dumps(text)


def _table_date() -> date:
    found = re.search(r'^PRICES_AS_OF = "(.+)"$', OUT.read_text(), re.MULTILINE)
    if found is None:
        raise SystemExit(f"{OUT} has no PRICES_AS_OF: give --as-of")
    return date.fromisoformat(found[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", type=date.fromisoformat,
                        help="the date whose prices to take (default: today, UTC; with --check, the table's date)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date; write nothing")
    args = parser.parse_args()
    as_of = args.as_of or (_table_date() if args.check else datetime.now(UTC).date())
    text = build(as_of)
    if args.check:
        current = OUT.read_text() == text
        print(f"{OUT.name} is {'up to date' if current else 'out of date'}")
        return 0 if current else 1
    OUT.write_text(text)
    print(f"wrote {OUT} (prices as of {as_of})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
