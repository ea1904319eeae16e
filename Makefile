# SPDX-License-Identifier: ISC
# smtpsend: see README.md. `make check` runs every test.
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
CC	?= cc
CFLAGS	?= -O2 -g
PYTHON	?= /usr/bin/python3

PKGS	 = libcurl libbsd-overlay openssl libidn2 json-c
# Ours come after the user's CFLAGS so that no CFLAGS turns them off.
WARN	 = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Wshadow \
	   -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
	   -Wwrite-strings -Wformat=2 -Wno-format-nonliteral -Werror=implicit \
	   -Wvla -fstack-protector-strong -D_FORTIFY_SOURCE=2
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = $(CFLAGS) $(WARN) $(PKG_CFLAGS) -Isrc -MMD -MP

B	?= build
SRCS	 = $(wildcard src/*.c)
OBJS	 = $(SRCS:src/%.c=$(B)/src/%.o)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNITS	 = $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

all: $(B)/smtpsend

# `make V=1` shows the commands.
Q	 = $(if $(V),,@)

$(B)/src/%.o: src/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/cmd/%.o: cmd/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -c -o $@ $<

$(B)/libsmtpsend.a: $(OBJS)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $(OBJS)

$(B)/smtpsend: $(B)/cmd/smtpsend.o $(B)/libsmtpsend.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/tests/%: $(B)/tests/%.o $(B)/libsmtpsend.a
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

.SECONDARY:

units: $(UNITS)

# Installs the Debian packages the build and tests need (as root), or
# says which command to run.
deps:
	@sh tests/deps.sh

# The interoperability tests start private servers of their own (see
# tests/servers/README): the machine's mail system is never touched.
# exec: make's SIGTERM (a CI time limit) then reaches run.py, which stops
# the programs and all they started, instead of a shell that would die alone.
check: deps all units
	@SMTPSEND=$(CURDIR)/$(B)/smtpsend UNITS="$(UNITS)" exec $(PYTHON) tests/run.py

# The whole suite again under AddressSanitizer and UBSan.
check-asan: deps
	$(MAKE) B=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -fno-sanitize-recover=all" all units
	SMTPSEND=$(CURDIR)/build-asan/smtpsend \
	    UNITS="$(UNITS:$(B)/%=build-asan/%)" \
	    ASAN_OPTIONS=detect_leaks=1 exec $(PYTHON) tests/run.py

# `make check` again in a Debian 13 chroot made with debootstrap (as root;
# kept in build/trixie for the next run): tests/trixie.sh.
check-trixie:
	sh tests/trixie.sh

# The suite on each host state it must pass on: host name, /etc/mailname,
# an MTA or none (tests/hoststates.py; HOSTSTATES= runs the whole suite in
# all 18 states, about an hour).
HOSTSTATES ?= --ci
check-hoststates: deps all units
	@SMTPSEND=$(CURDIR)/$(B)/smtpsend UNITS="$(UNITS)" \
	    exec $(PYTHON) tests/hoststates.py $(HOSTSTATES)

.PHONY: check-trixie check-hoststates

demo: deps all
	@sh tests/demo.sh $(B)/smtpsend

# Static checks, each clean: the manual, cppcheck, clang-tidy (.clang-tidy).
lint: deps
	mandoc -Tlint -Wwarning smtpsend.1
	cppcheck --quiet --enable=warning,performance,portability --std=c11 \
	    --error-exitcode=1 --inline-suppr -D_GNU_SOURCE -Isrc src cmd
	@mkdir -p $(B)
	clang-tidy --quiet $(SRCS) cmd/smtpsend.c -- -std=c11 -D_GNU_SOURCE \
	    $(PKG_CFLAGS) -Isrc >$(B)/clang-tidy.log 2>&1 || \
	    { grep -v 'warnings generated' $(B)/clang-tidy.log; exit 1; }

# The parsers under libFuzzer with ASan and UBSan, FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh

# smtpsend beside msmtp and curl on a loopback rig: figures, not a test.
bench: deps all
	bash tests/bench/run.sh $(B)/smtpsend

BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

# Never set-uid or set-gid: mode 0755.
install: $(B)/smtpsend
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
	    $(DESTDIR)$(FISHCOMPDIR)
	install -m 0755 $(B)/smtpsend $(DESTDIR)$(BINDIR)/smtpsend
	install -m 0644 smtpsend.1 $(DESTDIR)$(MANDIR)/man1/smtpsend.1
	install -m 0644 completions/smtpsend.bash \
	    $(DESTDIR)$(BASHCOMPDIR)/smtpsend
	install -m 0644 completions/_smtpsend $(DESTDIR)$(ZSHCOMPDIR)/_smtpsend
	install -m 0644 completions/smtpsend.fish \
	    $(DESTDIR)$(FISHCOMPDIR)/smtpsend.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/smtpsend $(DESTDIR)$(MANDIR)/man1/smtpsend.1 \
	    $(DESTDIR)$(BASHCOMPDIR)/smtpsend $(DESTDIR)$(ZSHCOMPDIR)/_smtpsend \
	    $(DESTDIR)$(FISHCOMPDIR)/smtpsend.fish

# The system's sendmail, mailq and newaliases become smtpsend; another
# MTA's files are left alone unless FORCE=1 (dpkg-divert where a package owns
# them). Also: root's spool with the maildrop users leave mail in (1733, as
# /tmp), and the periodic runner that sends what waits there (systemd units,
# or cron.d without systemd). cmd/system/ holds those files, for this and
# for `make deb`; everything is checked before anything changes.
SYSDIR	 = cmd/system
SPOOL	 = /var/spool/smtpsend
UNITDIR	?= /etc/systemd/system
CROND	?= /etc/cron.d
RUNNER_UNITS = smtpsend-queue.service smtpsend-queue.timer \
	smtpsend-maildrop.path
# systemd when it runs this machine (or SYSTEMD=1/0 says so).
SYSTEMD	?= $(shell [ -d /run/systemd/system ] && echo 1 || echo 0)
SENDMAIL_SH = DESTDIR="$(DESTDIR)" BINDIR="$(BINDIR)" FORCE="$(FORCE)" \
	sh $(SYSDIR)/sendmail.sh
# The unit files and the cron line name the installed binary.
SUBST_BINDIR = sed 's|@BINDIR@|$(BINDIR)|g'

install-sendmail: $(B)/smtpsend
	@$(SENDMAIL_SH) check
	@$(MAKE) --no-print-directory install install-spool install-runner
	@$(SENDMAIL_SH) link

# 0711: users reach the maildrop, never list root's own entries.
install-spool:
	install -d -m 0711 $(DESTDIR)$(SPOOL)
	install -d -m 1733 $(DESTDIR)$(SPOOL)/maildrop

# `smtpsend -q --due` every 5 minutes and when a user leaves mail in the
# maildrop: root's outbox and the maildrop.
install-runner:
	@if [ "$(SYSTEMD)" = 1 ]; then \
		$(MAKE) --no-print-directory install-units && \
		if [ -z "$(DESTDIR)" ]; then systemctl daemon-reload && \
		    systemctl enable --now smtpsend-queue.timer \
		    smtpsend-maildrop.path; fi; \
	else \
		$(MAKE) --no-print-directory install-cron; \
	fi

install-units:
	install -d $(DESTDIR)$(UNITDIR)
	@for u in $(RUNNER_UNITS); do \
		$(SUBST_BINDIR) $(SYSDIR)/$$u >$(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u && \
		echo "$(DESTDIR)$(UNITDIR)/$$u"; \
	done

install-cron:
	install -d $(DESTDIR)$(CROND)
	$(SUBST_BINDIR) $(SYSDIR)/smtpsend.cron >$(DESTDIR)$(CROND)/smtpsend
	chmod 0644 $(DESTDIR)$(CROND)/smtpsend

uninstall-sendmail:
	@$(SENDMAIL_SH) unlink
	@if [ -f $(DESTDIR)$(UNITDIR)/smtpsend-queue.timer ] && \
	    [ -z "$(DESTDIR)" ]; then \
		systemctl disable --now smtpsend-queue.timer \
		    smtpsend-maildrop.path || true; fi
	rm -f $(RUNNER_UNITS:%=$(DESTDIR)$(UNITDIR)/%) $(DESTDIR)$(CROND)/smtpsend
	@# Kept mail stays: the spool goes only when it holds none (users'
	@# .index-UID files and unfinished .tmp-ID files are no mail).
	-find $(DESTDIR)$(SPOOL) -type f \( -name '.index-*' -o \
	    -name '.tmp-*' \) -delete 2>/dev/null
	-rmdir $(DESTDIR)$(SPOOL)/maildrop $(DESTDIR)$(SPOOL) 2>/dev/null

# The Debian packages smtpsend and smtpsend-mta in $(B)/deb, with dpkg-deb
# (cmd/debian/build.sh says how); `apt install ./smtpsend*.deb` installs them.
deb:
	sh cmd/debian/build.sh $(B)/deb

# The packages lintian-clean (no error, no warning), then, in private Debian
# 12 chroots (tests/test_package.py), piuparts-clean (install, remove, purge
# in a bare chroot, and over Postfix) and installed over Postfix.
# The archive the machine's apt uses (tests/debian-mirror.sh).
DEBIAN_MIRROR ?= $(shell sh tests/debian-mirror.sh)
check-deb: deb
	lintian --fail-on error,warning $(B)/deb/*.deb
	SMTPSEND_DEBS=$(CURDIR)/$(B)/deb DEBIAN_MIRROR=$(DEBIAN_MIRROR) \
	    $(PYTHON) tests/test_package.py

# The same on Debian 13: the packages built and lintian-checked in the
# chroot of check-trixie (tests/trixie.sh deb), then tested as above.
TRIXIE_ROOT ?= $(CURDIR)/build/trixie
check-deb-trixie:
	TRIXIE_ROOT=$(TRIXIE_ROOT) sh tests/trixie.sh deb
	SMTPSEND_SUITE=trixie SMTPSEND_DEBS=$(TRIXIE_ROOT)/src/build/deb \
	    DEBIAN_MIRROR=$(DEBIAN_MIRROR) $(PYTHON) tests/test_package.py

.PHONY: check-deb-trixie

clean:
	rm -rf build build-asan

.PHONY: all units deps check check-asan check-trixie check-hoststates demo lint fuzz bench \
	install uninstall install-sendmail install-spool install-runner \
	install-units install-cron uninstall-sendmail deb check-deb clean

-include $(OBJS:.o=.d) $(B)/cmd/smtpsend.d $(UNITS:=.d)
