/**
 * LAVA's test shell helpers for the device, written anew for Basalt: POSIX sh
 * that runs on busybox as on a full distribution, and prints LAVA's
 * `<LAVA_SIGNAL_...>` markers exactly, so existing test definitions run unchanged.
 * They live in `/lava-<job>/bin` on the device.
 *
 * (In the texts below `$%{` stands for the shell's `${`, which a template literal
 * would take for its own.)
 */

const COMMON = String.raw`# Shared by the lava-* helpers: how a signal reaches the dispatcher.
lava_signal() {
	if [ -n "$LAVA_SIGNAL_KMSG" ] && [ -w /dev/kmsg ]; then
		echo "<0>$*" > /dev/kmsg
	else
		echo "$*"
	fi
}

lava_results_dir() {
	echo "$%{LAVA_RESULT_DIR:-/tmp/lava-results}"
}
`;

const TEST_CASE = String.raw`#!/bin/sh
# lava-test-case ID --shell COMMAND...
# lava-test-case ID --result pass|fail|skip|unknown [--measurement VALUE] [--units UNITS] [--output FILE]
. "$(dirname "$0")/lava-common"
usage() {
	echo "usage: lava-test-case ID --shell COMMAND..." >&2
	echo "       lava-test-case ID --result pass|fail|skip|unknown [--measurement VALUE] [--units UNITS] [--output FILE]" >&2
	exit 1
}
[ $# -ge 2 ] || usage
ID=$1
shift
case "$ID" in
	*" "* | "") echo "lava-test-case: a test case ID may not be empty or contain spaces: '$ID'" >&2; exit 1 ;;
esac
save() {
	dir="$(lava_results_dir)/results/$ID"
	mkdir -p "$dir" 2>/dev/null || return 0
	echo "$RESULT" > "$dir/result"
	[ -n "$MEASUREMENT" ] && echo "$MEASUREMENT" > "$dir/measurement"
	[ -n "$UNITS" ] && echo "$UNITS" > "$dir/units"
	return 0
}
if [ "$1" = "--shell" ]; then
	shift
	lava_signal "<LAVA_SIGNAL_STARTTC $ID>"
	eval "$@"
	rc=$?
	lava_signal "<LAVA_SIGNAL_ENDTC $ID>"
	if [ "$rc" -eq 0 ]; then RESULT=pass; else RESULT=fail; fi
	lava_signal "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=$ID RESULT=$RESULT>"
	save
	exit 0
fi
RESULT=
MEASUREMENT=
UNITS=
OUTPUT=
while [ $# -gt 0 ]; do
	case "$1" in
		--result) RESULT=$2; shift 2 ;;
		--measurement) MEASUREMENT=$2; shift 2 ;;
		--units) UNITS=$2; shift 2 ;;
		--output) OUTPUT=$2; shift 2 ;;
		*) usage ;;
	esac
done
case "$RESULT" in
	pass | fail | skip | unknown) ;;
	*) echo "lava-test-case: --result must be pass, fail, skip or unknown, not '$RESULT'" >&2; exit 1 ;;
esac
if [ -n "$OUTPUT" ]; then
	lava_signal "<LAVA_SIGNAL_STARTTC $ID>"
	cat "$OUTPUT"
	lava_signal "<LAVA_SIGNAL_ENDTC $ID>"
fi
signal="<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=$ID RESULT=$RESULT"
[ -n "$UNITS" ] && signal="$signal UNITS=$UNITS"
[ -n "$MEASUREMENT" ] && signal="$signal MEASUREMENT=$MEASUREMENT"
lava_signal "$signal>"
save
exit 0
`;

const TEST_SET = String.raw`#!/bin/sh
# lava-test-set start NAME | lava-test-set stop
. "$(dirname "$0")/lava-common"
case "$1" in
	start) [ -n "$2" ] || { echo "usage: lava-test-set start NAME" >&2; exit 1; }
		lava_signal "<LAVA_SIGNAL_TESTSET START $2>" ;;
	stop) lava_signal "<LAVA_SIGNAL_TESTSET STOP>" ;;
	*) echo "usage: lava-test-set start NAME | lava-test-set stop" >&2; exit 1 ;;
esac
`;

