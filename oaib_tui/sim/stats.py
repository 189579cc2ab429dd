"""What the simulator has seen and done, for tests, benchmarks and `GET /sim/stats`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SimulatorStats:
    """Counts over the five model endpoints (chat, responses, embeddings, completions, moderations)."""

    received: int = 0
    """Requests that reached a model endpoint; their count is each one's arrival ordinal."""
    admitted: int = 0
    """Requests let through by the rate limits."""
    answered: int = 0
    """Admitted requests answered 200 with a well-formed body."""
    tokens_admitted: int = 0
    """Tokens deducted at admission: prompt + reserved output."""
    output_tokens: int = 0
    """Tokens generated in well-formed answers."""
    rate_limited: Counter[str] = field(default_factory=Counter)
    """429 `rate_limit_exceeded` answers by type: `requests`, `tokens` (`too_large` for a request no bucket can hold)."""
    faults: Counter[str] = field(default_factory=Counter)
    """Faults that struck, scripted or random, by kind (`500`, `drop`, `slow`, …)."""
    statuses: Counter[int] = field(default_factory=Counter)
    """Answers by HTTP status (dropped connections have none)."""
    flex_unavailable: int = 0
    """Flex requests refused with 429 `resource_unavailable` (not admitted, not charged to the rate limits)."""
    served_tiers: Counter[str] = field(default_factory=Counter)
    """Admitted chat and responses requests by the tier that served them (`default`, `flex`, `priority`)."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "received": self.received,
            "admitted": self.admitted,
            "answered": self.answered,
            "tokens_admitted": self.tokens_admitted,
            "output_tokens": self.output_tokens,
            "rate_limited": dict(self.rate_limited),
            "faults": dict(self.faults),
            "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
            "flex_unavailable": self.flex_unavailable,
            "served_tiers": dict(self.served_tiers),
        }
