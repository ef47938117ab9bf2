"""The labelled paraphrase / near-miss set that the default threshold (0.92) is chosen by.

PARAPHRASES must be answered by each other's stored answer; NEAR_MISSES must not (they
look alike and need another answer). Printed with their similarities by
`python -m tests.cache.labelled` (docs/cache.md shows the output).
"""

from __future__ import annotations

PARAPHRASES: list[tuple[str, str]] = [
    ("What is 2+2?", "what is 2 + 2"),
    ("What is the capital of France?", "What is France's capital?"),
    ("What is the capital of France?", "what's the capital of France"),
    ("How do I reverse a list in Python?", "How can I reverse a list in Python?"),
    ("How do I reverse a list in Python?", "how do i reverse a python list"),
    ("Explain the difference between TCP and UDP.", "What is the difference between TCP and UDP?"),
    ("Summarize the plot of Hamlet.", "Summarise the plot of Hamlet."),
    ("Summarize the plot of Hamlet.", "Give me a summary of the plot of Hamlet."),
    ("Translate 'good morning' into Spanish.", 'Translate "good morning" to Spanish.'),
    ("How many days are in a leap year?", "How many days does a leap year have?"),
    ("Write a haiku about autumn leaves.", "Write a haiku about the autumn leaves."),
    ("What are the symptoms of the flu?", "What are flu symptoms?"),
    ("Who wrote Pride and Prejudice?", "Who is the author of Pride and Prejudice?"),
    (
        "How do I convert a string to an integer in JavaScript?",
        "How to convert a string to an integer in JavaScript?",
    ),
    (
        "What is the boiling point of water in Celsius?",
        "What's the boiling point of water in celsius?",
    ),
    (
        "Can you explain what a closure is in JavaScript?",
        "Please explain what a closure is in JavaScript.",
    ),
    (
        "What is the time complexity of binary search?",
        "What's the time complexity of a binary search?",
    ),
    ("List three benefits of regular exercise.", "List 3 benefits of regular exercise."),
    (
        "How do I sort a dictionary by value in Python?",
        "How can I sort a Python dictionary by its values?",
    ),
    (
        "pandas: how do I drop rows with NaN values?",
        "How do I drop rows with NaN values in pandas?",
    ),
    ("What does HTTP status code 404 mean?", "What does the HTTP 404 status code mean?"),
    (
        "Don't use recursion: how do I flatten a nested list?",
        "How do I flatten a nested list without recursion?",
    ),
    ("How do I read a CSV file with pandas?", "How to load a CSV file using pandas?"),
    ("How do I read a CSV file with pandas?", "how do I read a csv file in pandas"),
    (
        "What is the difference between a list and a tuple in Python?",
        "Difference between list and tuple in Python?",
    ),
    ("How do I make a GET request in Python?", "How can I send a GET request in Python?"),
    ("Explain gradient descent in simple terms.", "Explain gradient descent simply."),
    ("What is a p-value?", "What does a p-value mean?"),
    ("How do I merge two dataframes in pandas?", "How can I merge two pandas dataframes?"),
    ("Give me a recipe for pancakes.", "Can you give me a pancake recipe?"),
    ("What is the speed of light?", "How fast is light?"),
    ("How do I undo the last git commit?", "How can I undo my last commit in git?"),
    ("Why is the sky blue?", "Why is the sky blue in color?"),
    ("What is overfitting in machine learning?", "What does overfitting mean in machine learning?"),
]

