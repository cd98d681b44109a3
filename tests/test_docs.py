"""Every example in the README, docs/ and the SDK's README runs against a live server.

Fences say what a block is:

- `bash`, `python`, `js`: examples. Each runs, in document order, against one live
  `serve --demo` per document, with the operator CLI on the server's database. The only
  change made to them: `http://127.0.0.1:8080` (what `make demo` serves) becomes the test
  server's address. curl runs with --fail-with-body, so an HTTP error fails the example.
- `shell`: commands that start something long-running or set up a machine (`make demo`,
  `redcloud serve`, `redcloud listen`, `export ...`). Each command must be one of SETUP
  below, which names the tests that run it; nothing else may hide in a `shell` block.
- `json`: must parse; right after a `bash` example it is that example's output, and the
  example's real output must match it (a string ending in `…` matches any continuation).
- `text`: output and layouts, not run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from redcloud.webhooks import signing
from tests.live import ROOT, LiveServer, run_shell

# Every doc example against a live server: the database behind it does not change them.
pytestmark = [pytest.mark.slow, pytest.mark.one_database]

DOCS = [ROOT / "README.md", ROOT / "sdk" / "python" / "README.md", *sorted(ROOT.glob("docs/*.md"))]
DEMO_BASE = "http://127.0.0.1:8080"
SECRET = "rc_webhook_secret_demo"

SETUP = {
    "make demo": "tests/live.py starts `redcloud serve --demo`, what `make demo` runs",
    "make test": ".ci/run runs it",
    "export ": "environment for later steps; this test sets BASE_URL itself",
    "pip install -e sdk/python": "the Makefile installs the SDK the same way for make test",
    ".venv/bin/redcloud listen": "tests/test_sdk_webhooks.py runs redcloud listen",
    "redcloud listen": "tests/test_sdk_webhooks.py runs redcloud listen",
    "redcloud db upgrade": "tests/test_migrations.py and every test database",
    "redcloud serve": "tests/live.py and tests/processes.py start it",
    "redcloud worker": "tests/test_processes.py runs worker processes",
    "node tests/smsc/smsc.js": "tests/smsc/peer.py starts the test SMSC for the SMPP tests",
}
RUN = {"bash", "python", "js"}
KINDS = RUN | {"shell", "json", "text"}


@dataclass
class Block:
    doc: Path
    line: int
    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line} ({self.kind})"


def blocks(doc: Path) -> list[Block]:
    source = doc.read_text()
    return [
        Block(doc, source.count("\n", 0, m.start()) + 1, m.group(1), m.group(2))
        for m in re.finditer(r"^```(\S*)[^\n]*\n(.*?)^```\s*$", source, flags=re.S | re.M)
    ]


def commands(text: str) -> list[str]:
    """The command lines of a shell block: comments dropped, continuations joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = (line.split("#", 1)[0].strip() for line in joined.splitlines())
    return [line for line in lines if line]


def test_every_block_says_what_it_is_and_set_up_blocks_hold_only_set_up() -> None:
    every = [block for doc in DOCS for block in blocks(doc)]
    assert len(every) > 30
    for block in every:
        assert block.kind in KINDS, f"{block}: give the fence one of {sorted(KINDS)}"
        if block.kind == "shell":
            for command in commands(block.text):
                assert command.startswith(tuple(SETUP)), f"{block}: {command!r} must run"
        if block.kind == "json":
            json.loads(block.text)


RUNNABLE = [doc for doc in DOCS if any(b.kind in RUN for b in blocks(doc))]


