/**
 * LAVA's test shell helpers about the system rather than results, written anew:
 * background processes, the device's addresses and storage, listening to another
 * namespace's feedback, and the distribution's packages (to install and
 * installed), keys, sources and build
 * — the last chosen by the deploy's `os` as LAVA chooses its distro scripts, with
 * LAVA's "unsupported distro" messages for the others.
 *
 * (`$%{` stands for the shell's `${`, which a template literal would take.)
 */

const BACKGROUND_START = String.raw`#!/bin/sh
# lava-background-process-start NAME --cmd COMMAND...: keeps COMMAND running in the background.
usage() {
	echo "Usage: lava-background-process-start NAME --cmd PROCESS"
	echo ""
	echo "Start PROCESS in background."
	echo "NAME is used to identify the process in the lava-background-process-stop"
	exit 1
}
NAME=$1
[ -n "$NAME" ] || usage
shift
[ "$1" = "--cmd" ] || usage
shift
[ $# -gt 0 ] || usage
case "$NAME" in */* | .*) echo "lava-background-process-start: '$NAME' is not a plain name" >&2; exit 1 ;; esac
DIR="$%{LAVA_RESULT_DIR:-/tmp/lava-results}/results/$NAME"
mkdir -p "$DIR"
# The command is kept as the test wrote it and restarted whenever it ends, as LAVA's helper does.
printf '%s\n' "$*" > "$DIR/command"
(
	trap 'exit 0' HUP INT TERM
	while true; do
		sh -c "$(cat "$DIR/command")" &
		wait $!
		sleep 1
	done
) >/dev/null 2>&1 &
echo $! > "$DIR/pid"
exit 0
`;

const BACKGROUND_STOP = String.raw`#!/bin/sh
# lava-background-process-stop NAME: stops what lava-background-process-start NAME started.
NAME=$1
if [ -z "$NAME" ]; then
	echo "Usage: lava-background-process-stop NAME"
	exit 1
fi
DIR="$%{LAVA_RESULT_DIR:-/tmp/lava-results}/results/$NAME"
[ -f "$DIR/pid" ] || exit 0
PID=$(cat "$DIR/pid")
if kill -0 "$PID" 2>/dev/null; then
	# The loop first, then what it started.
	kill "$PID" 2>/dev/null
	pkill -P "$PID" 2>/dev/null
fi
rm -f "$DIR/pid"
exit 0
`;

const ECHO_IPV4 = String.raw`#!/bin/sh
# lava-echo-ipv4 INTERFACE: the interface's IPv4 address, if it has one.
if [ -z "$1" ]; then
	echo "Specify the interface to query"
	exit 0
fi
if [ -x /sbin/ifconfig ] || command -v ifconfig >/dev/null 2>&1; then
	ifconfig "$1" 2>/dev/null | grep -o -E '([0-9]{1,3}\.){3}[0-9]{1,3}' | head -n 1
elif command -v ip >/dev/null 2>&1; then
	ip -4 addr show "$1" 2>/dev/null | grep -o -E '([0-9]{1,3}\.){3}[0-9]{1,3}' | head -n 1
fi
`;

const TARGET_MAC = String.raw`#!/bin/sh
# lava-target-mac: the device's MAC address as the lab knows it.
echo "$LAVA_TARGET_MAC"
`;

const TARGET_STORAGE = String.raw`#!/bin/sh
# lava-target-storage: the device's storage, a TAB METHOD TAB ID line each;
# lava-target-storage METHOD: the IDs of METHOD, or nothing and a failure.
if [ -z "$1" ]; then
	printf '%b' "$LAVA_STORAGE"
	exit 0
fi
MATCH=$(printf '%b' "$LAVA_STORAGE" | awk -F'\t' -v method="$1" '$2 == method { print $3 }')
[ -n "$MATCH" ] || exit 1
printf '%s\n' "$MATCH"
`;

const TEST_FEEDBACK = String.raw`#!/bin/sh
# lava-test-feedback --namespace NAME: asks the dispatcher for the other namespace's console output.
. "$(dirname "$0")/lava-common"
NAMESPACE=
while [ $# -gt 0 ]; do
	case "$1" in
		--namespace) NAMESPACE=$2; shift 2 ;;
		*) echo "Usage: lava-test-feedback --namespace STRING"; exit 1 ;;
	esac
done
if [ -z "$NAMESPACE" ]; then
	echo "--namespace must be specified"
	exit 1
fi
lava_signal "<LAVA_SIGNAL_TESTFEEDBACK $NAMESPACE>"
`;

const OS_BUILD = String.raw`#!/bin/sh
# lava-os-build: the distribution and its version, as well as it can be told.
if [ -f /etc/os-release ]; then
	awk -F= '$1 == "PRETTY_NAME" { gsub("\"", "", $2); print $2 }' /etc/os-release
	exit 0
fi
if [ -f /etc/issue ]; then
	sed -e 's/\\n.\\l//' /etc/issue | tr -s '\n' | head -c 100
	exit 0
fi
if command -v lsb_release >/dev/null 2>&1; then lsb_release -d; exit 0; fi
if [ -f /etc/debian_version ]; then cat /etc/debian_version; exit 0; fi
case "$(readlink /proc/$$/exe)" in *busybox*) echo "busybox system"; exit 0 ;; esac
echo 'Unsupported distro: cannot determine build version'
`;