NEAR_MISSES: list[tuple[str, str]] = [
    ("What is 2+2?", "What is 2+3?"),
    ("What is 17*23?", "What is 17*24?"),
    ("What is the capital of France?", "What is the capital of Germany?"),
    ("How do I reverse a list in Python?", "How do I sort a list in Python?"),
    ("How do I reverse a list in Python?", "How do I reverse a list in Java?"),
    ("Translate 'good morning' into Spanish.", "Translate 'good morning' into French."),
    ("Translate 'good morning' into Spanish.", "Translate 'good night' into Spanish."),
    ("Is Python faster than Java?", "Is Java faster than Python?"),
    ("Write a haiku about autumn leaves.", "Write a haiku about spring flowers."),
    ("Write a haiku about autumn leaves.", "Write a limerick about autumn leaves."),
    (
        "What is the boiling point of water in Celsius?",
        "What is the boiling point of water in Fahrenheit?",
    ),
    (
        "What is the boiling point of water in Celsius?",
        "What is the freezing point of water in Celsius?",
    ),
    ("List three benefits of regular exercise.", "List three risks of regular exercise."),
    ("List three benefits of regular exercise.", "List five benefits of regular exercise."),
    ("Who wrote Pride and Prejudice?", "Who wrote Sense and Sensibility?"),
    ("What does HTTP status code 404 mean?", "What does HTTP status code 403 mean?"),
    ("Convert 10 miles to kilometers.", "Convert 10 kilometers to miles."),
    ("Convert 10 miles to kilometers.", "Convert 100 miles to kilometers."),
    ("How many days are in a leap year?", "How many days are in a year?"),
    ("Should I use TCP for video streaming?", "Should I not use TCP for video streaming?"),
    ("Summarize the plot of Hamlet.", "Summarize the plot of Macbeth."),
    ("How do I create a table in PostgreSQL?", "How do I drop a table in PostgreSQL?"),
    ("What was the population of Paris in 2010?", "What was the population of Paris in 2020?"),
    ("Is it safe to eat raw chicken?", "Is it safe to eat raw fish?"),
    ("Is 1 kg heavier than 1 lb?", "Is 1 lb heavier than 1 kg?"),
    ("Round 3.14159 to two decimal places.", "Round 3.14159 to three decimal places."),
    (
        "How do I sort a dictionary by value in Python?",
        "How do I sort a dictionary by key in Python?",
    ),
    ("How do I sort a list in ascending order?", "How do I sort a list in descending order?"),
    ("How do I merge two dataframes in pandas?", "How do I concatenate two dataframes in pandas?"),
    ("What is the max of a list in Python?", "What is the min of a list in Python?"),
    ("How do I install numpy with pip?", "How do I install numpy with conda?"),
    ("How do I read a CSV file in pandas?", "How do I write a CSV file in pandas?"),
    ("What is a left join in SQL?", "What is a right join in SQL?"),
    ("How do I make a GET request in Python?", "How do I make a POST request in Python?"),
    (
        "What is the mean of a normal distribution?",
        "What is the variance of a normal distribution?",
    ),
    ("How do I add a column in pandas?", "How do I remove a column in pandas?"),
    ("What is the time complexity of quicksort?", "What is the space complexity of quicksort?"),
    ("How do I undo the last git commit?", "How do I undo the last git push?"),
    ("What is the speed of light?", "What is the speed of sound?"),
    (
        "How do I convert a list to a string in Python?",
        "How do I convert a string to a list in Python?",
    ),
    ("What is overfitting in machine learning?", "What is underfitting in machine learning?"),
    ("How do I uppercase a string in Python?", "How do I lowercase a string in Python?"),
    ("Explain precision in machine learning.", "Explain recall in machine learning."),
    ("How do I reverse a list in Python?", "How do I sort an array in JavaScript?"),
    ("What is the capital of France?", "What is the largest city of Germany?"),
    ("Write a haiku about autumn leaves.", "Write a sonnet about spring flowers."),
    ("Translate 'good morning' into Spanish.", "Translate 'good night' into French."),
    ("How do I read a CSV file in pandas?", "How do I write an Excel file in pandas?"),
    ("What is the time complexity of quicksort?", "What is the space complexity of mergesort?"),
    ("How do I undo the last git commit?", "How do I change the message of the last git commit?"),
    (
        "What is overfitting in machine learning?",
        "How do I prevent overfitting in machine learning?",
    ),
    (
        "How do I merge two dataframes in pandas?",
        "How do I merge two dataframes in pandas on multiple columns?",
    ),
    ("What is a p-value?", "How do I calculate a p-value in Excel?"),
    ("Why is the sky blue?", "Why is the sky red at sunset?"),
    ("How do I sort a list in Python?", "How do I sort a list of dictionaries in Python?"),
    ("What is Docker?", "What is Docker Compose?"),
    ("How do I install numpy with pip?", "How do I uninstall pandas with pip?"),
    ("What are the symptoms of the flu?", "What are the symptoms of the flu in children?"),
    ("What is the capital of France?", "What is the population of the capital of France?"),
    ("Explain gradient descent.", "Explain stochastic gradient descent."),
    ("How do I read a CSV file in pandas?", "How do I read a large CSV file in pandas in chunks?"),
]


def report() -> str:
    """Every pair with its cosine similarity and the lexical guard's verdict, as Markdown."""
    import asyncio

    from govern.cache.embedder import Embedder
    from govern.cache.guard import compatible

    async def score() -> list[tuple[str, float, bool, str, str]]:
        embedder = Embedder()
        rows = []
        for label, pairs in (("paraphrase", PARAPHRASES), ("near miss", NEAR_MISSES)):
            for stored, asked in pairs:
                a, b = await embedder.embed(stored), await embedder.embed(asked)
                assert a is not None and b is not None
                rows.append((label, float(a @ b), compatible(asked, stored), stored, asked))
        embedder.close()
        return rows

    rows = sorted(asyncio.run(score()), key=lambda r: (r[0], -r[1]))
    lines = ["| class | cosine | guard | stored question | new question |", "|---|---|---|---|---|"]
    for label, similarity, ok, stored, asked in rows:
        verdict = "pass" if ok else "block"
        lines.append(f"| {label} | {similarity:.4f} | {verdict} | {stored} | {asked} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
