"""Test material in MOSIP's shapes: its example ABIS requests (fixtures/mosip_abis_examples.json), CBEFF XML laid
out as MOSIP's sample (docs/biometrics/cbeff-xml.md) around ISO 19794-5/-4 records, and a local data share."""

from __future__ import annotations

import base64
import copy
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

from abis import iso_images
from tests.conftest import fixture_bytes, load_rgb
from tests.synthetic_fingerprints import impressions

EXAMPLES = json.loads((Path(__file__).parent / "fixtures" / "mosip_abis_examples.json").read_text())
SUBTYPES = {2: "Right IndexFinger", 7: "Left IndexFinger", 3: "Right MiddleFinger"}


def message(operation: str, **fields: object) -> dict:
    """MOSIP's example request for ``operation`` with a fresh requestId and the given fields replaced."""
    body = copy.deepcopy(EXAMPLES[operation])
    body["requestId"] = str(uuid.uuid4()).upper()
    body.update(fields)
    return body


def _bir(modality: str, format_type: int, subtype: str, bdb: bytes) -> str:
    """One inner BIR as MOSIP writes it (Version, CBEFFVersion, BIRInfo, BDBInfo, BDB)."""
    return f"""
    <BIR>
        <Version><Major>1</Major><Minor>1</Minor></Version>
        <CBEFFVersion><Major>1</Major><Minor>1</Minor></CBEFFVersion>
        <BIRInfo><Integrity>false</Integrity></BIRInfo>
        <BDBInfo>
            <Index>{uuid.uuid4()}</Index>
            <Format><Organization>Mosip</Organization><Type>{format_type}</Type></Format>
            <CreationDate>2022-07-27T15:29:22.987808900Z</CreationDate>
            <Type>{modality}</Type>
            <Subtype>{subtype}</Subtype>
            <Level>Raw</Level>
            <Purpose>Enroll</Purpose>
            <Quality>
                <Algorithm><Organization>HMAC</Organization><Type>SHA-256</Type></Algorithm>
                <Score>94</Score>
            </Quality>
        </BDBInfo>
        <BDB>{base64.b64encode(bdb).decode()}</BDB>
    </BIR>"""


def cbeff(*birs: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<BIR xmlns="http://standards.iso.org/iso-iec/19785/-3/ed-2/">\n'
        "    <BIRInfo><Integrity>false</Integrity></BIRInfo>" + "".join(birs) + "\n</BIR>\n"
    ).encode()


def face_bir(photo: str, jpeg2000: bool = False) -> str:
    """A face BIR: the fixture photo as JPEG (or re-encoded as JPEG 2000) in a 19794-5:2011 record."""
    rgb = load_rgb(photo)
    height, width = rgb.shape[:2]
    if jpeg2000:
        ok, encoded = cv2.imencode(".jp2", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        assert ok
        record = iso_images.encode_face(encoded.tobytes(), width, height, data_type=2)
    else:
        record = iso_images.encode_face(fixture_bytes(photo), width, height, data_type=0)
    return _bir("Face", 8, "", record)


def finger_bir(seed: int, impression: int, position: int, jpeg2000: bool = False) -> str:
    """A finger BIR: a synthetic impression as PNG (or JPEG 2000 lossless) in a 19794-4:2011 record."""
    gray = np.ascontiguousarray(impressions(seed, impression + 1)[impression])
    height, width = gray.shape
    ok, encoded = cv2.imencode(".jp2" if jpeg2000 else ".png", gray)
    assert ok
    record = iso_images.encode_finger(encoded.tobytes(), width, height, position, compression=5 if jpeg2000 else 6)
    return _bir("Finger", 7, SUBTYPES[position], record)


@dataclass
class DataShare:
    """A local stand-in for MOSIP's data share: documents by path, and every path asked for."""

    port: int = 0
    documents: dict[str, bytes] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)
    # MOSIP's auth manager: with credentials set, documents need the Authorization cookie it handed out last.
    credentials: tuple[str, str] | None = None
    valid_token: str | None = None
    sign_ins: int = 0

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/authmanager/authenticate/clientidsecretkey"

    @property
    def prefix(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/datashare/get/"

    def publish(self, document: bytes) -> str:
        """Serve ``document``; its referenceURL."""
        name = f"mpolicy-default-abis/mpartner-default-abis/{uuid.uuid4().hex}"
        self.documents["/v1/datashare/get/" + name] = document
        return self.prefix + name


@contextmanager
def data_share() -> Iterator[DataShare]:
    share = DataShare()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["request"]
            if share.credentials != (request["clientId"], request["secretKey"]) or request["appId"] != "regproc":
                self._answer(b'{"errors":[{"errorCode":"KER-ATH-401","message":"Authentication Failed"}]}', None)
                return
            share.sign_ins += 1
            share.valid_token = f"eyJ.token-{share.sign_ins}"
            self._answer(b'{"response":{"status":"Success"}}', f"Authorization={share.valid_token}; Path=/")

        def _answer(self, body: bytes, cookie: str | None) -> None:
            self.send_response(200)
            if cookie:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            share.requested.append(self.path)
            if share.credentials and self.headers.get("Cookie") != f"Authorization={share.valid_token}":
                self._answer(b'{"errors":[{"errorCode":"KER-ATH-401","message":"Authentication Failed"}]}', None)
                return
            document = share.documents.get(self.path)
            body = (
                document
                if document is not None
                else b'{"errors":[{"errorCode":"DAT-SER-006","message":"Data share not found"}]}'
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/xml" if document is not None else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    share.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield share
    finally:
        server.shutdown()
        server.server_close()