const TEST_REFERENCE = String.raw`#!/bin/sh
# lava-test-reference ID --result pass|fail|skip|unknown --reference URL
. "$(dirname "$0")/lava-common"
ID=$1
shift
RESULT=
URL=
while [ $# -gt 0 ]; do
	case "$1" in
		--result) RESULT=$2; shift 2 ;;
		--reference) URL=$2; shift 2 ;;
		*) echo "usage: lava-test-reference ID --result RESULT --reference URL" >&2; exit 1 ;;
	esac
done
[ -n "$ID" ] && [ -n "$RESULT" ] && [ -n "$URL" ] || { echo "usage: lava-test-reference ID --result RESULT --reference URL" >&2; exit 1; }
lava_signal "<LAVA_SIGNAL_TESTREFERENCE $ID $RESULT $URL>"
`;

const TEST_RAISE = String.raw`#!/bin/sh
# lava-test-raise MESSAGE: stop the job with a test error.
. "$(dirname "$0")/lava-common"
lava_signal "<LAVA_SIGNAL_TESTRAISE $*>"
exit 1
`;

const TEST_EVENT = String.raw`#!/bin/sh
# lava-test-event MESSAGE: publish an event for this job.
. "$(dirname "$0")/lava-common"
lava_signal "<LAVA_SIGNAL_TESTEVENT $*>"
`;

const TARGET_IP = String.raw`#!/bin/sh
# lava-target-ip: the device's address as the lab knows it, else its first global IPv4 address.
if [ -n "$LAVA_TARGET_IP" ]; then echo "$LAVA_TARGET_IP"; exit 0; fi
ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n 1
`;

const RUNNER = String.raw`#!/bin/sh
# lava-test-runner STAGE_DIR: runs the stage's tests in order, once.
STAGE=$1
BIN=$(dirname "$0")
export LAVA_BIN="$BIN"
export PATH="$BIN:$PATH"
[ -f "$(dirname "$BIN")/environment" ] && . "$(dirname "$BIN")/environment"
CONF="$STAGE/lava-test-runner.conf"
if [ ! -f "$CONF" ]; then
	echo "<LAVA_TEST_RUNNER EXIT>"
	exit 0
fi
# A reboot must not run the tests again.
RUNNING="$CONF-$(date +%s)"
mv "$CONF" "$RUNNING"
export SHELL="$%{SHELL:-/bin/sh}"
# The list comes in on fd 3, so the tests keep the console as stdin (MultiNode replies arrive there).
while read -r TEST <&3; do
	[ -n "$TEST" ] || continue
	if [ -f "$TEST/install.sh" ]; then
		if ! (cd "$TEST" && $SHELL -e ./install.sh); then
			echo "<LAVA_TEST_RUNNER INSTALL_FAIL>"
			continue
		fi
	fi
	(cd "$TEST" && $SHELL ./run.sh)
done 3< "$RUNNING"
echo "<LAVA_TEST_RUNNER EXIT>"
`;

const MULTINODE_COMMON = String.raw`# Shared by the MultiNode helpers: the group's data and how a reply is read.
. "$(dirname "$0")/lava-common"
[ -f "$(dirname "$(dirname "$0")")/multinode" ] && . "$(dirname "$(dirname "$0")")/multinode"
LAVA_MULTI_NODE_CACHE=$%{LAVA_MULTI_NODE_CACHE:-/tmp/lava_multi_node_cache.txt}

# lava_multinode_call KIND MARKER: prints the marker, then reads the console until
# the dispatcher's <LAVA_KIND_COMPLETE ...> line; its JOB:KEY=VALUE pairs go to the cache.
lava_multinode_call() {
	KIND=$1
	shift
	echo "<LAVA_MULTI_NODE> <$*>"
	while read -r LINE; do
		case "$LINE" in
			*"<LAVA_$%{KIND}_COMPLETE"*) break ;;
		esac
	done
	REPLY=$%{LINE#*<LAVA_$%{KIND}_COMPLETE}
	REPLY=$%{REPLY%>*}
	mkdir -p "$(dirname "$LAVA_MULTI_NODE_CACHE")"
	rm -f "$LAVA_MULTI_NODE_CACHE"
	case "$REPLY" in
		*" nack"*) echo "Error: the coordinator answered nack" >&2; return 1 ;;
	esac
	# Pairs start at " JOBID:"; a value may hold spaces up to the next pair.
	echo "$REPLY" | sed -e 's/ \([0-9][0-9.]*\):/\n\1:/g' | while read -r PAIR; do
		case "$PAIR" in
			*:*=*) echo "$PAIR" >> "$LAVA_MULTI_NODE_CACHE" ;;
		esac
	done
	return 0
}
`;

