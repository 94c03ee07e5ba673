#!/usr/bin/env bash
# Regenerates image/backstop.order, the function order of the image's release link
# (hack/build-lean.sh says why it matters). Regenerate after large changes: names missing from a
# later binary are ignored by the linker, and new code lands among the cold functions.
#
# 1. The operator benchmark (KubeSim, 300 BackupPolicies, a restart, run-now samples, idle) runs
#    `backstop run` under valgrind's callgrind, as the chart runs it (leader election on, info
#    logs, health probes and metrics scraped); every function of the binary that ran is listed,
#    those that still ran 20 s after the operator was ready first (the steady state, which is
#    what stays resident after `backstop run` pages out its start-up pages), then the others.
# 2. Valgrind runs one thread at a time, so paths taken only under contention (an actor's
#    enqueue, a lock's slow path) never run there. Twice, the ordered binary runs the same
#    benchmark natively while perf records page faults; functions whose first instruction fetch
#    faulted outside the list are added.
#
#   hack/gen-order-file.sh        (needs valgrind; perf for step 2, skipped without it)
#   BACKSTOP_BENCH=PATH hack/gen-order-file.sh   (use that backstop-bench instead of building one)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "gen-order-file: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
touch image/backstop.order
binary="$(hack/build-lean.sh)"
bench="${BACKSTOP_BENCH:-}"  # a backstop-bench already built (any configuration)
if [ -z "$bench" ]; then
  swift build --product backstop-bench
  bench="$(swift build --show-bin-path)/backstop-bench"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A stand-in for `backstop run` as deployed: leader election on, info logs, probes every 2 s.
wrapper() { # $1: the command line that runs the binary
  cat > "$work/run-as-deployed" <<WRAP
#!/usr/bin/env bash
# (The benchmark's preparatory operator, on port 0, runs as the benchmark starts it.)
args=()
case " \$* " in *" 127.0.0.1:0 "*) measured=false ;; *) measured=true ;; esac
while [ \$# -gt 0 ]; do
  case "\$1" in
    --leader-elect) if \$measured; then args+=(--leader-elect true --leader-election-namespace backstop-system); else args+=("\$1" "\$2"); fi; shift 2 ;;
    --log-level) args+=(--log-level info); shift 2 ;;
    --metrics-address) args+=("\$1" "\$2"); address=\$2; shift 2 ;;
    *) args+=("\$1"); shift ;;
  esac
done
if \$measured; then
  # Closes what it inherited: the benchmark learns of the operator's exit when the last copy of
  # a descriptor the operator holds is closed, and waits forever if the loop keeps one. Under
  # callgrind, the profile is cut (a dump) 20 s after the first ready answer: what ran before
  # is start-up, what runs after is the steady state the page-out keeps coming back to.
  ( for fd in \$(ls /proc/self/fd); do [ "\$fd" -gt 2 ] && eval "exec \$fd>&-" 2>/dev/null; done
    ready_at=
    while sleep 2 && kill -0 \$\$ 2>/dev/null; do
      for p in healthz readyz metrics; do curl -s -o /dev/null "http://\$address/\$p"; done
      if [ -z "\$ready_at" ] && curl -sf -o /dev/null "http://\$address/readyz"; then ready_at=\$SECONDS; fi
      if [ -n "\$ready_at" ] && [ \$((SECONDS - ready_at)) -ge 20 ] && [ "\$ready_at" != done ]; then
        callgrind_control --dump=startup \$\$ >/dev/null 2>&1 || true; ready_at=done
      fi
    done ) &
fi
exec $1 "\${args[@]}"
WRAP
  chmod +x "$work/run-as-deployed"
}
run_bench() {
  timeout 900 "$bench" operator --policies 300 --namespaces 3 --samples 30 --idle-seconds 20 --prepare-qps 2000 \
    --backstop "$work/run-as-deployed" | grep -E "evaluated in|reaction" | sed 's/^/gen-order-file:   /' || true
}

# 1. callgrind (valgrind 3.19 cannot read the toolchain's DWARF 5; the symbol table is all it needs)
objcopy --strip-debug "$binary" "$work/backstop"
wrapper "valgrind --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file=$work/profile.%p $work/backstop"
echo "gen-order-file: profiling backstop run under callgrind (a few minutes)"
run_bench
# Steady-state functions first (the final dump), then those only start-up ran (the cut's dump):
# after the page-out, what comes back is one dense block.
# (The preparatory operator's profile has no cut: all of it counts as start-up.)
steady="" startup=""
for final in $(ls "$work"/profile.* | grep -E '/profile\.[0-9]+$'); do
  if [ -e "$final.1" ]; then steady+=" $final"; startup+=" $final.1"; else startup+=" $final"; fi
done
python3 hack/order_file.py callgrind "$work/backstop" $steady $startup > "$work/order"
echo "gen-order-file: callgrind saw $(wc -l < "$work/order") functions, $(python3 hack/order_file.py callgrind "$work/backstop" $steady | wc -l) of them after start-up"
cp "$work/order" image/backstop.order

# 2. page faults of the ordered binary, run natively
if perf record -q -e exceptions:page_fault_user -o "$work/probe.data" -- true >/dev/null 2>&1; then
  for pass in 1 2; do
    binary="$(hack/build-lean.sh)"
    cp "$binary" "$work/backstop"
    wrapper "$work/backstop"
    perf record -q -a -e exceptions:page_fault_user -o "$work/faults.data" >/dev/null 2>&1 &
    perf_pid=$!
    sleep 2
    run_bench
    kill -INT $perf_pid; wait $perf_pid || true
    python3 hack/order_file.py faults "$work/backstop" "$work/faults.data" image/backstop.order > "$work/added"
    echo "gen-order-file: pass $pass: $(wc -l < "$work/added") functions faulted in outside the list"
    cat "$work/added" >> image/backstop.order
  done
else
  echo "gen-order-file: perf cannot record page faults here; the list is callgrind's alone"
fi
echo "gen-order-file: $(wc -l < image/backstop.order) functions in image/backstop.order"
