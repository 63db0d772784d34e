#!/bin/sh
# install.sh installs a Zerkalo edge (or relay) as a systemd service.
#
# Usage:
#   deploy/install.sh [--dry-run] [--relay EDGE [--invite TOKEN]] [BINARY]
#
# BINARY is the zerkalo binary to install; without it the script uses
# ./zerkalo, or builds one with "go build" from the checkout it lives in
# (it also builds when ./zerkalo is older than the checkout's sources, and
# stops if it cannot: an upgrade must not reinstall the old binary).
# It then lays out /etc/zerkalo, installs the systemd units and the QUIC
# sysctl drop-in, and enables and starts the edge (zerkalo.service), or
# with --relay the relay for EDGE (zerkalo-relay.service).
#
# It is safe to run twice: a file whose content is already right is left
# alone, and an existing /etc/zerkalo/zerkalo.toml is never overwritten
# (relay.env is rewritten from --relay, keeping an invitation already in
# it). Run it again after building a new binary to upgrade.
#
#   --dry-run      print what would be done, change nothing
#   --relay EDGE   set up a relay for the edge EDGE (host:port) instead of an edge
#   --invite TOKEN the operator's invitation for the relay (zk1.…), kept in
#                  relay.env for its first start; without it (and without
#                  an enrollment from before) the relay is enabled, not
#                  started, until ZERKALO_INVITE is put into relay.env
#
# DESTDIR=/some/root installs under that root (for packaging and tests);
# systemctl and sysctl are then not run, and neither are they when systemd
# is not the running init system.
set -eu
umask 022

prefix=/usr/local
dry_run=false
relay=false
relay_edge=
invite=
binary=

usage() {
	sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
	case $1 in
	--dry-run) dry_run=true ;;
	--relay)
		[ $# -ge 2 ] || { echo "install.sh: --relay needs the edge's host:port" >&2; exit 2; }
		relay=true
		relay_edge=$2
		shift
		;;
	--relay=*)
		relay=true
		relay_edge=${1#--relay=}
		;;
	--invite)
		[ $# -ge 2 ] || { echo "install.sh: --invite needs the invitation token" >&2; exit 2; }
		invite=$2
		shift
		;;
	--invite=*) invite=${1#--invite=} ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "install.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	*)
		[ -z "$binary" ] || { echo "install.sh: more than one binary given" >&2; exit 2; }
		binary=$1
		;;
	esac
	shift
done

# Whole-value checks (case, not grep, which would pass a value whose
# first line is fine): these values go into relay.env, one per line.
case $relay_edge in
*[!][A-Za-z0-9.:_-]*) edge_ok=false ;;
?*) edge_ok=true ;;
*) edge_ok=false ;;
esac
if $relay && ! $edge_ok; then
	echo "install.sh: --relay '$relay_edge': not a host:port" >&2
	exit 2
fi
if [ -n "$invite" ] && ! $relay; then
	echo "install.sh: --invite goes with --relay" >&2
	exit 2
fi
case $invite in
"" | zk1.*) ;;
*) invite_bad=true ;;
esac
case $invite in
*[!A-Za-z0-9._-]* | zk1.) invite_bad=true ;;
esac
if [ "${invite_bad:-false}" = true ]; then
	echo "install.sh: --invite: not an invitation token (zk1.…)" >&2
	exit 2
fi

src=$(cd "$(dirname "$0")" && pwd)
root=${DESTDIR:-}
root=${root%/}
changed=false

say() { printf '%s\n' "$*"; }

# run runs a command, or prints it under --dry-run.
run() {
	if $dry_run; then
		say "would run: $*"
	else
		"$@"
	fi
}

# put FILE MODE DEST installs FILE at DEST unless DEST already has the same
# content and mode.
put() {
	if [ -f "$3" ] && cmp -s "$1" "$3" && [ "$(stat -c %a "$3")" = "$2" ]; then
		say "unchanged  $3"
		return
	fi
	changed=true
	if $dry_run; then
		say "would install $3"
		return
	fi
	mkdir -p "$(dirname "$3")"
	# Copy then rename, so a running binary or a reader never sees half a file.
	cp "$1" "$3.new"
	chmod "$2" "$3.new"
	mv -f "$3.new" "$3"
	say "installed  $3"
}

# put_new FILE MODE DEST installs FILE at DEST only if DEST does not exist:
# it is the operator's file from then on.
put_new() {
	if [ -e "$3" ]; then
		say "kept       $3 (exists)"
	elif $dry_run; then
		say "would install $3"
	else
		mkdir -p "$(dirname "$3")"
		cp "$1" "$3.new"
		chmod "$2" "$3.new"
		mv "$3.new" "$3"
		say "installed  $3"
	fi
}