const MULTINODE_SEND = String.raw`#!/bin/sh
# lava-send ID [KEY=VALUE...]: tells the group; returns at once.
. "$(dirname "$0")/lava-multi-node-common"
ID=$1
case "$ID" in
	""|*=*) echo "usage: lava-send ID [KEY=VALUE...]" >&2; exit 1 ;;
esac
shift
PAIRS=""
for PAIR in "$@"; do
	case "$PAIR" in
		?*=?*) PAIRS="$PAIRS $PAIR" ;;
	esac
done
echo "<LAVA_MULTI_NODE> <LAVA_SEND $ID$PAIRS>"
`;

const MULTINODE_WAIT = String.raw`#!/bin/sh
# lava-wait ID: blocks until some job of the group has sent ID; the values are in $LAVA_MULTI_NODE_CACHE.
. "$(dirname "$0")/lava-multi-node-common"
[ -n "$1" ] || { echo "usage: lava-wait ID" >&2; exit 1; }
lava_multinode_call WAIT "LAVA_WAIT $1"
`;

const MULTINODE_WAIT_ALL = String.raw`#!/bin/sh
# lava-wait-all ID [ROLE]: blocks until every job (of ROLE) has sent ID.
. "$(dirname "$0")/lava-multi-node-common"
[ -n "$1" ] || { echo "usage: lava-wait-all ID [ROLE]" >&2; exit 1; }
lava_multinode_call WAIT_ALL "LAVA_WAIT_ALL $1$%{2:+ $2}"
`;

const MULTINODE_SYNC = String.raw`#!/bin/sh
# lava-sync ID: blocks until every job of the group has reached ID.
. "$(dirname "$0")/lava-multi-node-common"
[ -n "$1" ] || { echo "usage: lava-sync ID" >&2; exit 1; }
lava_multinode_call SYNC "LAVA_SYNC $1"
`;

const MULTINODE_SELF = String.raw`#!/bin/sh
# lava-self: this job's id in the group.
. "$(dirname "$0")/lava-multi-node-common"
echo "$LAVA_HOSTNAME"
`;

const MULTINODE_ROLE = String.raw`#!/bin/sh
# lava-role: this job's role; lava-role list: every role of the group.
. "$(dirname "$0")/lava-multi-node-common"
if [ "$1" = "list" ]; then
	printf '%s\n' "$LAVA_GROUP" | cut -f2 | sort -u
else
	printf '%s' "$TARGET_ROLE"
fi
`;

const MULTINODE_GROUP = String.raw`#!/bin/sh
# lava-group: TAB JOB TAB ROLE per job, as LAVA prints it; lava-group ROLE: the jobs of ROLE.
. "$(dirname "$0")/lava-multi-node-common"
if [ -z "$1" ]; then
	printf '%s\n' "$LAVA_GROUP" | sed 's/^/\t/'
	exit 0
fi
FOUND=$(printf '%s\n' "$LAVA_GROUP" | awk -F'\t' -v role="$1" '$2 == role { print "\t" $1 }')
[ -n "$FOUND" ] || exit 1
printf '%s\n' "$FOUND"
`;

/** Helper scripts by file name, as installed in `/lava-<job>/bin`. */
export const DEVICE_SCRIPTS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries({
    "lava-common": COMMON,
    "lava-test-case": TEST_CASE,
    "lava-test-set": TEST_SET,
    "lava-test-reference": TEST_REFERENCE,
    "lava-test-raise": TEST_RAISE,
    "lava-test-event": TEST_EVENT,
    "lava-target-ip": TARGET_IP,
    "lava-test-runner": RUNNER,
    "lava-multi-node-common": MULTINODE_COMMON,
    "lava-send": MULTINODE_SEND,
    "lava-wait": MULTINODE_WAIT,
    "lava-wait-all": MULTINODE_WAIT_ALL,
    "lava-sync": MULTINODE_SYNC,
    "lava-self": MULTINODE_SELF,
    "lava-role": MULTINODE_ROLE,
    "lava-group": MULTINODE_GROUP,
  }).map(([name, text]) => [name, text.replaceAll("$%{", "${")]),
);
