#!/usr/bin/env bash
# Time a benchmark workload with icnnlab and with PyTorch on this machine, in
# one go, at the same thread counts, and print images/s and the ratio
# icnnlab / PyTorch (above 1: icnnlab is faster).
#
#   bash bench/compare.sh                     # small64, threads 1 and 2, gorgonia backend
#   WORKLOAD=vggm-112 bash bench/compare.sh   # the default reproduction scale's network
#   THREADS="1 2 4" STEPS=50 bash bench/compare.sh
#   BACKEND=gorgonia BATCH=32 WARMUP=3 bash bench/compare.sh
#   ROUNDS=3 bash bench/compare.sh            # alternate 3 times, keep each side's best
#   INTERPRETABLE=false bash bench/compare.sh # the ordinary network (default: masks + -MI loss)
#
# On a shared or busy machine use ROUNDS > 1: the two sides alternate, and
# the fastest round of each (highest images/s) is reported, which is the
# figure least disturbed by other load, with two ratios: best over best, and
# the median over rounds of each round's ratio (the two runs of a round are
# seconds apart, so they see about the same load); each round's ratio is
# printed too.
# The two networks must have the same number of trainable values, or the
# script stops. The step-time spread (p90 / median) of each side is printed
# beside its figures, and so is the CPU time (user + system, all threads)
# per step of the best round, with the CPU-time ratio PyTorch / icnnlab
# (above 1: icnnlab needs less CPU). On a heavily shared machine the CPU
# time moves much less than the wall time; at one thread it is the fairer
# comparison. Last comes the strictest ratio: PyTorch's fastest single step
# in any round over icnnlab's best-round median step (above 1: icnnlab's
# typical step beats PyTorch's best case).
# Needs Go (to build icnnlab) and Debian's python3-torch for /usr/bin/python3.
# The raw JSON of every run is kept in $OUT_DIR (default: a temporary folder).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
workload="${WORKLOAD:-small64}"
threads_list="${THREADS:-1 2}"
steps="${STEPS:-20}"
warmup="${WARMUP:-3}"
batch="${BATCH:-32}"
rounds="${ROUNDS:-1}"
backend="${BACKEND:-gorgonia}"
interpretable="${INTERPRETABLE:-true}"
python="${PYTHON:-/usr/bin/python3}"
out_dir="${OUT_DIR:-$(mktemp -d)}"
mkdir -p "$out_dir"

load_before="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
bin="$out_dir/icnnlab"
(cd "$repo" && go build -o "$bin" ./cmd/icnnlab)

for r in $(seq 1 "$rounds"); do
	for t in $threads_list; do
		echo "round $r, threads=$t: icnnlab ($backend) ..." >&2
		# The same pin for the libtorch backend, whose at::set_num_threads
		# leaves the same pool (gorgonia does not read it).
		OMP_NUM_THREADS="$t" MKL_NUM_THREADS="$t" "$bin" bench --backend "$backend" --workload "$workload" --device cpu --threads "$t" \
			--batch "$batch" --warmup "$warmup" --steps "$steps" --interpretable "$interpretable" --json >"$out_dir/icnnlab-t$t-r$r.json"
		echo "round $r, threads=$t: pytorch ..." >&2
		# torch.set_num_threads alone left an OpenMP pool of all cores in
		# some ops (CPU time twice the wall time at --threads 1, measured
		# 2026-12-06): pin the pool so that t threads means t cores.
		OMP_NUM_THREADS="$t" MKL_NUM_THREADS="$t" "$python" "$repo/bench/pytorch_peer.py" --workload "$workload" --threads "$t" \
			--batch "$batch" --warmup "$warmup" --steps "$steps" --interpretable "$interpretable" >"$out_dir/pytorch-t$t-r$r.json"
	done
done

echo "load average (1, 5, 15 min) before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(date -u +%Y-%m-%dT%H:%MZ)"
"$python" - "$out_dir" "$rounds" $threads_list <<'PY'
import json, os, sys

out_dir, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3:]


