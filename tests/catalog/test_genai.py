"""Conversion of genai-prices' data model into our price types."""

from __future__ import annotations

from decimal import Decimal

from genai_prices import types as gp

from govern.catalog.genai import convert_price


def test_per_field_tiers_become_whole_request_rate_sets() -> None:
    # Input tiers at 128k and 256k, output only at 256k: the 128k set keeps base output.
    price = convert_price(
        gp.ModelPrice(
            input_mtok=gp.TieredPrices(
                base=Decimal(1),
                tiers=[
                    gp.Tier(start=128_000, price=Decimal(2)),
                    gp.Tier(start=256_000, price=Decimal(3)),
                ],
            ),
            output_mtok=gp.TieredPrices(
                base=Decimal(10), tiers=[gp.Tier(start=256_000, price=Decimal(30))]
            ),
        )
    )
    assert price is not None
    sets = [(t.above_input_tokens, t.rates.input, t.rates.output) for t in price.long_context]
    assert sets == [(128_000, Decimal(2), Decimal(10)), (256_000, Decimal(3), Decimal(30))]


def test_cache_write_is_the_5_minute_rate_and_1h_defaults_to_it() -> None:
    price = convert_price(
        gp.ModelPrice(
            input_mtok=Decimal(3), output_mtok=Decimal(15), cache_write_mtok=Decimal("3.75")
        )
    )
    assert price is not None
    assert (price.cache_write_5m, price.cache_write_1h) == (Decimal("3.75"), Decimal("3.75"))


def test_reasoning_rate_comes_from_output_reasoning_mtok() -> None:
    price = convert_price(
        gp.ModelPrice(
            input_mtok=Decimal(2), output_mtok=Decimal(8), output_reasoning_mtok=Decimal(3)
        )
    )
    assert price is not None
    assert price.reasoning == Decimal(3)


def test_price_without_input_rate_is_not_a_token_price() -> None:
    assert convert_price(gp.ModelPrice()) is None
