#!/usr/bin/env bash
# The one-script GPU check of the libtorch backend, for a machine with a GPU,
# g++ and PyTorch (with CUDA) but no Go. Build the Go parts first, on a
# machine with Go, and carry bin/ along:
#
#   go build -o bin/icnnlab ./cmd/icnnlab
#   go test -c -o bin/libtorch.test ./backends/libtorch
#
# then, on the GPU machine, from the repository root:
#
#   bash bench/gpu.sh                 # OUT=dir keeps the logs there
#   STEPS=20 BATCH=32 bash bench/gpu.sh
#
# It (1) builds the shim with backends/libtorch/csrc/build.sh against
# python3's torch, (2) runs the conformance suite on CUDA through the test
# binary (ICNNLAB_TEST_DEVICE=cuda), (3) times vgg16-224 training steps with
# `icnnlab bench --backend libtorch --device cuda` and (4) with the same
# network in PyTorch, and prints one JSON object with every result. Float32
# throughout, TF32 off on both sides (the conformance tolerances need exact
# float32; ICNNLAB_LIBTORCH_TF32=1 and TF32=1 turn it on for both).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
python="${PYTHON:-python3}"
batch="${BATCH:-32}"
warmup="${WARMUP:-3}"
steps="${STEPS:-10}"
tf32="${TF32:-0}"
export ICNNLAB_LIBTORCH_TF32="$tf32"

for f in bin/icnnlab bin/libtorch.test; do
	[[ -x "$f" ]] || {
		echo "gpu.sh: $f is missing; build it on a machine with Go (see the top of this script)" >&2
		exit 2
	}
done

# 1. The shim.
shim="$out/libicnnlab_torch.so"
start=$SECONDS
bash backends/libtorch/csrc/build.sh "$shim" 2>"$out/build.log"
build_rc=$?
build_s=$((SECONDS - start))
cat "$out/build.log" >&2
export ICNNLAB_LIBTORCH_SHIM="$shim"

# 2. The conformance suite on CUDA (and the CPU parity test with gorgonia).
conf_rc=-1
if [[ $build_rc -eq 0 ]]; then
	ICNNLAB_TEST_DEVICE=cuda CI=1 timeout 300 bin/libtorch.test -test.v -test.count=1 \
		-test.run 'TestConformance|TestParity' >"$out/conformance.log" 2>&1
	conf_rc=$?
	tail -5 "$out/conformance.log" >&2
fi

# 3. icnnlab on CUDA.
bench_rc=-1
if [[ $build_rc -eq 0 ]]; then
	timeout 300 bin/icnnlab bench --backend libtorch --device cuda --workload vgg16-224 --interpretable=false \
		--batch "$batch" --warmup "$warmup" --steps "$steps" --json >"$out/icnnlab-vgg16.json" 2>"$out/icnnlab-vgg16.log"
	bench_rc=$?
fi

# 4. The PyTorch peer: the same VGG-16 at 224 (conv stack, FC 4096-4096-1,
# dropout 0.5, mean logistic loss), SGD momentum 0.9, learning rate 0.01.
timeout 300 "$python" - "$batch" "$warmup" "$steps" "$tf32" >"$out/pytorch-vgg16.json" 2>"$out/pytorch-vgg16.log" <<'PY'
import json, statistics, sys, time
import torch
from torch import nn

batch, warmup, steps, tf32 = (int(a) for a in sys.argv[1:5])
torch.backends.cudnn.allow_tf32 = bool(tf32)
torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
torch.manual_seed(1)
cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
layers, c = [], 3
for v in cfg:
    if v == "M":
        layers.append(nn.MaxPool2d(2))
    else:
        layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
        c = v
net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(0.5),
                    nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, 1)).cuda()
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(batch, 3, 224, 224, device="cuda")
y = torch.randint(0, 2, (batch, 1), device="cuda").float()
times = []
for i in range(warmup + steps):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.binary_cross_entropy_with_logits(net(x), y)
    loss.backward()
    opt.step()
    loss.item()  # waits for the GPU, as icnnlab's step does when it returns the loss
    if i >= warmup:
        times.append(time.perf_counter() - t0)
print(json.dumps({"workload": "vgg16-224", "batch": batch, "steps": steps, "warmup": warmup,
                  "images_per_sec": batch * len(times) / sum(times),
                  "ms_per_step": {"median": 1000 * statistics.median(times)},
                  "backend_description": f"PyTorch {torch.__version__} CUDA {torch.version.cuda} on {torch.cuda.get_device_name()}"}))
PY
peer_rc=$?

"$python" - "$out" "$build_rc" "$build_s" "$conf_rc" "$bench_rc" "$peer_rc" <<'PY'
import json, os, re, sys
out, build_rc, build_s, conf_rc, bench_rc, peer_rc = sys.argv[1], *map(int, sys.argv[2:])

def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except Exception as e:
        return {"error": str(e)}

log = open(os.path.join(out, "conformance.log")).read() if os.path.exists(os.path.join(out, "conformance.log")) else ""
ours, peer = load("icnnlab-vgg16.json"), load("pytorch-vgg16.json")
result = {
    "shim_build": {"rc": build_rc, "seconds": build_s},
    "conformance_cuda": {"rc": conf_rc, "passed": len(re.findall(r"--- PASS", log)), "failed": len(re.findall(r"--- FAIL", log)),
                          "skipped": len(re.findall(r"--- SKIP", log)),
                          "failures": re.findall(r"--- FAIL: (\S+)", log)[:20]},
    "bench_vgg16_224": {"rc": bench_rc, "peer_rc": peer_rc,
                         "icnnlab_images_per_sec": ours.get("images_per_sec"), "pytorch_images_per_sec": peer.get("images_per_sec"),
                         "icnnlab": ours.get("backend_description", ours.get("error")), "pytorch": peer.get("backend_description", peer.get("error"))},
    "logs": out,
}
if ours.get("images_per_sec") and peer.get("images_per_sec"):
    result["bench_vgg16_224"]["ratio"] = ours["images_per_sec"] / peer["images_per_sec"]
print(json.dumps(result, indent=1))
PY
