# Sourced by `npm start` before it runs node (and read by the fuzz and bench launchers,
# tools/bench/lib/start-command.mjs): jemalloc instead of glibc's malloc, when the machine
# has it (Debian/Ubuntu: apt-get install libjemalloc2). AXON_JEMALLOC=0 keeps glibc's.
#
# Why: glibc keeps what a burst of requests freed in its heaps; 100,000 fuzzed requests
# left the idle server 12.7% above its cold start (tools/fuzz/README.md), its main heap
# alone 12.5 -> 21.5 MB, and neither MALLOC_ARENA_MAX nor the trim threshold brought it
# back. jemalloc with a background thread returning dirty pages after a second ended 8.3%
# and 8.9% above the cold start in two runs of the same 100,000 requests. Without the decay
# settings jemalloc holds freed pages as long as glibc (8.5% only because its cold start was
# 8 MB higher). The Docker image sets the same (deploy/docker/Dockerfile).
if [ "${AXON_JEMALLOC:-1}" != "0" ]; then
  for axon_jemalloc in "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2; do
    if [ -e "$axon_jemalloc" ]; then
      LD_PRELOAD="$axon_jemalloc${LD_PRELOAD:+:$LD_PRELOAD}"
      MALLOC_CONF="${MALLOC_CONF:-background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:1000}"
      export LD_PRELOAD MALLOC_CONF
      break
    fi
  done
  unset axon_jemalloc
fi
