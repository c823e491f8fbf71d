"""python -m bench.echoes: what a real `python -m service` answers to the review's echo and /v2
inputs (issue 20): the size of the answer to a 900 kB unknown model name and to a 500 kB /v2
id, the status of the nine /v2 inputs that gave a 500, of a text/plain /v2 body and of
non-integer shapes. Figures go to docs/reliability.md; nothing here is asserted.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx

from tests.utils.server import running_server

TENSOR = {"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"]}
SIZES = ['"abc"', "null", "[1]", "1e400", '"' + "9" * 5000 + '"', "9" * 5000]
HEADER_LENGTHS = ["\xb2", "\xb9", "9" * 5000]


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_server(None, Path(scratch) / "log", timeout=120) as s,
    ):
        infer = f"{s.base_url}/v2/models/darwin-lstm/infer"
        long_name = {"text": "harles dar", "model": "m" * 900_000}
        answer = httpx.post(f"{s.base_url}/predict-next", json=long_name, timeout=30)
        print(f"900 kB unknown model name: {answer.status_code}, {len(answer.content):,} bytes")
        answer = httpx.post(infer, json={"id": "x" * 500_000, "inputs": [TENSOR]}, timeout=30)
        print(f"500 kB /v2 id: {answer.status_code}, {len(answer.content):,} bytes: {answer.text}")
        statuses = []
        for size in SIZES:
            tensor = '{"name": "text", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": '
            header = ('{"inputs": [' + tensor + size + "}}]}").encode()
            length = {"Inference-Header-Content-Length": str(len(header))}
            statuses.append(httpx.post(infer, content=header, headers=length).status_code)
        body = json.dumps({"inputs": [TENSOR]}).encode()
        for value in HEADER_LENGTHS:
            raw_header = {b"Inference-Header-Content-Length": value.encode("latin-1")}
            statuses.append(httpx.post(infer, content=body, headers=raw_header).status_code)
        print(f"binary_data_size {SIZES[:4]}, 5,000 digits quoted and not;", end=" ")
        print(f"header \\xb2, \\xb9, 5,000 digits: {statuses}")
        plain = httpx.post(infer, content=body, headers={"content-type": "text/plain"})
        print(f"text/plain: {plain.status_code} {plain.text}")
        for shape in ('"1"', "true"):
            odd = body.replace(b'"shape": [1]', b'"shape": [' + shape.encode() + b"]")
            answer = httpx.post(infer, content=odd, headers={"content-type": "application/json"})
            print(f"shape [{shape}]: {answer.status_code} {answer.text}")


if __name__ == "__main__":
    main()
