"""Deterministic safetensors writing shared by the conversion scripts."""

import json
import pathlib
import struct

import numpy as np
from safetensors.numpy import load_file


def write_safetensors(path: pathlib.Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """safetensors' format with the metadata keys and tensor names sorted, so that re-runs give
    identical bytes (the library's writer orders the metadata by hash)."""
    codes = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32"}
    header: dict = {"__metadata__": dict(sorted(metadata.items()))}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = np.ascontiguousarray(tensors[name])
        data = t.astype(t.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    back = load_file(path)
    assert sorted(back) == sorted(tensors)
    assert all(np.array_equal(back[k], tensors[k]) for k in tensors)
