"""tritonclient against a real `python -m service`: the advertised version's routes and errors."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import tritonclient.http as triton

from tests.utils.server import ServerProcess


def test_tritonclient_with_the_version(server: ServerProcess) -> None:
    name = httpx.get(f"{server.base_url}/model").json()["name"]
    client = triton.InferenceServerClient(server.base_url.removeprefix("http://"))
    try:
        assert client.is_model_ready(name, "1")
        assert client.get_model_metadata(name, "1")["versions"] == ["1"]
        tensor = triton.InferInput("text", [2], "BYTES")
        tensor.set_data_from_numpy(np.array(["harles dar", "origin of spe"], dtype=np.object_))
        versioned = client.infer(name, [tensor], model_version="1")
        plain = client.infer(name, [tensor])
        assert np.array_equal(versioned.as_numpy("probabilities"), plain.as_numpy("probabilities"))
        assert versioned.get_response()["model_version"] == "1"
        assert not client.is_model_ready(name, "2")
        with pytest.raises(triton.InferenceServerException, match=f"model '{name}' has no version '2'"):
            client.get_model_metadata(name, "2")
    finally:
        client.close()
