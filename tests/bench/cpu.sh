# CPU accounting for one measurement (sourced by soap.sh). A snapshot is
#   "<machine busy> <machine total> <interrupts> <server> <database>"
# in clock ticks: the whole machine from /proc/stat, its hard and soft IRQ time (mostly the
# loopback network; the kernel also charges most of it to the process that was running, so it
# overlaps the other figures and is shown for information), the raas server process (all its
# threads), and every process named postgres (backends that have exited are counted through the
# postmaster's children times). The client's own CPU is taken with /usr/bin/time. What is left
# of the machine's busy time is "other": whatever else runs on the machine (noise).

CPU_TICKS_PER_S=$(getconf CLK_TCK)

# Sum of utime+stime+cutime+cstime of the given pids (gone pids count 0).
_cpu_ticks_of() {
  local pid total=0 stat rest
  for pid in "$@"; do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    rest=${stat##*) }
    # rest starts at field 3 (state): utime is the 12th word, stime 13th, cutime 14th, cstime 15th
    read -r -a f <<<"$rest"
    total=$((total + f[11] + f[12] + f[13] + f[14]))
  done
  echo "$total"
}

cpu_snapshot() { # "server_pid …" (one word, pids separated by spaces)
  local machine
  # fields: user nice system idle iowait irq softirq steal
  machine=$(awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t, $7 + $8 }' /proc/stat)
  # shellcheck disable=SC2046,SC2086 # the server's pids are words
  echo "$machine $(_cpu_ticks_of $1) $(_cpu_ticks_of $(pgrep -x postgres || true))"
}

# JSON: cores used on average by each party between two snapshots; client_cpu_s is the
# client's user+system seconds.
cpu_json() { # before after client_cpu_s
  local -a b=($1) a=($2)
  awk -v client="$3" -v hz="$CPU_TICKS_PER_S" -v cores="$(nproc)" \
    -v busy=$((a[0] - b[0])) -v total=$((a[1] - b[1])) -v irq=$((a[2] - b[2])) \
    -v server=$((a[3] - b[3])) -v db=$((a[4] - b[4])) 'BEGIN {
      # /proc/stat counts every core: total ticks / cores = wall ticks
      wall = total / cores; if (wall <= 0) wall = 1
      other = busy - server - db - client * hz; if (other < 0) other = 0
      printf "{\"cores\":%d,\"busy\":%.2f,\"client\":%.2f,\"server\":%.2f,\"database\":%.2f,\"interrupts\":%.2f,\"other\":%.2f}",
        cores, busy / wall, client * hz / wall, server / wall, db / wall, irq / wall, other / wall
    }'
}