@pytest.mark.parametrize("doc", RUNNABLE, ids=lambda d: str(d.relative_to(ROOT)))
def test_the_examples_run_as_written(doc: Path, live_server: LiveServer, tmp_path: Path) -> None:
    env = {
        **live_server.env,
        "BASE_URL": live_server.base,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    ran = 0
    found = blocks(doc)
    for block, following in zip(found, [*found[1:], None], strict=True):
        if block.kind not in RUN:
            continue
        text = block.text.replace(DEMO_BASE, live_server.base)
        try:
            if block.kind == "bash" and following is not None and following.kind == "json":
                # An example followed by its output: the output must be what it shows.
                shown = json.loads(following.text)
                assert matches(shown, json.loads(run_shell(text, env, tmp_path))), shown
            else:
                RUNNERS[block.kind](text, env, tmp_path)
        except AssertionError as exc:
            raise AssertionError(f"{block} failed:\n{exc}") from None
        ran += 1
    assert ran > 0


def matches(shown: object, actual: object) -> bool:
    """The documented output matches; a string ending in "…" stands for any continuation."""
    if isinstance(shown, dict):
        return (
            isinstance(actual, dict)
            and shown.keys() == actual.keys()
            and all(matches(v, actual[k]) for k, v in shown.items())
        )
    if isinstance(shown, list):
        return (
            isinstance(actual, list)
            and len(shown) == len(actual)
            and all(matches(s, a) for s, a in zip(shown, actual, strict=True))
        )
    if isinstance(shown, str) and shown.endswith("…"):
        return isinstance(actual, str) and actual.startswith(shown[:-1])
    return shown == actual


# An example's own -f already fails on an HTTP error; every other curl gets
# --fail-with-body, so a documented call that starts failing fails the test.
BASH_PREAMBLE = """set -euo pipefail
curl() {
  local arg
  for arg in "$@"; do
    case "$arg" in --fail*|-[a-zA-Z]*f*) command curl "$@"; return;; esac
  done
  command curl --fail-with-body --silent --show-error "$@"
}
"""


def run_bash(text: str, env: dict[str, str], cwd: Path) -> None:
    run_shell(BASH_PREAMBLE + text, env, cwd)


def run_python(text: str, env: dict[str, str], cwd: Path) -> None:
    script = cwd / "example.py"
    script.write_text(text + "".join(h for marker, h in PY_HARNESS.items() if marker in text))
    run_shell(f"{sys.executable} {script}", env, cwd)


def run_js(text: str, env: dict[str, str], cwd: Path) -> None:
    """The Node.js recipe must accept our signature and refuse a tampered body."""
    script = cwd / "example.mjs"
    script.write_text(
        text + "\nconst [s, t, b, g] = process.argv.slice(2);\nconsole.log(verify(s, t, b, g));\n"
    )
    body, timestamp = '{"eventType":"message.sent","sequence":2}', int(time.time())
    signature = signing.sign(SECRET, timestamp, body.encode())
    for sent, expected in ((body, "true"), (body.replace("2", "3"), "false")):
        result = subprocess.run(
            ["node", str(script), SECRET, str(timestamp), sent, signature],
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout.strip() == expected, result


def _signed_delivery() -> str:
    """Python source defining _body, _headers and _tampered: a delivery as we sign it."""
    body = json.dumps(
        {
            "eventType": "message.delivery",
            "direction": "outbound",
            "occurredAt": int(time.time() * 1000),
            "apiClientId": "rc_test_client_123",
            "messageId": "msg_abc123",
            "sequence": 3,
            "data": {
                "messageId": "msg_abc123",
                "externalReference": "order_789",
                "sendFrom": "+15551234567",
                "to": "+15551234567",
                "status": "delivered",
                "error": None,
            },
        }
    ).encode()
    timestamp = int(time.time())
    headers = {
        signing.TIMESTAMP_HEADER: str(timestamp),
        signing.SIGNATURE_HEADER: signing.sign(SECRET, timestamp, body),
        signing.EVENT_ID_HEADER: "evt_docs_1",
    }
    return (
        f"\n_body = {body!r}\n_headers = {headers!r}\n"
        "_tampered = _body.replace(b'delivered', b'failed__')\n"
    )


PY_HARNESS = {
    # The docs' verification recipe accepts our signature and refuses a tampered body.
    "def verify(": _signed_delivery()
    + "_t, _s = _headers['X-RedCloud-Timestamp'], _headers['X-RedCloud-Signature']\n"
    f"assert verify({SECRET!r}, _t, _body, _s) is True\n"
    f"assert verify({SECRET!r}, _t, _tampered, _s) is False\n",
    # The SDK's receiver example answers 200 to a real delivery and 400 to a forged one.
    "def handle_webhook(": _signed_delivery() + "assert handle_webhook(_body, _headers) == 200\n"
    "assert handle_webhook(_tampered, _headers) == 400\n",
}
RUNNERS = {"bash": run_bash, "python": run_python, "js": run_js}
