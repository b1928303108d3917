#!/usr/bin/env bash
# Build libicnnlab_torch.so, the C shim the libtorch backend loads at run
# time, with g++ against an installed libtorch. Needs only bash, g++ and
# libtorch (no Go), so it also runs on machines that only carry the Go binary.
#
#   bash backends/libtorch/csrc/build.sh            # writes to the default location
#   bash backends/libtorch/csrc/build.sh OUT.so     # writes OUT.so
#   bash backends/libtorch/csrc/build.sh --print-default   # prints the default location
#
# libtorch is looked for, in order:
#   1. LIBTORCH=/path   a directory with include/ and lib/ (an unpacked
#                       libtorch zip or a PyTorch package directory);
#   2. the torch package of $PYTHON, python3 or /usr/bin/python3 when it
#      was built with CUDA (torch/include and torch/lib), so that a GPU
#      machine that also has Debian's CPU-only libtorch-dev gets CUDA;
#   3. Debian's libtorch-dev (/usr/include/torch, /usr/lib/<multiarch>);
#   4. the torch package of those pythons without CUDA.
# It says which it used, its version and whether it has CUDA.
#
# The default output is $ICNNLAB_LIBTORCH_SHIM when set, otherwise
#   ${XDG_CACHE_HOME:-$HOME/.cache}/icnnlab/libtorch/<torch version>-<source hash>/libicnnlab_torch.so
# where the source hash is the first 12 hex digits of the SHA-256 of this
# directory's files (build.sh, icnn_torch.cpp, icnn_torch.h, in that order):
# the Go backend computes the same hash from the sources compiled into it and
# so only loads a shim built from exactly those sources.
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cxx="${CXX:-g++}"

say() { echo "icnnlab-libtorch: $*" >&2; }
fail() {
	say "error: $*"
	exit 1
}

source_hash() {
	(cd "$src" && cat build.sh icnn_torch.cpp icnn_torch.h) | sha256sum | cut -c1-12
}

# find_libtorch sets inc (the include dir holding torch/ and ATen/), lib,
# origin (a description) and python_abi (the CXX11 ABI flag, when known).
inc="" lib="" origin="" python_abi=""
find_libtorch() {
	if [[ -n "${LIBTORCH:-}" ]]; then
		[[ -d "$LIBTORCH/include/torch/csrc/api/include" ]] || fail "LIBTORCH=$LIBTORCH has no include/torch/csrc/api/include"
		[[ -e "$LIBTORCH/lib/libtorch.so" ]] || fail "LIBTORCH=$LIBTORCH has no lib/libtorch.so"
		inc="$LIBTORCH/include" lib="$LIBTORCH/lib" origin="LIBTORCH=$LIBTORCH"
		return
	fi
	python_torch cuda && return
	local multiarch
	multiarch="$("$cxx" -print-multiarch 2>/dev/null || true)"
	if [[ -d /usr/include/torch/csrc/api/include && -n "$multiarch" && -e "/usr/lib/$multiarch/libtorch.so" ]]; then
		inc=/usr/include lib="/usr/lib/$multiarch" origin="Debian libtorch-dev"
		return
	fi
	python_torch any && return
	fail "no libtorch found: install Debian's libtorch-dev (apt-get install libtorch-dev), install PyTorch for python3, or set LIBTORCH=/path/to/libtorch (a directory with include/ and lib/)"
}

# python_torch cuda|any: the first python whose torch package has headers
# and libraries (with "cuda": only one built with CUDA).
python_torch() {
	local want="$1" py dir cuda_version
	for py in ${PYTHON:-} python3 /usr/bin/python3; do
		command -v "$py" >/dev/null 2>&1 || continue
		dir="$("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)" || continue
		[[ -d "$dir/include/torch/csrc/api/include" && -e "$dir/lib/libtorch.so" ]] || continue
		cuda_version="$("$py" -c 'import torch; print(torch.version.cuda or "")' 2>/dev/null || true)"
		if [[ "$want" == cuda && ( -z "$cuda_version" || ! -e "$dir/lib/libtorch_cuda.so" ) ]]; then
			continue
		fi
		inc="$dir/include" lib="$dir/lib"
		origin="PyTorch $("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null) (CUDA ${cuda_version:-none}) from $py"
		python_abi="$("$py" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || true)"
		return 0
	done
	return 1
}

torch_version() {
	sed -n 's/^#define TORCH_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' "$inc/torch/csrc/api/include/torch/version.h" | paste -sd.
}

default_output() {
	if [[ -n "${ICNNLAB_LIBTORCH_SHIM:-}" ]]; then
		echo "$ICNNLAB_LIBTORCH_SHIM"
		return
	fi
	local cache="${XDG_CACHE_HOME:-$HOME/.cache}"
	echo "$cache/icnnlab/libtorch/$(torch_version)-$(source_hash)/libicnnlab_torch.so"
}

find_libtorch
if [[ "${1:-}" == "--print-default" ]]; then
	default_output
	exit 0
fi
out="${1:-$(default_output)}"

# The shim passes std::string to libtorch, so it must use libtorch's C++ ABI.
abi="$python_abi"
if [[ -z "$abi" ]]; then
	# (grep without -q reads all of nm's output: an early exit would fail the pipe.)
	if nm -D --defined-only "$lib/libc10.so" 2>/dev/null | grep '__cxx11' >/dev/null; then abi=1; else abi=0; fi
fi

libs=(-ltorch -ltorch_cpu -lc10)
cuda="no"
if [[ -e "$lib/libtorch_cuda.so" ]]; then
	# Nothing in the shim names a CUDA symbol, so without --no-as-needed the
	# linker would drop libtorch_cuda and libtorch would find no CUDA device.
	libs=(-Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed "${libs[@]}")
	cuda="yes"
fi

say "libtorch $(torch_version) from $origin"
say "  headers:   $inc"
say "  libraries: $lib (CUDA libraries: $cuda, _GLIBCXX_USE_CXX11_ABI=$abi)"
say "  output:    $out"

mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# /usr/include is already searched; naming it again breaks #include_next.
includes=(-I"$inc/torch/csrc/api/include")
[[ "$inc" == /usr/include ]] || includes=(-I"$inc" "${includes[@]}")
cmd=("$cxx" -std=c++17 -O2 -fPIC -shared -D_GLIBCXX_USE_CXX11_ABI="$abi" "${includes[@]}"
	"$src/icnn_torch.cpp" -o "$tmp"
	-L"$lib" -Wl,-rpath,"$lib" "${libs[@]}")
say "${cmd[*]}"
start=$SECONDS
"${cmd[@]}"
mv -f "$tmp" "$out"
say "built $out in $((SECONDS - start)) s"
