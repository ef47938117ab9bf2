"""The exact cost of a whole trace at many prices, fast: token sums per long-context tier.

Costs are linear within a tier, so the sum of a tier's rows priced at once equals the
exact (unrounded) sum of their Decimal costs, as `govern.catalog.compare` computes it.
Rows are sorted by prompt size once; any threshold's tier sums are then a lookup.
"""

from __future__ import annotations

from decimal import Context, Decimal, localcontext
from typing import TYPE_CHECKING

from govern.catalog.cost import cost_at_rates
from govern.catalog.prices import Price
from govern.usage import Usage
from govern.whatif.rates import TOKEN_FIELDS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

_EXACT = Context(prec=60)  # sums of exact costs stay exact


class TokenTotals:
    """A token table (one row per request, `Usage` columns) ready to be priced often."""

    def __init__(self, table: pd.DataFrame):
        import numpy as np

        ordered = table.sort_values("input_tokens", kind="stable")
        self.requests = len(ordered)
        self._inputs: npt.NDArray[np.int64] = ordered["input_tokens"].to_numpy(dtype=np.int64)
        # Prefix sums with a leading 0: rows [i, n) sum to total - prefix[i].
        self._prefix = {
            name: [0, *np.cumsum(ordered[name].to_numpy(dtype=np.int64)).tolist()]
            for name in TOKEN_FIELDS
        }

    @property
    def usage(self) -> Usage:
        """All rows' tokens together."""
        return self._between(0, self.requests)

    def _between(self, lo: int, hi: int) -> Usage:
        return Usage(**{name: p[hi] - p[lo] for name, p in self._prefix.items()})

    def _rows_at_most(self, threshold: int) -> int:
        import numpy as np

        return int(np.searchsorted(self._inputs, threshold, side="right"))

    def cost(self, price: Price) -> Decimal:
        """The exact total in dollars of every row at `price` (each row in its own tier);
        raises NoOutputPrice for output tokens at an input-only price."""
        cuts = [0]
        cuts += [self._rows_at_most(t.above_input_tokens) for t in price.long_context]
        cuts.append(self.requests)
        total = Decimal(0)
        for tier in range(len(cuts) - 1):
            lo, hi = cuts[tier], max(cuts[tier], cuts[tier + 1])
            if hi == lo:
                continue
            rates = price if tier == 0 else price.long_context[tier - 1].rates
            with localcontext(_EXACT):
                total += cost_at_rates(self._between(lo, hi), rates).total
        return total