def load(side, t):
    return [json.load(open(os.path.join(out_dir, f"{side}-t{t}-r{r}.json"))) for r in range(1, rounds + 1)]


def best(side, t):
    return max(load(side, t), key=lambda run: run["images_per_sec"])


def round_ratios(t):
    return [o["images_per_sec"] / p["images_per_sec"] for o, p in zip(load("icnnlab", t), load("pytorch", t))]


def round_ratio(t):
    ratios = sorted(round_ratios(t))
    mid = len(ratios) // 2
    return ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2


def cpu(run):
    return run.get("cpu_ms_per_step") or float("nan")


def spread(run):
    return run["ms_per_step"]["p90"] / run["ms_per_step"]["median"]


rows = [(t, best("icnnlab", t), best("pytorch", t)) for t in threads]
for t, ours, torch in rows:
    if ours.get("params") != torch.get("params"):
        sys.exit(f"{ours['workload']}: icnnlab's network has {ours.get('params')} trainable values, "
                 f"PyTorch's {torch.get('params')}: not the same network")

print(f"{rows[0][1]['workload']} ({rows[0][1]['params']} trainable values, "
      + ("interpretable" if rows[0][1]["interpretable"] else "ordinary") + f"), batch {rows[0][1]['batch']}, {rows[0][1]['steps']} timed steps after {rows[0][1]['warmup']} warm-up"
      + (f", best of {rounds} alternating rounds" if rounds > 1 else ""))
print(f"icnnlab: {rows[0][1]['backend']}: {rows[0][1]['backend_description']}")
print(f"pytorch: {rows[0][2]['backend_description']}")
print()
header = f"{'threads':>7}  {'icnnlab img/s':>13}  {'pytorch img/s':>13}  {'ratio':>6}  {'ratio (median of rounds)':>24}  {'icnnlab ms/step (median)':>24}  {'pytorch ms/step (median)':>24}  {'icnnlab RSS MiB':>15}  {'pytorch RSS MiB':>15}  {'icnnlab p90/median':>18}  {'pytorch p90/median':>18}  {'icnnlab Go MiB alloc/step':>25}  {'icnnlab CPU ms/step':>19}  {'pytorch CPU ms/step':>19}  {'CPU-time ratio':>14}"
print(header)
for t, ours, torch in rows:
    ratio = ours["images_per_sec"] / torch["images_per_sec"]
    rss = lambda r: "n/a" if r["peak_rss_mib"] is None else f"{r['peak_rss_mib']:.0f}"
    print(f"{t:>7}  {ours['images_per_sec']:>13.1f}  {torch['images_per_sec']:>13.1f}  {ratio:>6.3f}  {round_ratio(t):>24.3f}  "
          f"{ours['ms_per_step']['median']:>24.1f}  {torch['ms_per_step']['median']:>24.1f}  "
          f"{rss(ours):>15}  {rss(torch):>15}  {spread(ours):>18.2f}  {spread(torch):>18.2f}  {ours['go_alloc_mib_per_step']:>25.2f}  "
          f"{cpu(ours):>19.1f}  {cpu(torch):>19.1f}  {cpu(torch) / cpu(ours):>14.3f}")
print()
for t, _, _ in rows:
    print(f"threads {t}: per-round ratios (round order): " + ", ".join(f"{r:.2f}" for r in round_ratios(t)))
print()
# The strictest reading: icnnlab's best-round median step against the single
# fastest step PyTorch took in any round. PyTorch's step time spreads widely
# on this machine (p90/median up to 2.5), so its medians move from run to
# run; above 1 here, icnnlab's typical step beats PyTorch's best case.
for t, ours, _ in rows:
    fastest = min(run["ms_per_step"]["min"] for run in load("pytorch", t))
    print(f"threads {t}: PyTorch's fastest step {fastest:.1f} ms / icnnlab's median step {ours['ms_per_step']['median']:.1f} ms "
          f"= {fastest / ours['ms_per_step']['median']:.2f}")
print()
print(f"raw JSON: {out_dir}")
PY
