# smtpsend: see README.md. `make check` runs every test.
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
CC	?= cc
CFLAGS	?= -O2 -g
PYTHON	?= /usr/bin/python3

PKGS	 = libcurl libbsd-overlay openssl
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

# As root, Postfix is set up on loopback for the interoperability tests.
check: deps all units
	@if [ "$$(id -u)" = 0 ]; then bash tests/postfix/setup.sh >/dev/null; fi
	@SMTPSEND=$(CURDIR)/$(B)/smtpsend UNITS="$(UNITS)" $(PYTHON) tests/run.py

# The whole suite again under AddressSanitizer and UBSan.
check-asan: deps
	$(MAKE) B=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -fno-sanitize-recover=all" all units
	SMTPSEND=$(CURDIR)/build-asan/smtpsend \
	    UNITS="$(UNITS:$(B)/%=build-asan/%)" \
	    ASAN_OPTIONS=detect_leaks=1 $(PYTHON) tests/run.py

demo: deps all
	@sh tests/demo.sh $(B)/smtpsend

lint:
	mandoc -Tlint -Wwarning smtpsend.1

install: $(B)/smtpsend
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(B)/smtpsend $(DESTDIR)$(BINDIR)/smtpsend
	install -m 0644 smtpsend.1 $(DESTDIR)$(MANDIR)/man1/smtpsend.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/smtpsend $(DESTDIR)$(MANDIR)/man1/smtpsend.1

clean:
	rm -rf build build-asan

.PHONY: all units deps check check-asan demo lint install uninstall clean

-include $(OBJS:.o=.d) $(B)/cmd/smtpsend.d $(UNITS:=.d)
