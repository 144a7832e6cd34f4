# SPDX-License-Identifier: GPL-2.0-only
#
# bpfnat: bpf/*.bpf.c -> build/*.bpf.o -> build/*.skel.h -> build/bpfnat
# user/ but the CLI's main and commands -> build/libbpfnat.a, which both
# front ends link: the CLI (build/bpfnat) and the CNI plugin
# (build/cni/bpfnat, from cni/)
#
#   make            build everything into $(OUTPUT)
#   make V=1        ... showing the commands
#   make deps       install the Debian packages building, tests, demo and
#                   benchmark need (does nothing when they are present)
#   make test       unit and end-to-end tests, each in its own namespaces
#   make demo       a small world in a throw-away namespace, shown working
#   make bench      bpfnat against iptables, side by side (QUICK=1: short)
#   make vmtest     the tests on Debian 12's 6.1 and 6.12 kernels under qemu
#   make install    the CLI and its man page under $(DESTDIR)$(PREFIX)
#   make uninstall  remove what install put

OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
PKG_CONFIG ?= pkg-config
AR ?= ar

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1)
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

BPF_CFLAGS := -target bpf -mcpu=v3 -O2 -g -Wall -Werror \
	-Iinclude -I/usr/include/$(MULTIARCH) $(EXTRA_BPF_CFLAGS)
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Iinclude -Iuser -I$(OUTPUT) \
	-DBPFNAT_VERSION='"$(VERSION)"'
LDLIBS += $(shell $(PKG_CONFIG) --libs libbpf libmnl jansson 2>/dev/null \
	|| echo -lbpf -lelf -lz -lmnl -ljansson)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
