#!/usr/bin/env bash
# Time the small64 workload with icnnlab and with PyTorch on this machine, in
# one go, at the same thread counts, and print images/s and the ratio
# icnnlab / PyTorch (above 1: icnnlab is faster).
#
#   bash bench/compare.sh                     # threads 1 and 2, gorgonia backend
#   THREADS="1 2 4" STEPS=50 bash bench/compare.sh
#   BACKEND=gorgonia BATCH=32 WARMUP=3 bash bench/compare.sh
#
# Needs Go (to build icnnlab) and Debian's python3-torch for /usr/bin/python3.
# The raw JSON of every run is kept in $OUT_DIR (default: a temporary folder).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads_list="${THREADS:-1 2}"
steps="${STEPS:-20}"
warmup="${WARMUP:-3}"
batch="${BATCH:-32}"
backend="${BACKEND:-gorgonia}"
python="${PYTHON:-/usr/bin/python3}"
out_dir="${OUT_DIR:-$(mktemp -d)}"
mkdir -p "$out_dir"

bin="$out_dir/icnnlab"
(cd "$repo" && go build -o "$bin" ./cmd/icnnlab)

for t in $threads_list; do
	echo "threads=$t: icnnlab ($backend) ..." >&2
	"$bin" bench --backend "$backend" --workload small64 --device cpu --threads "$t" \
		--batch "$batch" --warmup "$warmup" --steps "$steps" --json >"$out_dir/icnnlab-t$t.json"
	echo "threads=$t: pytorch ..." >&2
	"$python" "$repo/bench/pytorch_small64.py" --threads "$t" \
		--batch "$batch" --warmup "$warmup" --steps "$steps" >"$out_dir/pytorch-t$t.json"
done

"$python" - "$out_dir" $threads_list <<'PY'
import json, os, sys

out_dir, threads = sys.argv[1], sys.argv[2:]
rows = []
for t in threads:
    ours = json.load(open(os.path.join(out_dir, f"icnnlab-t{t}.json")))
    torch = json.load(open(os.path.join(out_dir, f"pytorch-t{t}.json")))
    rows.append((t, ours, torch))

print(f"small64, batch {rows[0][1]['batch']}, {rows[0][1]['steps']} timed steps after {rows[0][1]['warmup']} warm-up")
print(f"icnnlab: {rows[0][1]['backend']}: {rows[0][1]['backend_description']}")
print(f"pytorch: {rows[0][2]['backend_description']}")
print()
header = f"{'threads':>7}  {'icnnlab img/s':>13}  {'pytorch img/s':>13}  {'ratio':>6}  {'icnnlab ms/step (median)':>24}  {'pytorch ms/step (median)':>24}  {'icnnlab RSS MiB':>15}  {'pytorch RSS MiB':>15}"
print(header)
for t, ours, torch in rows:
    ratio = ours["images_per_sec"] / torch["images_per_sec"]
    rss = lambda r: "n/a" if r["peak_rss_mib"] is None else f"{r['peak_rss_mib']:.0f}"
    print(f"{t:>7}  {ours['images_per_sec']:>13.1f}  {torch['images_per_sec']:>13.1f}  {ratio:>6.3f}  "
          f"{ours['ms_per_step']['median']:>24.1f}  {torch['ms_per_step']['median']:>24.1f}  "
          f"{rss(ours):>15}  {rss(torch):>15}")
print()
print(f"raw JSON: {out_dir}")
PY
