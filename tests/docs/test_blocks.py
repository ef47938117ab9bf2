"""How the tutorial tests read pages: fences, titles, expected output, shell commands."""

from __future__ import annotations

from pathlib import Path

from tests.docs.blocks import blocks, normalise_output, output_pattern
from tests.docs.runner import PageRun, commands

PAGE = """# A page

```sh
make serve
```

=== "Tab"

    ```python title="needs an OpenAI key"
    print("hi")
    ```

```toml title="govern.toml"
[server]
port = 4000
```

```text title="output"
hi
```
"""


def test_blocks_keep_order_language_title_and_dedent(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    found = blocks(page, tmp_path)
    assert [(b.lang, b.title) for b in found] == [
        ("sh", ""),
        ("python", "needs an OpenAI key"),
        ("toml", "govern.toml"),
        ("text", "output"),
    ]
    assert found[1].code == 'print("hi")\n' and found[1].illustrative
    assert found[2].file_name == "govern.toml" and found[3].is_output
    assert found[0].where == "page.md:3"  # the opening fence


def test_output_pattern_ellipsis_matches_anything() -> None:
    pattern = output_pattern("requests 5\n...\ncost $1 \n")
    assert pattern.fullmatch(normalise_output("requests 5\nwall 0.2 s\np50 3 ms\ncost $1\n"))
    assert not pattern.fullmatch(normalise_output("requests 6\ncost $1"))


def test_commands_join_continuations_and_mark_background() -> None:
    script = "python -m govern.sim --port 4010 &  # the upstream\n# a comment\ncurl -s \\\n  x\n"
    assert commands(script) == [
        ("python -m govern.sim --port 4010", True),
        ("curl -s x", False),
    ]


def test_documented_addresses_are_rewritten_both_ways() -> None:
    class Sim:
        url = "http://127.0.0.1:51234"

    run = PageRun(Path("."), Sim(), None)  # type: ignore[arg-type]
    run.map_address(4000, "127.0.0.1:40404")
    assert run.rewrite("http://127.0.0.1:4000/v1 localhost:4010") == (
        "http://127.0.0.1:40404/v1 127.0.0.1:51234"
    )
    assert run.rewrite("127.0.0.1:40000") == "127.0.0.1:40000"
    assert run.unrewrite("on http://127.0.0.1:40404") == "on http://127.0.0.1:4000"
