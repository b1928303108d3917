#!/usr/bin/env bash
# The one-script GPU check of the libtorch backend, for a machine with a GPU,
# g++ and PyTorch (with CUDA) but no Go. Build the Go parts first, on a
# machine with Go, stripped so that they and the tree fit a 64 MiB carry,
# and carry bin/ along:
#
#   go build -ldflags='-s -w' -o bin/icnnlab ./cmd/icnnlab
#   go test -c -ldflags='-s -w' -o bin/libtorch.test ./backends/libtorch
#
# then, on the GPU machine, from the repository root:
#
#   bash bench/gpu.sh                 # OUT=dir keeps the logs there
#   STEPS=50 WARMUP=10 BATCH=32 BUDGET=540 bash bench/gpu.sh
#
# It (1) builds the shim with backends/libtorch/csrc/build.sh (which takes
# python3's torch when it has CUDA, and says which torch it used), (2) runs
# the conformance suite and the small64 parity test against the gorgonia
# backend on the CPU with libtorch on CUDA (ICNNLAB_TEST_DEVICE=cuda), then
# (3) times vgg16-224 training steps with `icnnlab bench --backend libtorch
# --device cuda` and with the same network in PyTorch eager, alternating, in
# four variants: float32, float32 channels-last, bf16 autocast, bf16
# autocast channels-last. It prints one JSON object with every result and
# each command's time.
#
# Everything runs inside one BUDGET (seconds, default 540, under a 600 s
# command limit): each command gets its own timeout, and a timing that
# would start with too little budget left is recorded as skipped rather
# than cut off mid-run. TF32 is off on both sides unless TF32=1 (the
# conformance tolerances need exact float32); cuDNN autotuning
# (cudnn.benchmark) is on for both unless CUDNN_BENCHMARK=0.
#
# What differs between the two sides: icnnlab uploads the image batch
# every step (pinned, asynchronous), as a training loop must; the PyTorch
# peer keeps one batch on the GPU. Both wait for the GPU at the end of
# every step (icnnlab synchronises; the peer reads the loss).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
python="${PYTHON:-python3}"
batch="${BATCH:-32}"
warmup="${WARMUP:-10}"
steps="${STEPS:-30}"
budget="${BUDGET:-540}"
tf32="${TF32:-0}"
cudnn_benchmark="${CUDNN_BENCHMARK:-1}"
export ICNNLAB_LIBTORCH_TF32="$tf32" ICNNLAB_LIBTORCH_CUDNN_BENCHMARK="$cudnn_benchmark"

for f in bin/icnnlab bin/libtorch.test; do
	[[ -x "$f" ]] || {
		echo "gpu.sh: $f is missing; build it on a machine with Go (see the top of this script)" >&2
		exit 2
	}
done

start_all=$SECONDS
# timed NAME LIMIT CMD...: runs CMD with a timeout of LIMIT seconds (or
# what is left of the budget, if less) and appends NAME rc seconds to
# $out/commands.tsv; a command with under 20 s left is skipped (rc -2).
timed() {
	local name="$1" limit="$2"
	shift 2
	local left=$((budget - (SECONDS - start_all)))
	if ((left < 20)); then
		printf '%s\t-2\t0\n' "$name" >>"$out/commands.tsv"
		echo "gpu.sh: $name skipped, ${left}s of the ${budget}s budget left" >&2
		return 254
	fi
	((limit > left)) && limit=$left
	local t0=$SECONDS rc
	timeout "$limit" "$@"
	rc=$?
	printf '%s\t%d\t%d\n' "$name" "$rc" $((SECONDS - t0)) >>"$out/commands.tsv"
	return $rc
}
: >"$out/commands.tsv"

# 1. The shim.
shim="$out/libicnnlab_torch.so"
timed shim_build 240 bash backends/libtorch/csrc/build.sh "$shim" 2>"$out/build.log"
build_rc=$?
cat "$out/build.log" >&2
export ICNNLAB_LIBTORCH_SHIM="$shim"

# 2. The conformance suite and CPU↔CUDA parity on small64.
if [[ $build_rc -eq 0 ]]; then
	ICNNLAB_TEST_DEVICE=cuda CI=1 timed conformance 120 bin/libtorch.test -test.v -test.count=1 \
		-test.run 'TestConformance|TestParity' >"$out/conformance.log" 2>&1
	tail -5 "$out/conformance.log" >&2
fi

# 3. The PyTorch peer: the same VGG-16 at 224 (conv stack, FC 4096-4096-1,
# dropout 0.5, mean logistic loss), SGD momentum 0.9, learning rate 0.01.
cat >"$out/peer.py" <<'PY'
import json, statistics, sys, time
import torch
from torch import nn

