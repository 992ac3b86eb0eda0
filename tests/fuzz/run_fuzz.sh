#!/bin/sh
# run_fuzz.sh SECONDS — builds the GGUF and safetensors libFuzzer targets with ASan+UBSan and
# fuzzes them for SECONDS in all (default 60: two thirds GGUF, seeded from the shared GGUF
# files and tests/fuzz/corpus_gguf; a third safetensors, seeded from tests/fuzz/corpus_safetensors). New
# inputs go to a scratch corpus under build-fuzz/ (never the repo); crashes to
# build-fuzz/artifacts/. Exits non-zero on a finding. Extra arguments go to libFuzzer.
set -eu
secs=${1:-60}
[ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build-fuzz
shared=${WICK_SHARED_DATA:-$root/../shared/data}
mkdir -p "$out/corpus" "$out/corpus_st" "$out/artifacts"
# clang and its libFuzzer runtime (Debian 12: clang-14)
if command -v dpkg >/dev/null 2>&1 && ! { command -v clang >/dev/null 2>&1 && dpkg -s libclang-rt-14-dev >/dev/null 2>&1; }; then
    echo "run_fuzz: installing clang libclang-rt-14-dev"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
fi
clang -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1 -std=gnu11 \
    -I"$root/gguf" "$root"/gguf/gguf_common.c "$root"/gguf/gguf_read.c "$root"/gguf/gguf_write.c \
    "$root/tests/fuzz/fuzz_gguf.c" -o "$out/fuzz_gguf"
seeds="$root/tests/fuzz/corpus_gguf"
for d in "$shared/models" "$shared/vocab"; do
    [ -d "$d" ] && seeds="$seeds $d"
done
st_secs=$((secs / 3))
[ "$st_secs" -lt 1 ] && st_secs=1
gg_secs=$((secs - st_secs))
[ "$gg_secs" -lt 1 ] && gg_secs=1
echo "fuzzing GGUF for ${gg_secs}s; scratch corpus $out/corpus; seeds: $seeds"
# shellcheck disable=SC2086
"$out/fuzz_gguf" -max_total_time="$gg_secs" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/" "$@" "$out/corpus" $seeds
# safetensors: the reader/writer and cJSON (Debian libcjson-dev)
clang -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1 -std=gnu11 \
    -I"$root/src/convert" -I/usr/include/cjson "$root/src/convert/safetensors.c" \
    "$root/tests/fuzz/fuzz_safetensors.c" -lcjson -lm -o "$out/fuzz_safetensors"
echo "fuzzing safetensors for ${st_secs}s; scratch corpus $out/corpus_st"
"$out/fuzz_safetensors" -max_total_time="$st_secs" -rss_limit_mb=2048 -timeout=10 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/st-" "$@" "$out/corpus_st" "$root/tests/fuzz/corpus_safetensors"
