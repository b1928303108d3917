import json
import struct

import torch
from torch import nn


def read_icnnlab(path):
    """Returns (state_dict, metadata) of a file `icnnlab export` wrote, in
    either format, with nothing but PyTorch."""
    with open(path, "rb") as f:
        head = f.read(8)
        if head[:2] == b"PK":  # torch.save zip
            sd = torch.load(path)
            return sd, dict(getattr(sd, "_metadata", {}).get("icnnlab", {}))
        n = struct.unpack("<Q", head)[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}
    sd = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtypes[e["dtype"]])
        sd[name] = t.reshape(e["shape"])
    return sd, meta


class IcnnlabNet(nn.Module):
    """A network exported by `icnnlab export`, rebuilt from the file's
    metadata. Names follow torchvision: features.N, classifier.N, and
    interp for the interpretable conv-layer."""

    def __init__(self, meta):
        super().__init__()
        features = []
        for layer in json.loads(meta["icnnlab.features"]):
            if layer["kind"] == "conv":
                features += [nn.Conv2d(layer["in"], layer["out"], layer["kernel"],
                                       layer["stride"], layer["padding"]), nn.ReLU()]
            elif layer["dropped"]:
                features.append(nn.Identity())  # removed at this input size
            else:
                features.append(nn.MaxPool2d(layer["kernel"], layer["stride"], layer["padding"]))
        self.features = nn.Sequential(*features)
        self.top = int(meta["icnnlab.top_relu_index"])
        self.interpretable = meta["icnnlab.interpretable"] == "true"
        if self.interpretable:
            channels = features[self.top - 1].out_channels
            self.interp = nn.Conv2d(channels, channels, 3, 1, 1)
            self.template = meta["icnnlab.mask.template"]
            if self.template not in ("l1", "l2", "none"):
                raise ValueError("this example implements the l1, euclidean and none masks, not " + self.template)
            if self.template != "none":
                self.tau = float(meta["icnnlab.mask.tau"])
                self.beta = float(meta["icnnlab.mask.beta"])
        c, h, w = (int(v) for v in meta["icnnlab.classifier.input"].split("x"))
        p = float(meta["icnnlab.classifier.dropout"])
        widths = json.loads(meta["icnnlab.classifier.widths"])
        classifier, fan_in = [], c * h * w
        for width in widths[:-1]:
            if meta["icnnlab.classifier.dropout_place"] == "before":
                classifier += [nn.Dropout(p), nn.Linear(fan_in, width), nn.ReLU()]
            else:
                classifier += [nn.Linear(fan_in, width), nn.ReLU(), nn.Dropout(p)]
            fan_in = width
        classifier.append(nn.Linear(fan_in, widths[-1]))
        self.classifier = nn.Sequential(*classifier)

    def mask(self, x):
        """The paper's mask: the template centred on each filter's argmax,
        tau * max(1 - beta * distance, -1), multiplied in, then ReLU."""
        if self.template == "none":
            return x
        b, c, h, w = x.shape
        pos = x.reshape(b, c, h * w).argmax(2)
        mi = torch.div(pos, w, rounding_mode="floor")[..., None, None].to(x.dtype)
        mj = (pos % w)[..., None, None].to(x.dtype)
        di = (torch.arange(h, dtype=x.dtype).view(h, 1) - mi) / h
        dj = (torch.arange(w, dtype=x.dtype).view(1, w) - mj) / w
        dist = di.abs() + dj.abs() if self.template == "l1" else torch.sqrt(di * di + dj * dj)
        return torch.relu(x * self.tau * torch.clamp(1 - self.beta * dist, min=-1))

    def forward(self, x):
        x = self.features[: self.top + 1](x)
        if self.interpretable:
            x = self.mask(torch.relu(self.interp(self.mask(x))))
        x = self.features[self.top + 1:](x)
        return self.classifier(torch.flatten(x, 1))