batch, warmup, steps, tf32, bench = (int(a) for a in sys.argv[1:6])
autocast, channels_last = sys.argv[6], sys.argv[7] == "1"
torch.backends.cudnn.allow_tf32 = bool(tf32)
torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
torch.backends.cudnn.benchmark = bool(bench)
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
x = torch.randn(batch, 3, 224, 224, device="cuda")
if channels_last:
    net = net.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
y = torch.randint(0, 2, (batch, 1), device="cuda").float()
times = []
for i in range(warmup + steps):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast == "bf16"):
        loss = nn.functional.binary_cross_entropy_with_logits(net(x).float(), y)
    loss.backward()
    opt.step()
    loss.item()  # waits for the GPU, as icnnlab's step does before it returns
    if i >= warmup:
        times.append(time.perf_counter() - t0)
print(json.dumps({"workload": "vgg16-224", "batch": batch, "steps": steps, "warmup": warmup,
                  "autocast": autocast, "channels_last": channels_last,
                  "images_per_sec": batch * len(times) / sum(times),
                  "ms_per_step": {"median": 1000 * statistics.median(times)},
                  "backend_description": f"PyTorch {torch.__version__} CUDA {torch.version.cuda} on {torch.cuda.get_device_name()}"}))
PY

# 4. The timings, alternating icnnlab and PyTorch per variant.
variants=(fp32 fp32-cl bf16 bf16-cl)
for v in "${variants[@]}"; do
	autocast="" cl=0 flags=()
	[[ $v == bf16* ]] && autocast=bf16 flags+=(--autocast bf16)
	[[ $v == *-cl ]] && cl=1 flags+=(--channels-last)
	if [[ $build_rc -eq 0 ]]; then
		timed "icnnlab_$v" 90 bin/icnnlab bench --backend libtorch --device cuda --workload vgg16-224 --interpretable=false \
			--batch "$batch" --warmup "$warmup" --steps "$steps" "${flags[@]}" --json >"$out/icnnlab-$v.json" 2>"$out/icnnlab-$v.log"
	fi
	timed "pytorch_$v" 90 "$python" "$out/peer.py" "$batch" "$warmup" "$steps" "$tf32" "$cudnn_benchmark" "${autocast:-none}" "$cl" \
		>"$out/pytorch-$v.json" 2>"$out/pytorch-$v.log"
done

"$python" - "$out" "$build_rc" "${variants[@]}" <<'PY'
import json, os, re, sys
out, build_rc, variants = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except Exception as e:
        return {"error": str(e)}

def read(name):
    path = os.path.join(out, name)
    return open(path).read() if os.path.exists(path) else ""

commands = {}
for line in read("commands.tsv").splitlines():
    name, rc, secs = line.split("\t")
    commands[name] = {"rc": int(rc), "seconds": int(secs)}
build_log, log = read("build.log"), read("conformance.log")
torch_line = re.search(r"icnnlab-libtorch: (libtorch .*)", build_log)
cuda_line = re.search(r"CUDA libraries: (\w+)", build_log)
result = {
    "shim_build": {"rc": build_rc, "torch": torch_line.group(1) if torch_line else None,
                   "cuda_libraries": cuda_line.group(1) if cuda_line else None},
    "conformance_cuda": {"passed": len(re.findall(r"--- PASS", log)), "failed": len(re.findall(r"--- FAIL", log)),
                         "skipped": len(re.findall(r"--- SKIP", log)),
                         "parity_small64": "pass" if "--- PASS: TestParityWithGorgoniaOnSmall64" in log
                         else "FAIL" if "--- FAIL: TestParityWithGorgoniaOnSmall64" in log else "not run",
                         "failures": re.findall(r"--- FAIL: (\S+)", log)[:20]},
    "bench_vgg16_224": {},
    "commands": commands,
    "logs": out,
}
for v in variants:
    ours, peer = load(f"icnnlab-{v}.json"), load(f"pytorch-{v}.json")
    row = {"icnnlab_images_per_sec": ours.get("images_per_sec"), "pytorch_images_per_sec": peer.get("images_per_sec"),
           "icnnlab": ours.get("backend_description", ours.get("error")), "pytorch": peer.get("backend_description", peer.get("error"))}
    if ours.get("images_per_sec") and peer.get("images_per_sec"):
        row["ratio"] = ours["images_per_sec"] / peer["images_per_sec"]
    result["bench_vgg16_224"][v] = row
print(json.dumps(result, indent=1))
PY
