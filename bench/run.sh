#!/usr/bin/env bash
# bench/run.sh: the edge against nginx, on loopback, for the real rferl.org
# front page (106 KB) and two article pages (a 10.7 KB stand-in, VOA's real
# 62 KB one).
#
# Starts the fake origin (bench/origin), the edge (zerkalo serve), and one
# nginx with two servers: "eotk" (proxy_cache + sub_filter + gzip, the way
# the Enterprise Onion Toolkit mirrors a site) and "static" (the edge's own
# rewritten bytes, pre-gzipped, gzip_static: the practical limit), and for
# the miss path the floor (bench/floor: fetch and gzip, no rewrite, no
# store: the least a Go server does for a miss). Loads each with wrk (HTTP/1.1) and h2load (HTTP/2), and prints requests/s,
# p50/p99 latency, server CPU per request (from /proc) and RSS, with ratios
# against nginx measured in the same run. See bench/README.md.
#
# bench/run.sh --serve starts everything, checks it, and waits until
# interrupted (for profiling by hand).
#
# Environment: DUR (seconds per load, default 10), THREADS (2), CONNS (32),
# H2_CLIENTS (8) and H2_STREAMS (4), MISS_PROCS (8: h2load processes for the
# miss path), PORT_BASE (18440), OUT (bench/out), CASES ("hit miss": which
# runs to make), EDGE_ADMIN (e.g. 127.0.0.1:9464: the edge's admin listener,
# with Go's profiler, for go tool pprof during a run), ORIGIN_COMPRESSED
# (false: the edge asks the origin for plain bodies, as the EOTK set-up
# does; true: for gzip, the edge's default), ORIGIN_HTTP2 (false: HTTP/1.1
# to the origin, the edge's default and nginx's; true: HTTP/2),
# ACCEPT_ENCODING (gzip: what the loads send; "gzip, deflate, br, zstd"
# for what browsers send, which nginx answers with gzip). An earlier
# run's OUT is removed after this run's loads (see clear_out).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/bench/out}
DUR=${DUR:-10}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
H2_CLIENTS=${H2_CLIENTS:-8}
H2_STREAMS=${H2_STREAMS:-4}
MISS_PROCS=${MISS_PROCS:-8}
ACCEPT_ENCODING=${ACCEPT_ENCODING:-gzip}
CASES=${CASES:-hit miss}
EDGE_ADMIN=${EDGE_ADMIN:-}
ORIGIN_COMPRESSED=${ORIGIN_COMPRESSED:-false}
PORT_BASE=${PORT_BASE:-18440}
EDGE_PORT=$((PORT_BASE + 3))
EOTK_PORT=$((PORT_BASE + 4))
STATIC_PORT=$((PORT_BASE + 5))
FLOOR_PORT=$((PORT_BASE + 6))
GOSTATIC_PORT=$((PORT_BASE + 7))
ORIGIN_HTTP2=${ORIGIN_HTTP2:-false}
HOST=mirror.test
ARTICLE=/a/russia-china-hit-back-after-us-criticizes-them-over-north-korea-crisis/28650466.html
# A real Pangea article page (VOA's, 62 KB; the fixtures hold no RFE/RL
# article page whole), mirrored under /_z/ beside RFE/RL's pages.
VOA_ARTICLE=/_z/www.voanews.com/a/america-s-child-care-crisis-is-holding-back-moms-without-college-degrees-/7585813.html
PAGES=(/ "$ARTICLE" "$VOA_ARTICLE")
TICK_US=$((1000000 / $(getconf CLK_TCK)))
RUN_ID=$(date +%s)
LIMIT=$((DUR + 30)) # seconds any one load may take before it is killed

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools

