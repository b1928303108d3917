# Loads a file `icnnlab export` wrote with the documented module
# (icnnlab_module.py, the code of docs/weights.md) and writes its logits on
# the batch in X.npz (key x) to OUT.npz (key logits).
#
#   python3 roundtrip.py FILE X.npz OUT.npz
import os, sys
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from icnnlab_module import IcnnlabNet, read_icnnlab

sd, meta = read_icnnlab(sys.argv[1])
net = IcnnlabNet(meta)
net.load_state_dict(sd)  # strict: every name must match
net.eval()
with torch.no_grad():
    logits = net(torch.from_numpy(np.load(sys.argv[2])["x"]))
np.savez(sys.argv[3], logits=logits.numpy())