if [ -z "$root" ] && ! $dry_run && [ "$(id -u)" != 0 ]; then
	echo "install.sh: run as root (or set DESTDIR, or use --dry-run)" >&2
	exit 1
fi

# The binary: given, ./zerkalo, or built from this checkout.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$binary" ] && [ -f ./zerkalo ] && [ ! -d ./zerkalo ]; then
	binary=./zerkalo
	# After "git pull", ./zerkalo is the old version: build instead.
	if [ -f "$src/../go.mod" ] && [ -n "$(find "$src/.." -name '*.go' -newer ./zerkalo 2>/dev/null | head -n 1)" ]; then
		command -v go >/dev/null 2>&1 || {
			echo "install.sh: ./zerkalo is older than the sources: rebuild it (go build -o zerkalo ./cmd/zerkalo) or remove it" >&2
			exit 2
		}
		say "ignoring   ./zerkalo (older than the sources)"
		binary=
	fi
fi
if [ -z "$binary" ]; then
	if ! command -v go >/dev/null 2>&1 || [ ! -f "$src/../go.mod" ]; then
		echo "install.sh: no binary: pass its path, put it at ./zerkalo, or run from a checkout with Go installed" >&2
		exit 2
	fi
	say "building   zerkalo with $(command -v go)"
	(cd "$src/.." && CGO_ENABLED=0 go build -trimpath -o "$tmp/zerkalo" ./cmd/zerkalo)
	binary=$tmp/zerkalo
fi
if [ ! -f "$binary" ] || [ ! -r "$binary" ]; then
	echo "install.sh: $binary: not a readable file" >&2
	exit 2
fi

put "$binary" 755 "$root$prefix/bin/zerkalo"
put "$src/zerkalo.service" 644 "$root/etc/systemd/system/zerkalo.service"
put "$src/zerkalo-relay.service" 644 "$root/etc/systemd/system/zerkalo-relay.service"
put "$src/99-zerkalo-quic.conf" 644 "$root/etc/sysctl.d/99-zerkalo-quic.conf"
put "$src/zerkalo.example.toml" 644 "$root$prefix/share/doc/zerkalo/zerkalo.example.toml"
if ! $relay; then
	unit=zerkalo.service
	# Readable by the service's dynamic user; it holds no secrets.
	put_new "$src/zerkalo.example.toml" 644 "$root/etc/zerkalo/zerkalo.toml"
else
	unit=zerkalo-relay.service
	env=$root/etc/zerkalo/relay.env
	if [ -z "$invite" ] && [ -f "$env" ]; then
		invite=$(sed -n 's/^ZERKALO_INVITE=//p' "$env" | tail -n 1)
	fi
	printf '# The edge this relay passes readers through to.\nZERKALO_EDGE=%s\n' "$relay_edge" >"$tmp/relay.env"
	if [ -n "$invite" ]; then
		printf '# The invitation, for the first start only (single use).\nZERKALO_INVITE=%s\n' "$invite" >>"$tmp/relay.env"
	fi
	# Root's only: an invitation is a secret until used (systemd reads
	# the file before it drops privileges).
	put "$tmp/relay.env" 600 "$env"
fi

if [ -n "$root" ]; then
	say "DESTDIR is set: not running systemctl or sysctl"
	exit 0
fi
if [ ! -d /run/systemd/system ]; then
	say "systemd is not the running init system: not running systemctl or sysctl"
	say "on a systemd host, run: systemctl daemon-reload; sysctl --system; systemctl enable --now $unit"
	exit 0
fi
run systemctl daemon-reload
run sysctl --quiet --system
if $changed; then
	# A new binary or unit takes effect now, if the service was running.
	run systemctl try-restart zerkalo.service zerkalo-relay.service
fi
if $relay && [ -z "$invite" ] && [ ! -e /var/lib/zerkalo-relay/enrollment.json ] && [ ! -e /var/lib/private/zerkalo-relay/enrollment.json ]; then
	# Not enrolled, and nothing to enroll with: it would only fail.
	run systemctl enable "$unit"
	say "enabled    $unit, not started: put ZERKALO_INVITE=zk1.… (from the edge's operator) into /etc/zerkalo/relay.env, then: systemctl start $unit"
	exit 0
fi
run systemctl enable --now "$unit"
$dry_run || say "started    $unit: see systemctl status $unit; journalctl -u $unit"