need_tools() {
	local missing=()
	command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
	command -v wrk >/dev/null || missing+=(wrk)
	command -v h2load >/dev/null || missing+=(nghttp2-client)
	command -v openssl >/dev/null || missing+=(openssl)
	command -v curl >/dev/null || missing+=(curl)
	command -v pgrep >/dev/null || missing+=(procps)
	((${#missing[@]} == 0)) && return
	[[ $(id -u) == 0 ]] || die "missing ${missing[*]}: install them (apt-get install -y ${missing[*]}) or run as root"
	log "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------- processes

PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_https PORT PATH: until the server on PORT answers PATH for $HOST.
wait_https() {
	local i
	for i in $(seq 100); do
		if curl -fsS -o /dev/null --max-time 2 --cacert "$OUT/ca.pem" \
			--resolve "$HOST:$1:127.0.0.1" "https://$HOST:$1$2" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	die "nothing answers https://$HOST:$1$2"
}

# ticks PID...: "pid ticks" lines, user + system CPU time in clock ticks,
# for the processes that are still there.
ticks() {
	local pid f
	for pid in "$@"; do
		f=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue # fields from 3 (state) on
		awk -v p="$pid" '{ print p, $12 + $13 }' <<<"$f"
	done
}

# ticks_delta BEFORE AFTER: CPU ticks used between two ticks snapshots by
# the processes present in both (nginx's cache loader exits on its own).
ticks_delta() {
	awk 'NR == FNR { t0[$1] = $2; next } ($1 in t0) { d += $2 - t0[$1] } END { print d + 0 }' <(echo "$1") <(echo "$2")
}

# busy: CPU ticks the whole machine spent outside idle and iowait.
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# child_ticks STATFILE: CPU ticks of the waited-for children in a saved
# /proc/PID/stat (cutime + cstime): the load generator's own CPU.
child_ticks() { sed 's/.*) //' "$1" | awk '{ print $14 + $15 }'; }

now_ns() { date +%s%N; }

# others START_NS BUSY0 BUSY1 TICKS...: the share (%) of the machine's
# CPU that processes outside the benchmark used during a run.
others() {
	local ns=$(($(now_ns) - $1)) b=$(($3 - $2)) t
	shift 3
	for t in "$@"; do b=$((b - t)); done
	awk -v b="$b" -v ns="$ns" -v hz="$(getconf CLK_TCK)" -v n="$(nproc)" \
		'BEGIN { v = 100 * b / (ns / 1e9 * hz * n); printf "%.0f", v < 0 ? 0 : v }'
}

# rss_kb PID...: resident set size of the processes, summed.
rss_kb() {
	local pid
	for pid in "$@"; do
		awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true
	done | awk '{ s += $1 } END { print s + 0 }'
}

origin_requests() {
	curl -fsS --max-time 5 --cacert "$OUT/origin-ca.pem" \
		--resolve "www.rferl.org:${ORIGIN_ADDR##*:}:127.0.0.1" \
		"https://www.rferl.org:${ORIGIN_ADDR##*:}/_bench/requests"
}

# ---------------------------------------------------------------- setup

make_certs() {
	local d=$OUT/tls
	mkdir -p "$d"
	openssl ecparam -name prime256v1 -genkey -noout -out "$d/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$d/ca.key" -days 2 -subj "/CN=zerkalo bench CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
		-out "$OUT/ca.pem" 2>/dev/null
	openssl ecparam -name prime256v1 -genkey -noout -out "$d/leaf.key" 2>/dev/null
	openssl req -new -key "$d/leaf.key" -subj "/CN=$HOST" -out "$d/leaf.csr" 2>/dev/null
	printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' "$HOST" >"$d/ext"
	openssl x509 -req -in "$d/leaf.csr" -CA "$OUT/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext" -out "$d/leaf.pem" 2>/dev/null
	# wrk resolves the URL's host itself: a private /etc/hosts names mirror.test.
	printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$HOST" >"$OUT/hosts"
}

start_origin() {
	"$OUT/origin" -ca "$OUT/origin-ca.pem" >"$OUT/origin.addr" 2>"$OUT/origin.log" &
	ORIGIN_PID=$!
	PIDS+=("$ORIGIN_PID")
	local i
	for i in $(seq 100); do
		[[ -s $OUT/origin.addr ]] && break
		sleep 0.1
	done
	ORIGIN_ADDR=$(head -1 "$OUT/origin.addr")
	[[ $ORIGIN_ADDR == 127.0.0.1:* ]] || die "origin did not start: $(cat "$OUT/origin.log")"
	log "origin on $ORIGIN_ADDR (pid $ORIGIN_PID)"
}

start_edge() {
	cat >"$OUT/edge.toml" <<-EOF
		listen = "127.0.0.1:$EDGE_PORT"
		domains = ["$HOST"]
		state_dir = "$OUT/edge-state"
		log_level = "warn"
		admin_listen = "$EDGE_ADMIN"
		admin_pprof = $([[ -n $EDGE_ADMIN ]] && echo true || echo false)
		[tls]
		mode = "files"
		cert_file = "$OUT/tls/leaf.pem"
		key_file = "$OUT/tls/leaf.key"
		[origin]
		site = "www.rferl.org"
		hosts = $("$OUT/origin" -hosts www.rferl.org,www.voanews.com)
		resolve = { "*" = "$ORIGIN_ADDR" }
		ca_file = "$OUT/origin-ca.pem"
		rate_limit = 0.0
		compressed = $ORIGIN_COMPRESSED
		http2 = $ORIGIN_HTTP2
		[cache]
		dir = "$OUT/edge-cache"
		max_size = "2GiB"
		[cache.ttl]
		"text/html" = "1h"
	EOF
	"$OUT/zerkalo" serve --config "$OUT/edge.toml" 2>"$OUT/edge.log" &
	EDGE_PID=$!
	PIDS+=("$EDGE_PID")
	wait_https "$EDGE_PORT" /
	log "edge on 127.0.0.1:$EDGE_PORT (pid $EDGE_PID)"
}

# The static server's files: the edge's own rewritten bytes, as the edge
# serves them to a gzip-accepting reader, and the identity body beside them.
snapshot_edge() {
	local p f
	for p in "${PAGES[@]}"; do
		f=$OUT/static${p%/}
		[[ $p == / ]] && f=$OUT/static/index.html
		mkdir -p "$(dirname "$f")"
		fetch "$EDGE_PORT" "$p" identity >"$f"
		fetch "$EDGE_PORT" "$p" gzip >"$f.gz"
		gzip -t "$f.gz" || die "edge gzip body of $p is damaged"
		cmp -s <(gzip -dc "$f.gz") "$f" || die "edge gzip and identity bodies of $p differ"
	done
}

fetch() { # PORT PATH ENCODING: the body as served
	curl -fsS --max-time 10 --cacert "$OUT/ca.pem" --resolve "$HOST:$1:127.0.0.1" \
		-H "Accept-Encoding: $3" "https://$HOST:$1$2"
}

# The floor: fetch and gzip only (bench/floor), no rewrite, no store.
start_floor() {
	local proto=()
	[[ $ORIGIN_HTTP2 == true ]] && proto=(-origin-http2)
	"$OUT/floor" -listen "127.0.0.1:$FLOOR_PORT" -cert "$OUT/tls/leaf.pem" -key "$OUT/tls/leaf.key" \
		-origin "$ORIGIN_ADDR" -origin-ca "$OUT/origin-ca.pem" "${proto[@]}" 2>"$OUT/floor.log" &
	FLOOR_PID=$!
	PIDS+=("$FLOOR_PID")
	wait_https "$FLOOR_PORT" /
	log "floor on 127.0.0.1:$FLOOR_PORT (pid $FLOOR_PID)"
	# The hit floor: Go's net/http serving the static server's bytes.
	"$OUT/floor" -listen "127.0.0.1:$GOSTATIC_PORT" -cert "$OUT/tls/leaf.pem" -key "$OUT/tls/leaf.key" \
		-files "$OUT/static" 2>"$OUT/gostatic.log" &
	GOSTATIC_PID=$!
	PIDS+=("$GOSTATIC_PID")
	wait_https "$GOSTATIC_PORT" /
	log "Go static on 127.0.0.1:$GOSTATIC_PORT (pid $GOSTATIC_PID)"
}

# eotk_location PREFIX HOST SITE_HOST OTHER_HOSTS...: an nginx location
# that proxies PREFIX to HOST at the origin, EOTK style: cache the origin's
# identity bytes, rewrite them with sub_filter (SITE_HOST, if not empty,
# to "/", the others to /_z/HOST/) and compress them again on every
# response.
eotk_location() {
	local prefix=$1 host=$2 site=$3 h subs=""
	shift 3
	for h in $site "$@"; do
		local to=/_z/$h/
		[[ $h == "$site" ]] && to=/
		subs+="sub_filter 'https://$h/' '$to'; sub_filter '//$h/' '$to'; sub_filter 'https:\\/\\/$h\\/' '${to//\//\\/}';
"
	done
	cat <<-EOF
		location $prefix {
		  proxy_pass https://origin/;
		  proxy_http_version 1.1;
		  proxy_set_header Connection "";
		  proxy_set_header Host $host;
		  proxy_set_header Accept-Encoding "";
		  proxy_ssl_server_name on;
		  proxy_ssl_name $host;
		  proxy_ssl_verify on;
		  proxy_ssl_trusted_certificate $OUT/origin-ca.pem;
		  proxy_ssl_session_reuse on;
		  proxy_buffering on;
		  proxy_cache eotk;
		  proxy_cache_revalidate on;
		  proxy_cache_use_stale error timeout updating;
		  proxy_ignore_headers Cache-Control Expires;
		  proxy_cache_valid 200 1h;
		  proxy_hide_header Server;
		  proxy_hide_header X-Powered-By;
		  proxy_hide_header X-AspNet-Version;
		  add_header X-Cache \$upstream_cache_status;
		  $subs
		  sub_filter_once off;
		  sub_filter_types *;
		  gzip on;
		  gzip_types *;
		  gzip_vary on;
		}
	EOF
}

start_nginx() {
	mkdir -p "$OUT/nginx/cache" "$OUT/nginx/tmp"
	local user=""
	[[ $(id -u) == 0 ]] && user="user root;"
	# EOTK rewrites the site's host names in bodies: here the same mapping
	# the edge uses, www.rferl.org at the root and every other host of the
	# family under /_z/HOST/, in plain, protocol-relative and JSON-escaped
	# form; VOA's article page under /_z/www.voanews.com/ likewise.
	local rferl voa
	rferl=$(eotk_location / www.rferl.org www.rferl.org gdb.rferl.org pressroom.rferl.org www.rferl.mobi docs.rferl.org)
	voa=$(eotk_location /_z/www.voanews.com/ www.voanews.com "" www.voanews.com gdb.voanews.com av.voanews.com docs.voanews.eu)
	cat >"$OUT/nginx.conf" <<-EOF
		$user
		worker_processes 2;
		pid $OUT/nginx/nginx.pid;
		error_log $OUT/nginx/error.log warn;
		events { worker_connections 4096; }
		http {
		  include /etc/nginx/mime.types;
		  default_type application/octet-stream;
		  access_log off;
		  server_tokens off;
		  sendfile off;
		  keepalive_requests 100000;
		  keepalive_timeout 120s;
		  client_body_temp_path $OUT/nginx/tmp/body;
		  proxy_temp_path $OUT/nginx/tmp/proxy;
		  fastcgi_temp_path $OUT/nginx/tmp/fastcgi;
		  uwsgi_temp_path $OUT/nginx/tmp/uwsgi;
		  scgi_temp_path $OUT/nginx/tmp/scgi;
		  ssl_certificate $OUT/tls/leaf.pem;
		  ssl_certificate_key $OUT/tls/leaf.key;
		  ssl_protocols TLSv1.2 TLSv1.3;
		  ssl_session_cache shared:SSL:10m;

		  upstream origin {
		    server $ORIGIN_ADDR;
		    keepalive 32;
		  }
		  proxy_cache_path $OUT/nginx/cache levels=1:2 keys_zone=eotk:16m max_size=2g inactive=1h use_temp_path=off;

		  # EOTK style: cache the origin's identity bytes, rewrite them with
		  # sub_filter and compress them again on every response.
		  server {
		    listen 127.0.0.1:$EOTK_PORT ssl http2 reuseport;
		    server_name $HOST;
		$rferl
		$voa
		  }

		  # The practical limit: the edge's rewritten bytes, pre-gzipped.
		  server {
		    listen 127.0.0.1:$STATIC_PORT ssl http2 reuseport;
		    server_name $HOST;
		    root $OUT/static;
		    index index.html;
		    default_type text/html;
		    gzip_static on;
		    gzip_vary on;
		  }
		}
	EOF
	nginx -t -q -e "$OUT/nginx/error.log" -c "$OUT/nginx.conf" || die "nginx config: $(cat "$OUT/nginx/error.log")"
	nginx -e "$OUT/nginx/error.log" -c "$OUT/nginx.conf" -g 'daemon off;' &
	NGINX_PID=$!
	PIDS+=("$NGINX_PID")
	wait_https "$EOTK_PORT" /
	wait_https "$STATIC_PORT" /
	log "nginx on :$EOTK_PORT (eotk) and :$STATIC_PORT (static), pids $(server_pids nginx)"
}

# ---------------------------------------------------------------- checks

# check PORT PATH WANT_CACHE: a gzip response, its cache state, no
# absolute link to the primary origin host left in it.
check() {
	local hdr body
	hdr=$(curl -fsS --max-time 10 -D - -o "$OUT/check.gz" --cacert "$OUT/ca.pem" \
		--resolve "$HOST:$1:127.0.0.1" -H 'Accept-Encoding: gzip' "https://$HOST:$1$2" | tr -d '\r')
	grep -qi '^content-encoding: gzip' <<<"$hdr" || die "$1$2: not gzip: $hdr"
	if [[ -n $3 ]]; then
		grep -qi "^x-cache: $3" <<<"$hdr" || die "$1$2: want X-Cache $3: $hdr"
	fi
	body=$(gzip -dc "$OUT/check.gz" | wc -c)
	((body > 5000)) || die "$1$2: body only $body bytes"
	local site=www.rferl.org
	[[ $2 == /_z/* ]] && site=${2#/_z/} && site=${site%%/*}
	if gzip -dc "$OUT/check.gz" | grep -qF "https://$site/"; then
		die "$1$2: body still links https://$site/"
	fi
	echo "$body"
}

# clear_out moves an earlier run's files aside, to be removed after this
# run's loads (remove_old). On ext4 without a journal, a new inode skips,
# one by one, every free inode of its group freed in the last minute, or
# in the last six while their inode table block is dirty (the kernel's
# find_inode_bit and recently_deleted): right after the thousands of files
# of a run are removed, each file creation costs up to a millisecond of
# kernel CPU, and both the edge and nginx create a file per miss. Leave
# six minutes between runs there for comparable miss figures.
clear_out() {
	if [[ -d $OUT ]]; then
		mv "$OUT" "$OUT.old.$$"
	fi
}

remove_old() {
	rm -rf "$OUT".old.*
}

# ---------------------------------------------------------------- loads

RESULTS=$OUT/results.tsv

# record CASE SERVER PROTO REQS SECS P50 P99 ERRS TICKS RSS0 RSS1 ORIGIN_REQS OTHERS%
record() {
	local cpu pid
	for pid in "$EDGE_PID" "$NGINX_PID" "$ORIGIN_PID" "$FLOOR_PID" "$GOSTATIC_PID"; do
		kill -0 "$pid" 2>/dev/null || die "process $pid died during $1 $2 $3; edge log: $(tail -20 "$OUT/edge.log")"
	done
	cpu=$(awk -v t="$9" -v n="$4" -v u="$TICK_US" 'BEGIN { printf "%.0f", n ? t * u / n : 0 }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" \
		"$(awk -v n="$4" -v s="$5" 'BEGIN { printf "%.0f", n / s }')" "$6" "$7" "$cpu" \
		"$((${10} / 1024))" "$((${11} / 1024))" "$8" "$4" "${12}" "${13}" >>"$RESULTS"
}

# to_ms VALUE-WITH-UNIT (wrk: 812.00us, 1.23ms, 2.01s)
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
	}'
}

# wrk_run CASE SERVER PORT PATH [LUA]: HTTP/1.1 load.
wrk_run() {
	local name=$1 server=$2 port=$3 path=$4 lua=${5:-} pids t0 t1 r0 r1 o0 o1 out f
	pids=$(server_pids "$server")
	local args=(-t"$THREADS" -c"$CONNS" -d"${DUR}s" --timeout 10s --latency -H "Accept-Encoding: $ACCEPT_ENCODING")
	[[ -n $lua ]] && args+=(-s "$lua")
	f=$OUT/$name-$server-h1.txt
	r0=$(rss_kb $pids) o0=$(origin_requests) t0=$(ticks $pids $ORIGIN_PID)
	local ns=$(now_ns) b0=$(busy)
	(
		in_hosts timeout "$LIMIT" wrk "${args[@]}" "https://$HOST:$port$path" -- "$RUN_ID-$server" >"$f"
		cat "/proc/$BASHPID/stat" >"$OUT/client.stat"
	)
	local b1=$(busy)
	t1=$(ticks $pids $ORIGIN_PID) r1=$(rss_kb $pids) o1=$(origin_requests)
	local oth
	oth=$(others "$ns" "$b0" "$b1" "$(ticks_delta "$t0" "$t1")" "$(child_ticks "$OUT/client.stat")")
	t0=$(grep -v "^$ORIGIN_PID " <<<"$t0") t1=$(grep -v "^$ORIGIN_PID " <<<"$t1")
	out=$(cat "$f")
	local reqs secs p50 p99 errs
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	secs=$(awk '/requests in/ {sub(/s,$/, "", $4); print $4}' <<<"$out")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
	errs=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")
	[[ -n $reqs && $reqs -gt 0 ]] || die "wrk $name $server: no requests: $out"
	record "$name" "$server" h1 "$reqs" "$secs" "$p50" "$p99" "$errs" "$(ticks_delta "$t0" "$t1")" "$r0" "$r1" "$((o1 - o0))" "$oth"
	log "$(tail -1 "$RESULTS")"
}

# h2_run CASE SERVER PORT PATH [miss]: HTTP/2 load. For the miss path,
# MISS_PROCS h2load processes each walk their own list of unique URLs
# (one h2load walks the same list in every connection).
h2_run() {
	local name=$1 server=$2 port=$3 path=$4 miss=${5:-} pids t0 t1 r0 r1 o0 o1 k
	pids=$(server_pids "$server")
	local base=(-D "$DUR" -H "accept-encoding: $ACCEPT_ENCODING" --connect-to="127.0.0.1:$port")
	rm -f "$OUT"/h2log-*
	r0=$(rss_kb $pids) o0=$(origin_requests) t0=$(ticks $pids $ORIGIN_PID)
	local ns=$(now_ns) b0=$(busy)
	(
	if [[ -z $miss ]]; then
		timeout "$LIMIT" h2load "${base[@]}" -t"$THREADS" -c"$H2_CLIENTS" -m"$H2_STREAMS" \
			--log-file="$OUT/h2log-0" "https://$HOST$path" >"$OUT/$name-$server-h2.txt"
	else
		local per=$((H2_CLIENTS * H2_STREAMS / MISS_PROCS)) hp=()
		((per > 0)) || per=1
		for k in $(seq "$MISS_PROCS"); do
			seq 200000 | awk -v u="https://$HOST$path?zb=$RUN_ID-$server-h2-$k-" '{print u $1}' >"$OUT/h2uris-$k"
			timeout "$LIMIT" h2load "${base[@]}" -c1 -m"$per" -i "$OUT/h2uris-$k" \
				--log-file="$OUT/h2log-$k" >"$OUT/$name-$server-h2-$k.txt" &
			hp+=($!)
		done
		for k in "${hp[@]}"; do wait "$k"; done
	fi
	cat "/proc/$BASHPID/stat" >"$OUT/client.stat"
	)
	local b1=$(busy)
	t1=$(ticks $pids $ORIGIN_PID) r1=$(rss_kb $pids) o1=$(origin_requests)
	local oth
	oth=$(others "$ns" "$b0" "$b1" "$(ticks_delta "$t0" "$t1")" "$(child_ticks "$OUT/client.stat")")
	t0=$(grep -v "^$ORIGIN_PID " <<<"$t0") t1=$(grep -v "^$ORIGIN_PID " <<<"$t1")
	# h2load's per-request log: start (µs since epoch), status, duration (µs).
	cat "$OUT"/h2log-* >"$OUT/h2log"
	local reqs errs p50 p99
	reqs=$(wc -l <"$OUT/h2log")
	errs=$(awk '$2 < 200 || $2 > 399 { e++ } END { print e + 0 }' "$OUT/h2log")
	[[ $reqs -gt 0 ]] || die "h2load $name $server: no requests: $(cat "$OUT/$name-$server"-h2*.txt)"
	p50=$(percentile 0.50 <"$OUT/h2log")
	p99=$(percentile 0.99 <"$OUT/h2log")
	record "$name" "$server" h2 "$reqs" "$DUR" "$p50" "$p99" "$errs" "$(ticks_delta "$t0" "$t1")" "$r0" "$r1" "$((o1 - o0))" "$oth"
	log "$(tail -1 "$RESULTS")"
}

# percentile P: the P-quantile, in ms, of column 3 (µs) of h2load's log.
percentile() {
	awk '{ print $3 }' | sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p) + 1; if (i > NR) i = NR; printf "%.2f", v[i] / 1000 }'
}

server_pids() {
	case $1 in
	edge) echo "$EDGE_PID" ;;
	floor) echo "$FLOOR_PID" ;;
	gostatic) echo "$GOSTATIC_PID" ;;
	*) echo "$NGINX_PID" $(pgrep -P "$NGINX_PID") ;;
	esac
}

port_of() {
	case $1 in
	edge) echo "$EDGE_PORT" ;;
	eotk) echo "$EOTK_PORT" ;;
	static) echo "$STATIC_PORT" ;;
	floor) echo "$FLOOR_PORT" ;;
	gostatic) echo "$GOSTATIC_PORT" ;;
	esac
}

# in_hosts CMD...: runs CMD with a private /etc/hosts that names mirror.test.
in_hosts() {
	if getent hosts "$HOST" >/dev/null; then
		"$@"
	else
		unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$OUT/hosts" "$@"
	fi
}

write_lua() {
	cat >"$OUT/miss.lua" <<-'EOF'
		-- Every request a new URL: ?zb=RUN-SERVER-THREAD-N.
		local threads = 0
		function setup(thread)
		  threads = threads + 1
		  thread:set("tid", threads)
		end
		local prefix, n = "x", 0
		function init(args)
		  prefix = args[1] or prefix
		end
		function request()
		  n = n + 1
		  return wrk.format(nil, wrk.path .. "?zb=" .. prefix .. "-" .. tid .. "-" .. n)
		end
	EOF
}

# ---------------------------------------------------------------- report

report() {
	local f=$OUT/table.md
	{
		echo "| case | server | proto | req/s | p50 ms | p99 ms | CPU µs/req | RSS MB before→after | errors | requests | origin requests | others %CPU |"
		echo "|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"
		awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s→%s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }' "$RESULTS"
		echo
		echo "| ratio | proto | page | value | target |"
		echo "|---|---|---|---:|---|"
		awk -F'\t' '
			function div(a, b) { return b == 0 ? 0 : a / b }
			{ rps[$1 FS $2 FS $3] = $4; cpu[$1 FS $2 FS $3] = $7; ran[substr($1, 1, 3)] = 1 }
			END {
				np = split("article voa-article front", pages, " "); split("h1 h2", protos, " ")
				for (i = 1; i <= np; i++) for (j = 1; j <= 2; j++) {
					if (!ran["hit"]) break
					pg = pages[i]; pr = protos[j]; k = "hit-" pg
					r = div(rps[k FS "edge" FS pr], rps[k FS "eotk" FS pr])
					printf "| edge hits / nginx EOTK hits (req/s) | %s | %s | %.1f× | ≥ 5× %s |\n", pr, pg, r, (r >= 5 ? "✔" : "✘")
					r = div(cpu[k FS "edge" FS pr], cpu[k FS "static" FS pr])
					printf "| edge CPU/hit / nginx static CPU/hit | %s | %s | %.2f× | ≤ 2× %s |\n", pr, pg, r, (r <= 2 ? "✔" : "✘")
					r = div(cpu[k FS "gostatic" FS pr], cpu[k FS "static" FS pr])
					printf "| Go static CPU/hit / nginx static CPU/hit | %s | %s | %.2f× | (the bound) |\n", pr, pg, r
				}
				for (j = 1; j <= 2; j++) {
					if (!ran["mis"]) break
					pr = protos[j]
					r = div(rps["miss-front" FS "edge" FS pr], rps["miss-front" FS "eotk" FS pr])
					printf "| edge misses / nginx sub_filter misses (req/s) | %s | front | %.2f× | ≥ 1.5× %s |\n", pr, r, (r >= 1.5 ? "✔" : "✘")
					r = div(rps["miss-front" FS "floor" FS pr], rps["miss-front" FS "eotk" FS pr])
					printf "| floor (fetch + gzip only) / nginx sub_filter misses (req/s) | %s | front | %.2f× | (the bound) |\n", pr, r
				}
				# The same comparisons by CPU per request, which other load on
				# the machine disturbs far less than requests per second.
				for (i = 1; i <= np; i++) for (j = 1; j <= 2; j++) {
					if (!ran["hit"]) break
					pg = pages[i]; pr = protos[j]; k = "hit-" pg
					r = div(cpu[k FS "eotk" FS pr], cpu[k FS "edge" FS pr])
					printf "| nginx EOTK CPU/hit ÷ edge CPU/hit | %s | %s | %.1f× | (≥ 5×) |\n", pr, pg, r
				}
				for (j = 1; j <= 2; j++) {
					if (!ran["mis"]) break
					pr = protos[j]
					r = div(cpu["miss-front" FS "eotk" FS pr], cpu["miss-front" FS "edge" FS pr])
					printf "| nginx CPU/miss ÷ edge CPU/miss | %s | front | %.2f× | (≥ 1.5×) |\n", pr, r
					r = div(cpu["miss-front" FS "eotk" FS pr], cpu["miss-front" FS "floor" FS pr])
					printf "| nginx CPU/miss ÷ floor CPU/miss | %s | front | %.2f× | (the bound) |\n", pr, r
				}
			}' "$RESULTS"
	} >"$f"
	cat "$f"
}

# ---------------------------------------------------------------- main

# run_hits loads every server with cache hits of both pages.
run_hits() {
	local s page path
	log "warming up (hits)"
	for s in edge eotk static gostatic; do
		in_hosts timeout 20 wrk -t"$THREADS" -c"$CONNS" -d2s -H "Accept-Encoding: $ACCEPT_ENCODING" "https://$HOST:$(port_of "$s")/" >/dev/null
	done
	for page in article voa-article front; do
		case $page in
		article) path=$ARTICLE ;;
		voa-article) path=$VOA_ARTICLE ;;
		*) path=/ ;;
		esac
		for s in edge eotk static gostatic; do
			wrk_run "hit-$page" "$s" "$(port_of "$s")" "$path"
			h2_run "hit-$page" "$s" "$(port_of "$s")" "$path"
		done
	done
}

# run_misses loads the edge and nginx EOTK-style with new URLs only.
run_misses() {
	local s
	log "warming up (misses)"
	for s in edge eotk floor; do
		in_hosts timeout 20 wrk -t"$THREADS" -c"$CONNS" -d2s -H "Accept-Encoding: $ACCEPT_ENCODING" -s "$OUT/miss.lua" \
			"https://$HOST:$(port_of "$s")/" -- "warm-$RUN_ID-$s" >/dev/null
	done
	# One protocol at a time, the servers one after the other, so that
	# what changes on the machine over a run (see clear_out) touches them
	# alike.
	for s in edge eotk floor; do
		wrk_run miss-front "$s" "$(port_of "$s")" / "$OUT/miss.lua"
	done
	for s in edge eotk floor; do
		h2_run miss-front "$s" "$(port_of "$s")" / miss
	done
}

main() {
	need_tools
	command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
	for p in "$EDGE_PORT" "$EOTK_PORT" "$STATIC_PORT" "$FLOOR_PORT" "$GOSTATIC_PORT"; do
		port_free "$p" || die "port $p is in use (set PORT_BASE)"
	done
	clear_out
	mkdir -p "$OUT"
	log "building"
	if [[ -n ${ZERKALO_BIN:-} ]]; then
		cp "$ZERKALO_BIN" "$OUT/zerkalo"
	else
		go build -o "$OUT/zerkalo" ./cmd/zerkalo
	fi
	go build -o "$OUT/origin" ./bench/origin
	go build -o "$OUT/floor" ./bench/floor
	make_certs
	write_lua
	start_origin
	start_edge
	check "$EDGE_PORT" / "" >/dev/null
	check "$EDGE_PORT" "$ARTICLE" "" >/dev/null
	check "$EDGE_PORT" "$VOA_ARTICLE" "" >/dev/null
	snapshot_edge
	start_nginx
	start_floor
	local s p
	for s in edge eotk static gostatic; do
		for p in "${PAGES[@]}"; do
			check "$(port_of "$s")" "$p" "" >/dev/null # fills the caches
			if [[ $s == edge || $s == eotk ]]; then
				check "$(port_of "$s")" "$p" HIT >/dev/null
			fi
		done
		# Every miss-path request is new to both caches.
		check "$(port_of "$s")" "/?zb=check-$RUN_ID-$s" "$([[ $s == static || $s == gostatic ]] || echo MISS)" >/dev/null
	done
	if [[ ${1:-} == --serve ]]; then
		log "serving until interrupted: edge :$EDGE_PORT (pid $EDGE_PID), eotk :$EOTK_PORT, static :$STATIC_PORT (nginx pids $(server_pids nginx)), origin $ORIGIN_ADDR (pid $ORIGIN_PID); CA $OUT/ca.pem"
		sleep infinity &
		wait $! || true
		return
	fi
	: >"$RESULTS"
	if [[ " $CASES " == *" hit "* ]]; then run_hits; fi
	if [[ " $CASES " == *" miss "* ]]; then run_misses; fi
	echo
	echo "command: bench/run.sh (CASES=\"$CASES\" ORIGIN_COMPRESSED=$ORIGIN_COMPRESSED DUR=$DUR THREADS=$THREADS CONNS=$CONNS H2_CLIENTS=$H2_CLIENTS H2_STREAMS=$H2_STREAMS MISS_PROCS=$MISS_PROCS ACCEPT_ENCODING=\"$ACCEPT_ENCODING\")"
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); $(nginx -v 2>&1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(h2load --version | head -1); $(go version | cut -d' ' -f3)"
	echo
	report
	remove_old
}

main "$@"
