"""Lexical checks a semantic hit must also pass, where sentence embeddings are blind.

MiniLM-style embeddings are close to a bag of words: "convert 10 miles to km" and
"convert 10 km to miles" score 0.99, "what is 17*23" and "what is 17*24" 0.91, "should
I use X" and "should I not use X" 0.98 (docs/cache.md). So besides the similarity
threshold, a stored question answers a new one only if both carry the same numbers (in
order, number words read as digits), the same negations, and, when they use exactly the
same words, the same word order; and they must not differ by one content word swapped
for another ("sort ascending" / "sort descending" scores 0.94, "by value" / "by key"
0.93): that word is usually the point of the question; nor may one say two or more
things the other does not ("merge two dataframes" / "... on multiple columns" scores
0.96): a refinement asks for another answer. Each check can only turn a hit into a miss.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)?")
_SMALL = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
_TENS = "thirty forty fifty sixty seventy eighty ninety"
_NUMBER_WORDS = {word: str(i) for i, word in enumerate(_SMALL.split())}
_NUMBER_WORDS.update({word: str(10 * i) for i, word in enumerate(_TENS.split(), 3)})
_MAGNITUDES = {"hundred", "thousand", "million", "billion", "trillion", "half", "quarter"}
_NEGATIONS = {
    "not",
    "no",
    "never",
    "none",
    "nothing",
    "nobody",
    "nowhere",
    "neither",
    "nor",
    "without",
    "cannot",
}


_STOPWORD_TEXT = """
    a about above after again all am an and any are as at be been being below between
    both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me might
    more most must my myself of off on once only or other our ours out over own please
    same shall she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours tell give show explain
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def tokens(text: str) -> list[str]:
    """Lower-case words and numbers, in order."""
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


def numbers(words: list[str]) -> list[str]:
    """The numbers a question names, in order (`three` and `3` alike)."""
    out: list[str] = []
    for word in words:
        if word[0].isdigit():
            out.append(word.replace(",", ""))
        elif word in _NUMBER_WORDS:
            out.append(_NUMBER_WORDS[word])
        elif word in _MAGNITUDES:
            out.append(word)
    return out


def negations(words: list[str]) -> int:
    """How many negations a question holds (`don't` counts as one)."""
    return sum(1 for w in words if w in _NEGATIONS or w.endswith("n't"))


def content_words(words: list[str]) -> set[str]:
    """The words that carry a question's meaning, lightly stemmed (`values` as `value`,
    `summarise` as `summarize`)."""
    out: set[str] = set()
    for word in words:
        word = word.removesuffix("'s")
        if word in _STOPWORDS or word in _NEGATIONS or word.endswith("n't") or word[0].isdigit():
            continue
        if word.endswith("ise"):
            word = word[:-3] + "ize"
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.add(word)
    return out


def compatible(question: str, stored: str) -> bool:
    """Whether `stored`'s answer may serve `question` (given similar embeddings)."""
    a, b = tokens(question), tokens(stored)
    if numbers(a) != numbers(b):
        return False
    if negations(a) != negations(b):
        return False
    if a != b and sorted(a) == sorted(b):
        return False
    only_a, only_b = content_words(a) - content_words(b), content_words(b) - content_words(a)
    if len(only_a) == 1 and len(only_b) == 1:
        return False  # one word swapped for another
    return not (min(len(only_a), len(only_b)) == 0 and max(len(only_a), len(only_b)) >= 2)
