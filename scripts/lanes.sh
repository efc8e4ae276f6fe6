# Sourced by run-tests.sh and run-sanitized.sh: runs one command per
# CPython minor in PLUMB_TEST_LANES lanes at once (default 2).  Each lane
# takes the next minor not yet taken when its run ends (a claim is a
# folder, made atomically), so a lane whose suites ran quicker takes more
# of them.  Most of a suite's time is spent waiting (servers starting,
# wrk's seconds, a ClickHouse outage of 10 s): two suites at once on 2 CPUs
# take little more than one.  Each run's output goes to its own log,
# printed whole and in the minors' order once every lane is done, so
# failures read as they would one after another.  Returns non-zero if any
# run failed.
#
#   run_in_lanes WORKDIR COMMAND MINOR...   (COMMAND is called as: COMMAND MINOR)
#
# The minors are taken in the order given, so the longest goes first.
run_in_lanes() {
    lanes_work=$1; lanes_command=$2; shift 2
    lanes=${PLUMB_TEST_LANES:-2}
    lane=0
    while [ "$lane" -lt "$lanes" ]; do
        (
            for minor in "$@"; do
                if mkdir "$lanes_work/claimed-$minor" 2>/dev/null; then
                    if "$lanes_command" "$minor" >"$lanes_work/$minor.log" 2>&1; then
                        echo 0 >"$lanes_work/$minor.status"
                    else
                        echo 1 >"$lanes_work/$minor.status"
                    fi
                fi
            done
        ) &
        lane=$((lane + 1))
    done
    wait
    lanes_status=0
    for minor in $(printf '%s\n' "$@" | sort -t. -k1,1n -k2,2n); do
        cat "$lanes_work/$minor.log" 2>/dev/null
        [ "$(cat "$lanes_work/$minor.status" 2>/dev/null)" = 0 ] || lanes_status=1
    done
    return $lanes_status
}
