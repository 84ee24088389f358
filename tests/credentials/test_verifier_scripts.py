"""The verifier page's own decoders (Base45, CBOR, the QR's parse), run in Node against vectors from the RFCs and
from cbor2, and against hostile input: a truncated item, an indefinite length, nesting too deep, a duplicate map
key, trailing bytes and a zlib bomb are refused, not guessed at. CI has Node (it installs axe-core with npm)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zlib

import cbor2
import pytest

from credentials import verifier_page
from tests.credentials.card_qr import base45_encode

NODE = shutil.which("node")
if NODE is None and os.environ.get("CI"):
    raise RuntimeError("node is required in CI (the verifier's script tests)")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run(script: str) -> object:
    """Run an ES module in Node with the page's modules importable as ``static/…``; its printed JSON."""
    prelude = f'const static_ = "{verifier_page.STATIC.as_uri()}/";\n'
    done = subprocess.run(
        [str(NODE), "--input-type=module", "-e", prelude + script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_base45_decodes_the_rfc_9285_examples_and_refuses_the_rest() -> None:
    found = run("""
        const { base45Decode } = await import(static_ + "base45.js");
        const text = (s) => { try { return new TextDecoder().decode(base45Decode(s)); } catch (e) { return "error"; } };
        console.log(JSON.stringify(["BB8", "%69 VD92EX0", "UJCLQE7W581", "QED8WEX0", "GGW", "abc", "A"].map(text)));
    """)
    assert found == ["AB", "Hello!!", "base-45", "ietf!", "error", "error", "error"]  # RFC 9285 §4.3, §6


def test_cbor_decodes_what_cbor2_encodes() -> None:
    value = {1: "text", -7: [0, 23, 24, 255, 65536, 2**32, -1, -1000], "k": b"\x00\xff", 2: True, 3: None, 4: 1.5}
    encoded = cbor2.dumps(cbor2.CBORTag(18, [value]))
    found = run(f"""
        const {{ decode, Tagged }} = await import(static_ + "cbor.js");
        const bytes = Uint8Array.from({list(encoded)});
        const tag = decode(bytes);
        const plain = (v) => v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)]))
          : v instanceof Uint8Array ? Array.from(v) : Array.isArray(v) ? v.map(plain) : v;
        console.log(JSON.stringify({{ tag: tag instanceof Tagged ? tag.tag : null, value: plain(tag.value) }}));
    """)
    assert found == {
        "tag": 18,
        "value": [
            {
                "1": "text",
                "-7": [0, 23, 24, 255, 65536, 2**32, -1, -1000],
                "k": [0, 255],
                "2": True,
                "3": None,
                "4": 1.5,
            }
        ],
    }


@pytest.mark.parametrize(
    "hostile",
    [
        bytes([0x82, 0x01]),  # an array of two with one element
        bytes([0x9F, 0x01, 0xFF]),  # indefinite length
        bytes([0x81] * 20 + [0x00]),  # 20 nested arrays
        bytes([0xA2, 0x01, 0x00, 0x01, 0x00]),  # the key 1 twice
        bytes([0x01, 0x02]),  # trailing bytes
        bytes([0x5B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),  # a byte string longer than the input
    ],
    ids=["truncated", "indefinite", "deep", "duplicate-key", "trailing", "huge-length"],
)
def test_cbor_refuses_hostile_input(hostile: bytes) -> None:
    found = run(f"""
        const {{ decode }} = await import(static_ + "cbor.js");
        try {{ decode(Uint8Array.from({list(hostile)})); console.log('"decoded"'); }}
        catch (e) {{ console.log(JSON.stringify(e.message)); }}
    """)
    assert isinstance(found, str) and found.startswith("CBOR:"), found


def test_a_zlib_bomb_is_refused_before_it_is_inflated_whole() -> None:
    bomb = base45_encode(zlib.compress(b"\x00" * 10_000_000, 9))  # 10 MB of zeros in a few KB
    found = run(f"""
        const {{ parse }} = await import(static_ + "claim169.js");
        try {{ await parse({json.dumps(bomb)}); console.log('"parsed"'); }}
        catch (e) {{ console.log(JSON.stringify(e.message)); }}
    """)
    assert found == "inflated QR too large"
