# Sourced by the bench scripts: keep a benchmark's input resident in the
# page cache while it is timed.
#
# Some VMs drop page-cache pages with most of their memory free (seen on
# the project's 2-vCPU machines: 13 of 1024 MiB of a file just read gone
# by the next run), so a "warm" run reads from disk now and then. `vmtouch
# -l` maps the file and mlocks it, which keeps its pages in the cache for
# every process. Without vmtouch (or when locking fails) the runs go on
# unpinned, and the report says so.

PINNED_PID=""
PIN_STATE="not pinned"

# pin FILE: locks FILE in memory until `unpin`; PIN_STATE says how it
# went. Call it in the script's own shell (not in `$(...)`), which keeps
# the daemon's pid.
pin() {
    unpin
    if ! command -v vmtouch >/dev/null 2>&1; then
        PIN_STATE="not pinned (no vmtouch)"
        return
    fi
    local pidfile
    pidfile=$(mktemp)
    if vmtouch -q -l -d -P "$pidfile" "$1" >/dev/null 2>&1; then
        # The daemon writes its pid once the pages are locked.
        for _ in $(seq 200); do
            [ -s "$pidfile" ] && break
            sleep 0.1
        done
        PINNED_PID=$(cat "$pidfile" 2>/dev/null || true)
    fi
    rm -f "$pidfile"
    if [ -n "$PINNED_PID" ]; then
        PIN_STATE="pinned in memory (vmtouch -l)"
    else
        PIN_STATE="not pinned (vmtouch -l failed)"
    fi
}

unpin() {
    if [ -n "$PINNED_PID" ]; then
        kill "$PINNED_PID" 2>/dev/null || true
        PINNED_PID=""
    fi
}
trap unpin EXIT
