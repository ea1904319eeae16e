#!/bin/bash
# tests/postfix/setup.sh -- install and configure Debian's Postfix on loopback
# as the reference server for smtpsend interoperability tests and benchmarks.
#
# Idempotent: run it as often as you like.  When Postfix is already set up
# and running it only re-checks the configuration (reloading Postfix only if
# something changed) and runs verify.py.  Works with or without systemd.
# Must run as root.  Quiet on success apart from the final variable list,
# which is also written to tests/postfix/env.sh.  See tests/postfix/README.
set -euo pipefail
export LC_ALL=C
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PF_DIR=/etc/postfix/smtpsend-test          # our certs, maps, sasldb
SERVER_NAME=localhost.test.example         # myhostname, also the SASL realm
MAIL_USER=smtptest
MAIL_HOME=/home/smtptest
SASL_USER=tester
SASL_PASS=testpass
PF_LOG=/var/log/postfix.log                # Postfix's own logging (no syslog needed)
PACKAGES=(postfix sasl2-bin libsasl2-modules openssl)

LOG=$(mktemp /tmp/smtpsend-postfix-setup.XXXXXX)
show_pf_log=0   # set once Postfix itself is started/verified
trap 'rm -f "$LOG"' EXIT

die() {
    echo "tests/postfix/setup.sh: FAILED: $*" >&2
    if [ -s "$LOG" ]; then
        echo "---- last setup output ----" >&2
        tail -n 40 "$LOG" >&2
    fi
    if [ "$show_pf_log" = 1 ] && [ -s "$PF_LOG" ]; then
        echo "---- last lines of $PF_LOG ----" >&2
        tail -n 25 "$PF_LOG" >&2
    fi
    exit 1
}
# run CMD...: run quietly, log output, die on failure
run() { "$@" >>"$LOG" 2>&1 || die "command failed: $*"; }

[ "$(id -u)" = 0 ] || die "must run as root"
start_time=$(date +%s)

# ---------------------------------------------------------------- packages --
pkg_missing() {
    local p
    for p in "${PACKAGES[@]}"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || return 0
    done
    return 1
}
if pkg_missing || ! command -v postconf >/dev/null; then
    mailname=$SERVER_NAME
    [ -s /etc/mailname ] && mailname=$(head -n1 /etc/mailname)
    # Preseed so that the install never prompts.  'Local only' gives a
    # loopback-only main.cf that we then adjust below.
    debconf-set-selections <<EOF
postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string $mailname
postfix postfix/root_address string
postfix postfix/protocols select ipv4
EOF
    apt_install() {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${PACKAGES[@]}" >>"$LOG" 2>&1
    }
    if ! apt_install; then
        # most likely no (or stale) package lists: update once and retry
        run apt-get update -q
        apt_install || die "apt-get install ${PACKAGES[*]} failed"
    fi
    pkg_missing && die "packages still missing after install: ${PACKAGES[*]}"
fi
[ -f /etc/postfix/main.cf ] || run cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf

