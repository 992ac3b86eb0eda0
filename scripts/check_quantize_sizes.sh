#!/usr/bin/env bash
# check_quantize_sizes.sh — the big `wick quantize` check (too big for ctest): a random-weight
# F16 model at TinyLlama-1.1B shape is quantized to Q4_K_M, Q4_0 and Q8_0, and each file must
# be within 1% of the size llama.cpp's quantizer writes for the same model; sizes and times
# are printed. Outputs stay in DIR for benchmarks unless --clean is given.
# usage: scripts/check_quantize_sizes.sh [DIR (default /tmp/wick-1.1b)] [--clean]
#   env: WICK (default build/bin/wick), THREADS (default 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=/tmp/wick-1.1b
clean=0
for a in "$@"; do
  case $a in
    --clean) clean=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) dir=$a ;;
  esac
done
wick=${WICK:-$root/build/bin/wick}
threads=${THREADS:-2}
[ -x "$wick" ] || { echo "check_quantize_sizes: no wick binary at $wick (set WICK=...)" >&2; exit 1; }
mkdir -p "$dir"
f16=$dir/tinyllama-1.1b-random-F16.gguf
if [ ! -f "$f16" ]; then
  echo "generating $f16 (random weights, 2.2 GB)"
  python3 "$root/../shared/scripts/make_random_llama.py" --preset tinyllama-1.1b --dtype f16 --out "$f16"
fi

# llama.cpp's sizes for this model, in bytes (llama-quantize of the same random F16 file)
status=0
for pair in Q4_K_M:668600960 Q4_0:636725888 Q8_0:1169808000; do
  type=${pair%%:*} want=${pair#*:}
  out=$dir/tinyllama-1.1b-random-$type.gguf
  t0=$(date +%s.%N)
  "$wick" quantize "$f16" "$out" "$type" --threads "$threads" > "$dir/quantize-$type.log"
  t1=$(date +%s.%N)
  got=$(stat -c %s "$out")
  verdict=$(python3 -c "g,w=$got,$want; d=(g-w)/w*100; print(f'{d:+.3f}% ' + ('ok' if abs(d) <= 1 else 'FAIL'))")
  printf '%-7s %13d bytes  llama.cpp %13d  %s  %6.1f s (%s threads)\n' "$type" "$got" "$want" "$verdict" \
    "$(echo "$t1 - $t0" | bc)" "$threads"
  case $verdict in *FAIL) status=1 ;; esac
  if [ $clean = 1 ]; then rm -f "$out"; fi
done
exit $status