# The programs as the unit tests build them (with a redirect recorder).
TEST_SKEL := $(OUTPUT)/bpfnat_test.skel.h
BPF_HDRS := $(wildcard bpf/*.h) $(wildcard include/*.h)

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
USER_HDRS := $(wildcard user/*.h) $(wildcard include/*.h)
# The CLI's modules without its commands: the library of both front ends,
# and what the unit tests link.
LIB_OBJS := $(filter-out $(OUTPUT)/user/main.o $(OUTPUT)/user/cmd_%.o,$(USER_OBJS))
CLI_OBJS := $(filter-out $(LIB_OBJS),$(USER_OBJS))
LIB := $(OUTPUT)/libbpfnat.a
# The CNI plugin: a conflist's "type": "bpfnat".
CNI_SRCS := $(wildcard cni/*.c)
CNI_OBJS := $(patsubst cni/%.c,$(OUTPUT)/cni/%.o,$(CNI_SRCS))
CNI_HDRS := $(wildcard cni/*.h)
CNI_BIN := $(OUTPUT)/cni/bpfnat

UNIT_SRCS := $(filter-out %.bpf.c,$(wildcard tests/unit/*.c))
UNIT_BIN := $(OUTPUT)/test_unit
TOOLS_SRCS := $(wildcard tools/*.c)
TOOLS_BINS := $(patsubst tools/%.c,$(OUTPUT)/tools/%,$(TOOLS_SRCS))
# The same CLI whose programs differ by one constant (so by tag): what the
# upgrade test replaces a running data path with.
UPGRADE_BIN := $(OUTPUT)/upgrade/bpfnat

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.PHONY: all clean deps test demo bench vmtest format install uninstall FORCE

all: $(OUTPUT)/bpfnat $(CNI_BIN) $(BPF_OBJS) $(UNIT_BIN) $(TOOLS_BINS) $(UPGRADE_BIN)

# The objects are wanted in their own right (bpftool, tc, the benchmark),
# not only as steps to the skeletons.
.SECONDARY: $(BPF_OBJS) $(OUTPUT)/bpfnat_test.bpf.o

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/cni $(OUTPUT)/tools:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# (the test build includes bpf/bpfnat.bpf.c itself)
$(OUTPUT)/%.bpf.o: tests/unit/%.bpf.c tests/unit/*.h $(BPF_HDRS) $(BPF_SRCS) \
		| $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itests/unit -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/user/%.o: user/%.c $(USER_HDRS) $(SKELS) | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The version in a file that changes only when the version does, so that
# `bpfnat --version` names the commit it was built from.
$(OUTPUT)/version: FORCE | $(OUTPUT)
	$(Q)echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@

$(OUTPUT)/user/main.o $(OUTPUT)/cni/main.o: $(OUTPUT)/version

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OUTPUT)/bpfnat: $(CLI_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/cni/%.o: cni/%.c $(CNI_HDRS) $(USER_HDRS) $(SKELS) | $(OUTPUT)/cni
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Icni -c $< -o $@

$(CNI_BIN): $(CNI_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(UNIT_BIN): $(UNIT_SRCS) tests/unit/*.h $(LIB_OBJS) $(SKELS) $(TEST_SKEL)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(UNIT_SRCS) $(LIB_OBJS) $(LDLIBS) \
		-lpthread -o $@

$(UPGRADE_BIN): $(OUTPUT)/bpfnat
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(OUTPUT)/upgrade \
		EXTRA_BPF_CFLAGS=-DBPFNAT_REBUILD_MARK=1 $@

TOOLS_LIBS := -lpthread
# (the benchmark's CNI runtime reads and writes JSON)
$(OUTPUT)/tools/cni_chain: TOOLS_LIBS += -ljansson
# (vmtest's and CI's verifier figures load every program)
# (the default pool, as `up` has it)
$(OUTPUT)/tools/prog_insns: TOOLS_LIBS += $(LIB) $(LDLIBS)
$(OUTPUT)/tools/prog_insns: $(OUTPUT)/bpfnat.skel.h $(LIB)

$(OUTPUT)/tools/%: tools/%.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(TOOLS_LIBS)

deps:
	$(Q)tools/deps.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BPFNAT_TEST_STRICT=1 tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/bench.sh $(if $(QUICK),--quick)

vmtest: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)vmtest/run.sh

format:
	$(Q)clang-format -i bpf/*.c bpf/*.h include/*.h user/*.c user/*.h \
		cni/*.c cni/*.h tests/unit/*.c tests/unit/*.h tools/*.c

clean:
	$(Q)rm -rf $(OUTPUT)

# Where `make install` puts things (GNU names; DESTDIR for staging).
PREFIX ?= /usr/local
sbindir ?= $(PREFIX)/sbin
datadir ?= $(PREFIX)/share
man8dir ?= $(datadir)/man/man8
pkgdatadir ?= $(datadir)/bpfnat
# CNI looks for plugins here whatever the prefix.
cnibindir ?= /opt/cni/bin
INSTALL ?= install

# What install puts, one file a line: SOURCE:DESTINATION:MODE.
INSTALL_FILES := \
	$(OUTPUT)/bpfnat:$(sbindir)/bpfnat:0755 \
	$(OUTPUT)/cni/bpfnat:$(cnibindir)/bpfnat:0755 \
	cni/bpfnat.conflist:$(pkgdatadir)/bpfnat.conflist:0644 \
	man/man8/bpfnat.8:$(man8dir)/bpfnat.8:0644
# Directories that are bpfnat's alone: uninstall removes them once empty.
# The others (sbin, man8, ...) are shared, and stay.
INSTALL_OWN_DIRS := $(pkgdatadir)

install_field = $(word $(1),$(subst :, ,$(2)))
install_srcs = $(foreach f,$(INSTALL_FILES),$(call install_field,1,$(f)))

# One recipe line per step, whatever the number of files.
define newline


endef
define install_one
$(call msg,INSTALL,$(DESTDIR)$(call install_field,2,$(1)))
$(Q)$(INSTALL) -D -m $(call install_field,3,$(1)) $(call install_field,1,$(1)) '$(DESTDIR)$(call install_field,2,$(1))'
endef
define uninstall_one
$(call msg,RM,$(DESTDIR)$(call install_field,2,$(1)))
$(Q)rm -f '$(DESTDIR)$(call install_field,2,$(1))'
endef

install: $(install_srcs)
	$(foreach f,$(INSTALL_FILES),$(call install_one,$(f))$(newline))

uninstall:
	$(foreach f,$(INSTALL_FILES),$(call uninstall_one,$(f))$(newline))
	$(Q)for d in $(INSTALL_OWN_DIRS); do \
		[ ! -d "$(DESTDIR)$$d" ] || \
		rmdir --ignore-fail-on-non-empty "$(DESTDIR)$$d"; \
	done
