"""Every `curl` example of the README's "Sending events", run verbatim by bash with the real curl
binary against `tally up`: only the placeholders change (``https://<api>/prod`` to the local
API, ``wk_...`` and ``sk_...`` to a site's keys). Each example sends one event; each must be
answered without an error and all of them stored."""

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.tally_up import Running, tally_up

pytestmark = pytest.mark.slow
README = Path(__file__).resolve().parents[2] / "README.md"


def examples() -> list[str]:
    """The shell commands of the section's sh blocks: a command goes on while a line ends with
    a backslash or a pipe; comment lines separate them."""
    section = README.read_text().split("## Sending events", 1)[1].split("\n## ", 1)[0]
    commands, current = [], ""
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            if line.lstrip().startswith("#") or not line.strip():
                continue
            current += line + "\n"
            if not line.rstrip().endswith(("\\", "|")):
                commands.append(current)
                current = ""
    return commands


@pytest.fixture(scope="module")
def tally(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with tally_up(tmp_path_factory.mktemp("readme")) as running:
        yield running


def test_the_readme_has_an_example_of_every_way_in() -> None:
    joined = "".join(examples())
    for route in ("/events?", "/i.gif?", "/v1/track", "/capture/", "/api/event", "properties[plan]", "gzip"):
        assert route in joined, route


def test_every_readme_example_works_verbatim(tally: Running) -> None:
    assert shutil.which("curl"), "curl is missing: run `make test-deps`"
    created = tally.add_site("readme", domain="shop.example.com")
    commands = examples()
    for command in commands:
        local = (command.replace("https://<api>/prod", tally.api).replace("wk_...", created.site.write_key)
                 .replace("sk_...", created.secret_key))  # fmt: skip
        done = subprocess.run(["bash", "-o", "pipefail", "-c", local], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (command, done.stderr)
        answer = done.stdout
        assert "error" not in answer and "false" not in answer, (command, answer)
    events = tally.wait_stored("readme", len(commands))
    assert {e["name"] for e in events} == {"pageview", "signup"}
    server = next(e for e in events if e.get("ip") == "198.51.100.0")  # the secret key's ip, truncated
    assert server["user_agent"] == "Mozilla/5.0 ..."
