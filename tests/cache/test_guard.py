"""The lexical guard: cases where embeddings are blind, turned into misses."""

from __future__ import annotations

import pytest

from govern.cache.guard import compatible, numbers, tokens


@pytest.mark.parametrize(
    ("asked", "stored"),
    [
        ("what is 2+3", "what is 2+2"),
        ("List five benefits", "List three benefits"),
        ("Convert 100 miles", "Convert 10 miles"),
        ("Should I not use TCP?", "Should I use TCP?"),
        ("Why don\u2019t cats swim?", "Why do cats swim?"),
        ("Is Java faster than Python?", "Is Python faster than Java?"),
        ("Sort by key in Python", "Sort by value in Python"),
        ("merge two dataframes on multiple columns", "merge two dataframes"),
        ("merge two dataframes", "merge two dataframes on multiple columns"),
    ],
)
def test_blocked(asked: str, stored: str) -> None:
    assert not compatible(asked, stored)


@pytest.mark.parametrize(
    ("asked", "stored"),
    [
        ("List 3 benefits", "List three benefits"),
        ("how do i reverse a python list", "How do I reverse a list in Python?"),
        ("What does a p-value mean?", "What is a p-value?"),
        ("Summarise the plot of Hamlet", "Summarize the plot of Hamlet"),
        ("How do I flatten a list without recursion?", "Don't use recursion: flatten a list"),
    ],
)
def test_allowed(asked: str, stored: str) -> None:
    assert compatible(asked, stored)


def test_numbers_are_read_in_order_with_words_as_digits() -> None:
    assert numbers(tokens("Is 1,000 more than three hundred and 2.5?")) == [
        "1000",
        "3",
        "hundred",
        "2.5",
    ]