/** The message LAVA's generic helpers print where the distribution cannot do it. */
function unsupported(what: string, listName: string): string {
  return String.raw`#!/bin/sh
echo "######################################################"
echo
echo "I: unsupported distro, cannot ${what}${listName ? ":" : ""}"
` + (listName
    ? String.raw`for item in "$@"; do echo "- $item"; done
`
    : "") +
    String.raw`echo
echo "######################################################"
exit 0
`;
}

const APT_INSTALL = String.raw`#!/bin/sh
# lava-install-packages PACKAGE...: apt-get, retried as LAVA retries it.
retry=0
while true; do
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" && exit 0
	rc=$?
	[ "$retry" -ge 4 ] && exit $rc
	echo "($retry) Install failed... Retrying after some seconds"
	sleep 60
	retry=$((retry + 1))
done
`;

const APT_KEYS = String.raw`#!/bin/sh
# lava-add-keys KEY...: from a keyserver, else as key packages.
if gpg --keyserver pgp.mit.edu --recv-keys "$@" >/dev/null 2>&1; then
	gpg --armor --export "$@" | apt-key add -
else
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
fi
exit 0
`;

const APT_SOURCES = String.raw`#!/bin/sh
# lava-add-sources SOURCE...: with add-apt-repository, installed if missing.
if ! command -v add-apt-repository >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q software-properties-common
fi
for source in "$@"; do DEBIAN_FRONTEND=noninteractive add-apt-repository -y "$source"; done
`;

const DNF_INSTALL = String.raw`#!/bin/sh
# lava-install-packages PACKAGE...
if command -v dnf >/dev/null 2>&1; then dnf -y install "$@"; else yum -y install "$@"; fi
`;

const OPKG_INSTALL = String.raw`#!/bin/sh
# lava-install-packages PACKAGE...
opkg update && opkg install "$@"
`;

/** `lava-installed-packages`: one "package: NAME : VERSION" line each, as LAVA's parses them. */
const DPKG_INSTALLED = String.raw`#!/bin/sh
dpkg-query -W -f '$%{status} $%{package} : $%{version}\n' | sed -n 's/^install ok installed/package:/p'
`;

const RPM_INSTALLED = String.raw`#!/bin/sh
rpm -qa --qf "package: %{NAME} : %{VERSION}-%{RELEASE} 
"
`;

const OPKG_INSTALLED = String.raw`#!/bin/sh
if ! command -v opkg >/dev/null 2>&1; then
	echo "Error: OPKG package manager not found, cannot obtain list of installed packages."
	exit 1
fi
opkg list-installed | sed -n 's/^/package: /p' | sed -n 's/ - / : /p'
`;

const UNKNOWN_INSTALLED = String.raw`#!/bin/sh
echo 'Unsupported distro: cannot obtain list of installed packages'
`;

/** The distribution scripts of the OSes LAVA has them for, by the deploy's `os`. */
function distroScripts(os: string | undefined): Record<string, string> {
  switch (os) {
    case "debian":
    case "ubuntu":
      return {
        "lava-install-packages": APT_INSTALL,
        "lava-installed-packages": DPKG_INSTALLED,
        "lava-add-keys": APT_KEYS,
        "lava-add-sources": APT_SOURCES,
      };
    case "fedora":
    case "centos":
      return { "lava-install-packages": DNF_INSTALL, "lava-installed-packages": RPM_INSTALLED };
    case "oe":
      return { "lava-install-packages": OPKG_INSTALL, "lava-installed-packages": OPKG_INSTALLED };
    default:
      return {};
  }
}

/** The system helpers for a deploy of `os`, by file name. */
export function systemHelpers(os: string | undefined): Readonly<Record<string, string>> {
  const scripts: Record<string, string> = {
    "lava-background-process-start": BACKGROUND_START,
    "lava-background-process-stop": BACKGROUND_STOP,
    "lava-echo-ipv4": ECHO_IPV4,
    "lava-target-mac": TARGET_MAC,
    "lava-target-storage": TARGET_STORAGE,
    "lava-test-feedback": TEST_FEEDBACK,
    "lava-os-build": OS_BUILD,
    "lava-install-packages": unsupported("install packages", "packages"),
    "lava-installed-packages": UNKNOWN_INSTALLED,
    "lava-add-keys": unsupported("add key", ""),
    "lava-add-sources": unsupported("add sources", "sources"),
    ...distroScripts(os),
  };
  return Object.fromEntries(Object.entries(scripts).map(([name, text]) => [name, text.replaceAll("$%{", "${")]));
}