# Snapshot of everything Postfix reads, to know whether a reload is needed.
config_state() {
    {
        postconf -n 2>&1
        postconf -M 2>&1
        cat /etc/postfix/sasl/smtpd.conf "$PF_DIR"/*.pem "$PF_DIR"/recipient_access \
            "$PF_DIR"/transport "$PF_DIR"/virtual_alias.regexp 2>/dev/null || true
    } | sha256sum
}
state_before=$(config_state)

# Keep one copy of the configuration as it was before we first touched it.
for f in main.cf master.cf; do
    [ -e /etc/postfix/$f.pre-smtpsend ] || run cp -p /etc/postfix/$f /etc/postfix/$f.pre-smtpsend
done

# write_if_changed FILE MODE OWNER:GROUP  (content on stdin)
write_if_changed() {
    local file=$1 mode=$2 owner=$3 tmp
    tmp=$(mktemp "$file.XXXXXX")
    cat >"$tmp"
    if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
    else
        mv -f "$tmp" "$file"
    fi
    chmod "$mode" "$file"
    chown "$owner" "$file"
}

# ------------------------------------------------------------ mail user ----
if ! id -u "$MAIL_USER" >/dev/null 2>&1; then
    if getent group "$MAIL_USER" >/dev/null; then grp=(-g "$MAIL_USER"); else grp=(-U); fi
    run useradd -m -d "$MAIL_HOME" -s /usr/sbin/nologin "${grp[@]}" -c "smtpsend test mailbox" "$MAIL_USER"
fi
MAIL_HOME=$(getent passwd "$MAIL_USER" | cut -d: -f6)
[ -d "$MAIL_HOME" ] || run install -d -o "$MAIL_USER" -g "$(id -gn "$MAIL_USER")" -m 0755 "$MAIL_HOME"
for d in Maildir Maildir/new Maildir/cur Maildir/tmp; do
    [ -d "$MAIL_HOME/$d" ] || run install -d -o "$MAIL_USER" -g "$(id -gn "$MAIL_USER")" -m 0700 "$MAIL_HOME/$d"
done

# --------------------------------------------------------- certificates ----
install -d -m 0755 "$PF_DIR"
cert_ok() {
    [ -s "$PF_DIR/ca.pem" ] && [ -s "$PF_DIR/cert.pem" ] && [ -s "$PF_DIR/key.pem" ] || return 1
    openssl x509 -noout -checkend 86400 -in "$PF_DIR/ca.pem" >/dev/null 2>&1 || return 1
    openssl x509 -noout -checkend 86400 -in "$PF_DIR/cert.pem" >/dev/null 2>&1 || return 1
    openssl verify -CAfile "$PF_DIR/ca.pem" "$PF_DIR/cert.pem" >/dev/null 2>&1 || return 1
    # key matches certificate
    [ "$(openssl x509 -noout -pubkey -in "$PF_DIR/cert.pem" 2>/dev/null)" = \
      "$(openssl pkey -pubout -in "$PF_DIR/key.pem" 2>/dev/null)" ] || return 1
    openssl x509 -noout -ext subjectAltName -in "$PF_DIR/cert.pem" 2>/dev/null \
        | grep -q 'DNS:localhost, IP Address:127.0.0.1' || return 1
}
if ! cert_ok; then
    tmpd=$(mktemp -d)
    cat >"$tmpd/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = smtpsend test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
    cat >"$tmpd/srv.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = localhost
[v3_srv]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
    # Reuse a still valid CA (tests may have pinned it); otherwise make one.
    if ! { [ -s "$PF_DIR/ca.pem" ] && [ -s "$PF_DIR/ca-key.pem" ] &&
           openssl x509 -noout -checkend 86400 -in "$PF_DIR/ca.pem" >/dev/null 2>&1; }; then
        run openssl req -x509 -config "$tmpd/ca.cnf" -newkey rsa:2048 -nodes -sha256 -days 3650 \
            -keyout "$tmpd/ca-key.pem" -out "$tmpd/ca.pem"
        install -m 0600 "$tmpd/ca-key.pem" "$PF_DIR/ca-key.pem"
        install -m 0644 "$tmpd/ca.pem" "$PF_DIR/ca.pem"
    fi
    run openssl req -new -config "$tmpd/srv.cnf" -newkey rsa:2048 -nodes -sha256 \
        -keyout "$tmpd/key.pem" -out "$tmpd/srv.csr"
    run openssl x509 -req -in "$tmpd/srv.csr" -CA "$PF_DIR/ca.pem" -CAkey "$PF_DIR/ca-key.pem" \
        -set_serial "0x$(openssl rand -hex 12)" -days 3650 -sha256 \
        -extfile "$tmpd/srv.cnf" -extensions v3_srv -out "$tmpd/cert.pem"
    install -m 0600 "$tmpd/key.pem" "$PF_DIR/key.pem"
    install -m 0644 "$tmpd/cert.pem" "$PF_DIR/cert.pem"
    rm -rf "$tmpd"
    cert_ok || die "generated certificate does not verify"
fi

# ----------------------------------------------------------------- SASL ----
# Cyrus SASL with a sasldb of our own (the machine's /etc/sasldb2 is left alone).
# smtpd runs unchrooted (see master.cf below), so the absolute path works.
install -d -m 0755 /etc/postfix/sasl
write_if_changed /etc/postfix/sasl/smtpd.conf 0644 root:root <<EOF
# Written by smtpsend tests/postfix/setup.sh
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN CRAM-MD5
sasldb_path: $PF_DIR/sasldb2
EOF
# Users live in realm \$smtpd_sasl_local_domain (= $SERVER_NAME), so clients
# log in with the bare name "$SASL_USER".  Setting the password is cheap and idempotent.
printf '%s' "$SASL_PASS" | saslpasswd2 -p -c -f "$PF_DIR/sasldb2" -u "$SERVER_NAME" "$SASL_USER" >>"$LOG" 2>&1 \
    || die "saslpasswd2 failed"
chown root:postfix "$PF_DIR/sasldb2"
chmod 0640 "$PF_DIR/sasldb2"

# ----------------------------------------------------------------- maps ----
write_if_changed "$PF_DIR/recipient_access" 0644 root:root <<'EOF'
# check_recipient_access (texthash: no postmap needed)
reject.example	550 5.1.2 no such domain (smtpsend test)
defer.example	450 4.3.0 try again later (smtpsend test)
EOF
write_if_changed "$PF_DIR/transport" 0644 root:root <<'EOF'
# transport_maps (texthash): accepted and thrown away, for benchmarks
discard.example	discard:discarded by smtpsend test setup
EOF
write_if_changed "$PF_DIR/virtual_alias.regexp" 0644 root:root <<EOF
# Every address in the local domains goes to the Unix user $MAIL_USER
# (bare "tester" becomes tester@$SERVER_NAME through \$myorigin).
if !/^$MAIL_USER@/
/@(test\.example|localhost|localhost\.test\.example)\$/	$MAIL_USER@$SERVER_NAME
endif
EOF

# -------------------------------------------------------------- main.cf ----
M="$PF_DIR"
main_settings=(
    "myhostname = $SERVER_NAME"
    "mydomain = test.example"
    "myorigin = \$myhostname"
    "mydestination = \$myhostname, localhost, localhost.localdomain, test.example"
    "inet_interfaces = loopback-only"
    "inet_protocols = ipv4"
    "mynetworks = 127.0.0.0/8"
    "relay_domains ="
    "smtpd_banner = \$myhostname ESMTP Postfix (smtpsend test)"
    "biff = no"
    "append_dot_mydomain = no"
    # delivery
    "home_mailbox = Maildir/"
    "mailbox_command ="
    "mailbox_size_limit = 0"
    "message_size_limit = 300000000"
    "alias_maps = hash:/etc/aliases"
    "alias_database = hash:/etc/aliases"
    "virtual_alias_maps = regexp:$M/virtual_alias.regexp"
    "transport_maps = texthash:$M/transport"
    # nothing ever leaves this machine: other domains bounce at once
    "default_transport = error:5.7.1 outbound delivery disabled (smtpsend test)"
    "relay_transport = error:5.7.1 outbound delivery disabled (smtpsend test)"
    # restrictions (same on every port; 10587/10465 tighten them in master.cf)
    "smtpd_delay_reject = yes"
    "smtpd_client_restrictions ="
    "smtpd_helo_restrictions ="
    "smtpd_sender_restrictions ="
    "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"
    "smtpd_recipient_restrictions = check_recipient_access texthash:$M/recipient_access"
    "smtpd_error_sleep_time = 0s"
    "in_flow_delay = 0s"
    # no DNS, no waiting on it
    "smtpd_peername_lookup = no"
    "smtp_dns_support_level = disabled"
    "smtp_host_lookup = native"
    "lmtp_host_lookup = native"
    # ESMTP extensions: keep all of them (PIPELINING CHUNKING 8BITMIME SIZE DSN SMTPUTF8)
    "smtputf8_enable = yes"
    "smtpd_discard_ehlo_keywords ="
    "smtpd_discard_ehlo_keyword_address_maps ="
    # TLS: off by default, turned on per service in master.cf
    "smtpd_tls_cert_file = $M/cert.pem"
    "smtpd_tls_key_file = $M/key.pem"
    "smtpd_tls_security_level = none"
    "smtpd_tls_auth_only = yes"
    "smtpd_tls_loglevel = 0"
    # SASL: off by default, turned on per service in master.cf
    "smtpd_sasl_auth_enable = no"
    "smtpd_sasl_type = cyrus"
    "smtpd_sasl_path = smtpd"
    "cyrus_sasl_config_path = /etc/postfix/sasl"
    "smtpd_sasl_local_domain = \$myhostname"
    "smtpd_sasl_security_options = noanonymous"
    "smtpd_sasl_tls_security_options = noanonymous"
    "broken_sasl_auth_clients = no"
    # log to a file: containers usually have no syslog daemon
    "maillog_file = $PF_LOG"
)
# Settings that would change behaviour if a previous config had them: back to defaults.
reset_params=(
    relayhost content_filter smtpd_milters non_smtpd_milters smtpd_proxy_filter
    virtual_alias_domains virtual_mailbox_domains virtual_mailbox_maps
    canonical_maps sender_canonical_maps recipient_canonical_maps
    always_bcc sender_bcc_maps recipient_bcc_maps
    header_checks body_checks mime_header_checks nested_header_checks
    smtpd_data_restrictions smtpd_end_of_data_restrictions
    mailbox_transport fallback_transport luser_relay local_transport local_recipient_maps
    soft_bounce receive_override_options smtpd_command_filter smtpd_reject_footer
    disable_dns_lookups smtpd_tls_wrappermode smtpd_enforce_tls smtpd_use_tls
)

# Edit copies of main.cf/master.cf and install only what changed: an
# unchanged configuration is left untouched (no rewrite, no reload), and
# Postfix tools pause ~2 s after main.cf was modified, so rewriting it on
# every run would also make the "just verify" path slow.
stage=$(mktemp -d /etc/postfix/.smtpsend-stage.XXXXXX)
trap 'rm -f "$LOG"; rm -rf "$stage"' EXIT
cp -p /etc/postfix/main.cf /etc/postfix/master.cf "$stage/"
pcm() { postconf -c "$stage" "$@" >>"$LOG" 2>&1 || die "command failed: postconf $*"; }

# master.cf.  No port 25: only our three loopback listeners.
if postconf -c "$stage" -M smtp/inet 2>/dev/null | grep -q .; then
    pcm -M# smtp/inet
fi
sasl_opts="-o smtpd_sasl_auth_enable=yes -o smtpd_client_restrictions=permit_sasl_authenticated,reject -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
pcm -M "127.0.0.1:10025/inet=127.0.0.1:10025 inet n - n - - smtpd -o syslog_name=postfix/plain -o smtpd_tls_security_level=none -o smtpd_sasl_auth_enable=no"
pcm -M "127.0.0.1:10587/inet=127.0.0.1:10587 inet n - n - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt $sasl_opts"
pcm -M "127.0.0.1:10465/inet=127.0.0.1:10465 inet n - n - - smtpd -o syslog_name=postfix/smtps -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt $sasl_opts"
# Nothing chrooted: Debian's chroot under /var/spool/postfix would need
# copies of sasldb2, certs, resolv.conf... that 'postfix start' does not make.
for field in $(postconf -c "$stage" -F '*/*/chroot' | awk '$3 != "n" {print $1}'); do  # e.g. smtp/unix/chroot
    pcm -F "$field=n"
done

# main.cf: drop every parameter we set or reset (with continuation lines),
# then append our block.  Comments and all other settings are kept.
marker="# ---- smtpsend test server: written by tests/postfix/setup.sh ----"
names=$(printf '%s\n' "${main_settings[@]}" | sed 's/[ =].*//'; printf '%s\n' "${reset_params[@]}")
awk -v names="$names" -v marker="$marker" '
    BEGIN { n = split(names, a, "\n"); for (i = 1; i <= n; i++) drop[a[i]] = 1 }
    skipping && /^[ \t]+[^ \t]/ { next }            # continuation of a dropped parameter
    { skipping = 0 }
    $0 == marker { next }
    /^[A-Za-z0-9_]+[ \t]*=/ {
        name = $0; sub(/[ \t]*=.*/, "", name)
        if (name in drop) { skipping = 1; next }
    }
    /^[ \t]*$/ { blanks = blanks $0 "\n"; next }    # hold blank lines: no trailing ones
    { printf "%s%s\n", blanks, $0; blanks = "" }
' "$stage/main.cf" >"$stage/main.cf.new"
{ printf '\n%s\n' "$marker"; printf '%s\n' "${main_settings[@]}"; } >>"$stage/main.cf.new"
cat "$stage/main.cf.new" >"$stage/main.cf"   # keep mode/owner of the copy
rm -f "$stage/main.cf.new"

for f in master.cf main.cf; do
    if ! cmp -s "$stage/$f" "/etc/postfix/$f"; then
        mv -f "$stage/$f" "/etc/postfix/$f"
    fi
done
rm -rf "$stage"

# -------------------------------------------------------------- aliases ----
# local(8) needs the alias database even though no alias is used here.
if [ ! -e /etc/aliases ]; then
    printf '# See man 5 aliases for format\npostmaster:    root\n' >/etc/aliases
fi
if [ ! -e /etc/aliases.db ] || [ /etc/aliases -nt /etc/aliases.db ]; then
    run newaliases
fi

run postfix check

# ---------------------------------------------------------- start/reload ----
state_after=$(config_state)
show_pf_log=1
if postfix status >/dev/null 2>&1; then
    if [ "$state_before" != "$state_after" ]; then
        run postfix reload      # takes effect at once; verify.py retries refused connects
    fi
else
    # Postfix is not running, so our ports must be free.  (Postfix logs a
    # failed bind only to its log file, so say it clearly here.)
    busy=$(/usr/bin/python3 - <<'PYEOF'
import socket
busy = []
for port in (10025, 10587, 10465):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Postfix does: TIME_WAIT is fine
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        busy.append(str(port))
    finally:
        s.close()
print(" ".join(busy))
PYEOF
)
    if [ -n "$busy" ]; then
        who=$(ss -ltnpH 2>/dev/null | grep -E ":(${busy// /|}) " | grep -o 'users:.*' | tr '\n' ' ' || true)
        die "127.0.0.1 port(s) $busy already in use by another program ${who:-(see: ss -ltnp)}"
    fi
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        # systemd is PID 1: let it own the daemon (falls back to a direct start)
        systemctl start postfix >>"$LOG" 2>&1 || true
    fi
    postfix status >/dev/null 2>&1 || run postfix start
fi

# --------------------------------------------------------------- verify ----
vout=$(PF_HOST=127.0.0.1 PF_PLAIN_PORT=10025 PF_SUBMISSION_PORT=10587 PF_SMTPS_PORT=10465 \
       PF_USER="$SASL_USER" PF_PASS="$SASL_PASS" PF_CA="$PF_DIR/ca.pem" PF_MAILDIR="$MAIL_HOME/Maildir" \
       /usr/bin/python3 "$HERE/verify.py" 2>&1) || {
    printf '%s\n' "$vout" >&2
    die "verification of the Postfix test server failed (checks above)"
}

# ------------------------------------------------------------------ env ----
env_text="export PF_HOST=127.0.0.1
export PF_PLAIN_PORT=10025
export PF_SUBMISSION_PORT=10587
export PF_SMTPS_PORT=10465
export PF_USER=$SASL_USER
export PF_PASS=$SASL_PASS
export PF_CA=$PF_DIR/ca.pem
export PF_MAILDIR=$MAIL_HOME/Maildir"
printf '# Generated by tests/postfix/setup.sh -- do not commit.\n%s\n' "$env_text" >"$HERE/env.sh"
printf '%s\n' "$env_text"
if [ -n "${SMTPSEND_SETUP_TIMING:-}" ]; then
    echo "postfix setup took $(( $(date +%s) - start_time ))s" >&2
fi
