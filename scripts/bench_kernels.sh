#!/usr/bin/env bash
# bench_kernels.sh — the quantized matmul kernels per type and ISA, through `wick bench
# matmul`: decode (one activation row, M=16384 x K=4096: weights stream from DRAM, GB/s of
# weight bytes) and prompt (M=2048 x N=512 x K=2048, GOP/s), medians of -r runs, 2 threads.
# Usage: scripts/bench_kernels.sh [WICK] [THREADS] [REPS]
set -euo pipefail
wick=${1:-build/bin/wick}
t=${2:-2}
r=${3:-5}
types="q4_0 q4_1 q5_0 q5_1 q8_0 q2_K q3_K q4_K q5_K q6_K iq4_nl iq4_xs f16 bf16 f32"
printf "%-7s %-7s %12s %12s\n" type isa "decode GB/s" "prompt GOP/s"
for ty in $types; do
  for isa in scalar avx2 avx512 neon; do
    dec=$("$wick" bench matmul --type "$ty" -M 16384 -N 1 -K 4096 -r "$r" -t "$t" --isa "$isa" 2>/dev/null | grep -v "n/a" | grep -o '[0-9.]* GB/s' | head -1 | cut -d' ' -f1 || true)
    [ -z "$dec" ] && continue
    pro=$("$wick" bench matmul --type "$ty" -M 2048 -N 512 -K 2048 -r "$r" -t "$t" --isa "$isa" 2>/dev/null | grep -v "n/a" | awk '{for (i=1;i<=NF;i++) if ($i ~ /^G(FL)?OP\/s$/) {print $(i-1); exit}}')
    printf "%-7s %-7s %12s %12s\n" "$ty" "$isa" "$dec" "$pro"
  done
done
