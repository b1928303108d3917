# Loads a torch.save file written by icnnlab, compares every tensor with
# the .npz written next to it and prints the key order and the icnnlab
# metadata as JSON. With --linear it also loads the file into
# torch.nn.Linear(3, 2) with load_state_dict (strict).
#
#   python3 load_statedict.py FILE.pt WANT.npz [--linear]
import json, sys
import numpy as np
import torch

sd = torch.load(sys.argv[1])
want = np.load(sys.argv[2])
assert sorted(sd.keys()) == sorted(want.files), (list(sd.keys()), want.files)
for k in want.files:
    got = sd[k].numpy()
    assert got.dtype == want[k].dtype, (k, got.dtype, want[k].dtype)
    assert got.shape == want[k].shape, (k, got.shape, want[k].shape)
    assert np.array_equal(got, want[k]), k
if "--linear" in sys.argv:
    torch.nn.Linear(3, 2).load_state_dict(sd)
print(json.dumps({"keys": list(sd.keys()), "metadata": getattr(sd, "_metadata", {}).get("icnnlab", {})}))
