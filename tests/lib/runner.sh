# Shared by the boot tests and benchmarks: run a command with a timeout in
# its own process group, so QEMU and everything it started die with it.
#
#   run_logged TIMEOUT LOG cmd args...   -> sets $status (124 on timeout)

run_logged() {
	local timeout=$1 log=$2
	shift 2
	mkdir -p "$(dirname "$log")"
	# setsid: a new session and process group led by the command.
	setsid "$@" </dev/null >"$log" 2>&1 &
	local pid=$! waited=0
	while kill -0 "$pid" 2>/dev/null; do
		if (( waited >= timeout * 10 )); then
			echo "timeout after ${timeout}s" >>"$log"
			kill -TERM -- "-$pid" 2>/dev/null
			sleep 1
			kill -KILL -- "-$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			status=124
			return
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	wait "$pid"
	status=$?
}
