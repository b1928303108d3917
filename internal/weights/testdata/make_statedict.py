# Writes a state_dict with every layout the reader must handle, as
# torch.save writes it (zip, and the legacy format) and as safetensors (header built by hand, the
# safetensors package is not needed), plus the expected values as .npz.
#
#   python3 make_statedict.py OUT_DIR
import collections, json, struct, sys
import numpy as np
import torch

out = sys.argv[1]
g = torch.Generator().manual_seed(7)
base = torch.randn(6, 5, generator=g)
sd = collections.OrderedDict()
sd["conv.weight"] = torch.randn(4, 3, 3, 3, generator=g)
sd["conv.bias"] = torch.randn(4, generator=g)
sd["transposed"] = base.t()                 # non-contiguous view
sd["row_view"] = base[2]                    # view with a storage offset, sharing base's storage
sd["base"] = base
sd["double"] = torch.randn(3, generator=g, dtype=torch.float64)
sd["half"] = torch.tensor([1.0, -2.5, 65504.0, 6e-8, 0.0], dtype=torch.float16)
sd["bf16"] = torch.tensor([1.0, -3.0, 0.15625], dtype=torch.bfloat16)
sd["count"] = torch.tensor(42, dtype=torch.int64)
sd["empty"] = torch.zeros(0, 3)
sd["mask"] = torch.tensor([True, False, True])
torch.save(sd, out + "/sd.pt")
torch.save(sd, out + "/sd-legacy.pt", _use_new_zipfile_serialization=False)  # before PyTorch 1.6
m = torch.nn.Linear(3, 2)
torch.save(m.state_dict(), out + "/linear.pt")  # carries _metadata

def st_dtype(t):
    return {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
            torch.int64: "I64", torch.bool: "BOOL"}[t.dtype]

header, blobs, off = {"__metadata__": {"format": "pt", "who": "oracle"}}, [], 0
for k, v in sd.items():
    v = v.contiguous()
    if v.dtype == torch.bfloat16:
        raw = v.view(torch.int16).numpy().tobytes()
    else:
        raw = v.numpy().tobytes()
    header[k] = {"dtype": st_dtype(v), "shape": list(v.shape), "data_offsets": [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(out + "/sd.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

np.savez(out + "/want.npz", **{k: np.ascontiguousarray((v.float() if v.dtype in (torch.bfloat16, torch.float16) else v).numpy()) for k, v in sd.items()})
