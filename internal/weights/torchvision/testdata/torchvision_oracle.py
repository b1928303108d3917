# Builds a randomly initialised torchvision network, saves its state_dict
# as torch.save zip (model.pt; for alexnet also the legacy format,
# model-legacy.pt) and safetensors (model.safetensors, header
# built by hand), and writes an input batch and the network's logits in
# evaluation mode (io.npz: x, logits).
#
#   python3 torchvision_oracle.py alexnet|vgg16 SIZE BATCH OUT_DIR
import json, struct, sys
import numpy as np
import torch
import torchvision

arch, size, batch, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.manual_seed(0)
model = getattr(torchvision.models, arch)().eval()
sd = model.state_dict()
torch.save(sd, out + "/model.pt")
if arch == "alexnet":  # the format of older downloads, small enough to test too
    torch.save(sd, out + "/model-legacy.pt", _use_new_zipfile_serialization=False)

header, off = {}, 0
for k, v in sd.items():
    n = v.numel() * v.element_size()
    header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + n]}
    off += n
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(out + "/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    for v in sd.values():
        f.write(v.contiguous().numpy().tobytes())

x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    logits = model(x)
np.savez(out + "/io.npz", x=x.numpy(), logits=logits.numpy())
