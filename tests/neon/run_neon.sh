#!/usr/bin/env bash
# run_neon.sh — builds tests/neon/test_neon.c with the AArch64 kernels (backends/cpu/arm)
# and the scalar reference for aarch64, then runs it twice under qemu-user: on qemu's
# default CPU (has the int8 dot product: SDOT path) and as a Cortex-A53 (lacks it: plain
# NEON path). A fixed list of sources, not the whole library (which needs host-only
# PCRE2/OpenBLAS). On an arm64 host it builds and runs natively, once.
#   run_neon.sh [SOURCE_DIR [BUILD_DIR]]      (env NEON_CC, NEON_QEMU override the tool names)
# Missing cross compiler or qemu: SKIPPED (exit 0), except with CI=true, where
# scripts/deps.sh should have installed them (exit 1).
set -euo pipefail

src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
out=${2:-$src/build-neon-test}
sysroot=/usr/aarch64-linux-gnu

if [ "$(uname -m)" = aarch64 ] || [ "$(uname -m)" = arm64 ]; then
  cc=${CC:-cc}
  run=()
  runs=("native")
else
  cc=${NEON_CC:-aarch64-linux-gnu-gcc}
  qemu=${NEON_QEMU:-qemu-aarch64-static}
  missing=()
  command -v "$cc" >/dev/null 2>&1 || missing+=("$cc (apt-get install gcc-aarch64-linux-gnu)")
  command -v "$qemu" >/dev/null 2>&1 || missing+=("$qemu (apt-get install qemu-user-static)")
  if ((${#missing[@]})); then
    if [ "${CI:-}" = true ]; then
      echo "FAILED: CI=true but missing: ${missing[*]}; scripts/deps.sh installs them"
      exit 1
    fi
    echo "SKIPPED: missing ${missing[*]}"
    exit 77
  fi
  run=("$qemu" -L "$sysroot")
  runs=("default" "cortex-a53")
fi

# sources and the flags each needs: the reference quantizers and the quantized tiles keep
# f32 operations unfused (-ffp-contract=off, as src/quant and backends/cpu CMake do); only
# the SDOT file gets armv8.2-a+dotprod
plain=(src/core/types.c src/core/error.c backends/cpu/scalar.c backends/cpu/isa.c backends/cpu/arm/neon.c
       tests/neon/test_neon.c)
nofma=(src/quant/quant.c src/quant/legacy.c src/quant/kquants.c backends/cpu/arm/neon_quant.c)
dotprod=(backends/cpu/arm/neon_quant_dotprod.c)
headers=(include/wick.h src/core/*.h src/quant/*.h backends/cpu/*.h backends/cpu/arm/*.h
         backends/cpu/x86/gemm_tile.h tests/testutil.h tests/gemm_check.h)
cflags=(-std=gnu11 -O2 -Wall -Wextra -I"$src" -I"$src/include" -I"$src/src/core" -I"$src/tests")

mkdir -p "$out"
bin=$out/test_neon
cd "$src"
stale=1
if [ -x "$bin" ] && [ -z "$(find "${plain[@]}" "${nofma[@]}" "${dotprod[@]}" "${headers[@]}" tests/neon/run_neon.sh \
      -newer "$bin" 2>/dev/null)" ]; then
  stale=0
fi
if ((stale)); then
  echo "building $bin with $cc"
  start=$SECONDS
  objs=()
  pids=()
  compile() { # file, extra flags...: one object, two at a time (the machine has 2 cores)
    local f=$1 o=$out/$(echo "$1" | tr / _).o
    shift
    objs+=("$o")
    "$cc" "${cflags[@]}" "$@" -c "$f" -o "$o" &
    pids+=($!)
    if ((${#pids[@]} >= 2)); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  }
  # the two slow files first, so they overlap
  compile "${dotprod[0]}" -ffp-contract=off -march=armv8.2-a+dotprod
  for f in "${nofma[@]}"; do compile "$f" -ffp-contract=off; done
  for f in "${plain[@]}"; do compile "$f"; done
  for p in "${pids[@]}"; do wait "$p"; done
  "$cc" -o "$bin" "${objs[@]}" -lm
  echo "built in $((SECONDS - start)) s"
fi

status=0
for cpu in "${runs[@]}"; do
  case $cpu in
    native) echo "== native run"; "$bin" || status=1 ;;
    default) echo "== qemu, default CPU (int8 dot product)"; "${run[@]}" "$bin" --expect dotprod || status=1 ;;
    cortex-a53) echo "== qemu -cpu cortex-a53 (no dot product)"; "${run[@]}" -cpu cortex-a53 "$bin" --expect plain || status=1 ;;
  esac
done
exit $status
