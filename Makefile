# hopsim - build, test and install.
#
#   make                    libraries, examples and tests (= make all)
#   make run                build and run the tour example
#   make test               layer, symbol, header and install checks, deps
#                           self-test, then every test program twice: fast
#                           switch, then HOPSIM_SWITCH=ucontext;
#                           tests/gdb/run.sh too
#   make gdb                gdb with the hs commands (tools/hopsim-gdb.py) on
#                           PROG=... (default: the tour), ARGS=... its args
#   make memcheck           every test program and the tour under valgrind
#   make asan               ASan + UBSan build in build-asan/, tests + tour
#   make explore            the racy example's sweeps: its bug found with
#                           random and PCT, its fix over 10,000 seeds each
#   make charts             every example's message flow as an mscgen
#                           chart, rendered to PNG and SVG in $(BUILD)/charts
#                           (needs mscgen: installed like the other packages)
#   make bench              benchmarks as ratios to baselines; BENCH=name
#                           runs one; writes bench.json.  Builds with
#                           LTO=1 in build-lto/; BENCH_LTO=0: the plain
#                           build in $(BUILD)
#   make LTO=1 ...          link-time optimisation (gcc): build-lto/
#   make install            PREFIX=/usr/local DESTDIR= : headers, the
#                           libraries (libhopsim, libhopsim-servers: the
#                           example servers), their .pc files, the gdb
#                           commands (auto-loaded with libhopsim.so.0),
#                           README.md and docs/
#   make uninstall          remove what install put there
#   make compile_commands.json   for clangd and clang-tidy
#   make clean
#   make CC=clang ...       any of the above with clang
#   make V=1 ...            show full compiler command lines
#
# The first compile in a build directory runs tools/deps.sh, which installs
# missing packages when run as root (or says what to install otherwise).

# ---- Configuration: override any of these on the command line ----------

VERSION      := 0.1.0
BUILD        ?= build
ASAN_BUILD   ?= build-asan
LTO_BUILD    ?= build-lto
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DATADIR      ?= $(PREFIX)/share
DOCDIR       ?= $(DATADIR)/doc/hopsim
DESTDIR      ?=
OBJCOPY      ?= objcopy

# `make asan` re-enters this Makefile with ASAN=1: its own build directory
# (so sanitized and plain objects never mix), -O1 for usable reports.
ifeq ($(ASAN),1)
override BUILD := $(ASAN_BUILD)
OPT          := -O1 -g
SANITIZE     := -fsanitize=address,undefined -fno-omit-frame-pointer
SAN_CPPFLAGS := -DHOPSIM_ASAN=1
# Sanitizer runtimes leave symbols for the executable to provide.
SO_CHECK     :=
else
OPT          ?= -O2 -g
SANITIZE     :=
SAN_CPPFLAGS :=
# A shared library that links must name every library it needs.
SO_CHECK     := -Wl,--no-undefined
endif

# LTO=1: link-time optimisation, in its own build directory.  Calls
# between the kernel's files are inlined like calls within one, so a hop
# or a call returns through fewer frames after each context switch; fat
# objects keep ordinary code beside the LTO code, so a program linked
# without -flto still links (gcc-ar indexes both).  The default build
# stays without it: a debugger steps through it as written.
ifeq ($(LTO),1)
ifneq ($(findstring clang,$(CC)),)
$(error LTO=1 is written for gcc (fat LTO objects, gcc-ar); build without it for $(CC))
endif
override BUILD := $(LTO_BUILD)
LTO_FLAGS    := -flto=auto -ffat-lto-objects
AR           := gcc-ar
else
LTO_FLAGS    :=
endif

# CPPFLAGS, CFLAGS, ASFLAGS and LDFLAGS stay free for the user; they come
# last, so `make CFLAGS=-O0` wins over OPT.

# ---- Flags ---------------------------------------------------------------

# _GNU_SOURCE: sim/ uses ucontext, pthread_setname_np and sigaltstack.
STD      := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# -Iinclude for the public headers, -I. so kernel code can say
# #include "core/sched.h" and #include "sim/platform.h".
HS_CPPFLAGS := -Iinclude -I. $(SAN_CPPFLAGS) $(CPPFLAGS)
# -fPIC everywhere: the same objects go into the static and shared libraries.
HS_CFLAGS   := $(STD) $(WARN) $(OPT) -fPIC $(SANITIZE) $(CFLAGS)
# The fast switch is assembly; its stack must not be made executable.
HS_ASFLAGS  := -g -fPIC -Wa,--noexecstack $(ASFLAGS)
# Header dependencies, written next to each object as a .d file.
DEPFLAGS    := -MMD -MP
HS_LDFLAGS  := $(SANITIZE) $(LTO_FLAGS) $(LDFLAGS)
SYS_LIBS    := -lunwind -lpthread
TEST_LIBS   := -lcmocka

# tools/valgrind.supp silences only known false reports from system
# libraries (libunwind probes memory on purpose); see the file.
VALGRIND := valgrind --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible \
	--track-origins=no -q --suppressions=tools/valgrind.supp

# ---- Sources and outputs -------------------------------------------------

# The library is every .c and .S under the platform and kernel folders
# and the runtime on top of them (lib/), however deep; a folder may be
# empty or missing.
LIB_DIRS  := sim kern core notify mem ports observe run lib
LIB_SRCS  := $(sort $(shell find $(LIB_DIRS) -type f \( -name '*.c' -o -name '*.S' \) 2>/dev/null))
# One program per examples/*.c, per gallery example (examples/NAME/main.c,
# the program NAME) and per tests/test_*.c.  Any other tests/*.c is shared
# test support, linked into every test program.
GALLERY_MAINS     := $(sort $(wildcard examples/*/main.c))
EXAMPLE_SRCS      := $(sort $(wildcard examples/*.c))
# Example servers and libraries (every other examples/*/*.c: the name
# server in examples/servers/, the large messages of examples/lib/, the
# POSIX-style layer of examples/posix/, the gallery's servers) are linked
# into every example and every test program.
SERVER_SRCS       := $(sort $(filter-out $(GALLERY_MAINS), \
                       $(wildcard examples/*/*.c)))
TEST_SRCS         := $(sort $(wildcard tests/test_*.c))
TEST_SUPPORT_SRCS := $(filter-out $(TEST_SRCS),$(sort $(wildcard tests/*.c)))
PUBLIC_HEADERS    := $(sort $(wildcard include/hopsim/*.h))

# Objects keep their source's suffix (core/x.c -> core/x.c.o), so x.c and
# x.S in one folder cannot collide.
obj_of = $(patsubst %,$(BUILD)/obj/%.o,$(1))
LIB_OBJS          := $(call obj_of,$(LIB_SRCS))
EXAMPLE_OBJS      := $(call obj_of,$(EXAMPLE_SRCS) $(GALLERY_MAINS))
SERVER_OBJS       := $(call obj_of,$(SERVER_SRCS))
TEST_OBJS         := $(call obj_of,$(TEST_SRCS))
TEST_SUPPORT_OBJS := $(call obj_of,$(TEST_SUPPORT_SRCS))
ALL_OBJS          := $(LIB_OBJS) $(EXAMPLE_OBJS) $(SERVER_OBJS) $(TEST_OBJS) \
                     $(TEST_SUPPORT_OBJS)

# Programs built here (examples, tests, benchmarks, the sweep) link
# LIB_A, the library's objects as compiled: tests call internal functions.
LIB_A         := $(BUILD)/libhopsim-internal.a
# What `make install` installs.  Only hs_* names leave either library:
# libhopsim.a holds one object, every library object linked into it, in
# which every other global is made local (LIB_PUB_OBJ); libhopsim.so
# exports what tools/libhopsim.map lets through.  A program may then name
# its own globals k or sched_init, as the kernel's internals are named.
LIB_PUB_A     := $(BUILD)/libhopsim.a
LIB_PUB_OBJ   := $(BUILD)/libhopsim.o
# The soname carries the major version: libhopsim.so.0, with the
# libhopsim.so link that `cc ... -lhopsim` finds.
SOVERSION     := $(firstword $(subst ., ,$(VERSION)))
LIB_SO        := $(BUILD)/libhopsim.so.$(SOVERSION)
LIB_SO_LINK   := $(BUILD)/libhopsim.so
# The example servers (SERVER_SRCS) as a library of their own, on top of
# libhopsim; installed with their headers under hopsim/servers/.
SRV_A         := $(BUILD)/libhopsim-servers.a
SRV_SO        := $(BUILD)/libhopsim-servers.so.$(SOVERSION)
SRV_SO_LINK   := $(BUILD)/libhopsim-servers.so
SERVER_HEADERS := $(sort $(wildcard examples/*/*.h))
EXAMPLE_PROGS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRCS))
GALLERY_PROGS := $(patsubst examples/%/main.c,$(BUILD)/examples/%,$(GALLERY_MAINS))
TEST_PROGS    := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TOUR          := $(BUILD)/examples/tour

# Written by tools/deps.sh once every package is present; each compile
# waits for it, so a fresh machine's first `make` installs what it needs.
DEPS_STAMP  := $(BUILD)/.deps-ok
# Holds the compiler and flags of the last build; rewritten only when they
# change, which rebuilds everything (`make` then `make CC=clang` must not
# mix objects from two compilers).
FLAGS_STAMP := $(BUILD)/.flags

# The exact compile commands, shared by the rules and compile_commands.json.
# With LTO=1, everything but the benchmark programs is compiled for
# link-time optimisation: their loops and baselines compile as in the
# default build, so a baseline never depends on LTO=1.
lto_of    = $(if $(filter tests/bench/%,$(1)),,$(LTO_FLAGS))
compile_c = $(CC) $(HS_CPPFLAGS) $(HS_CFLAGS) $(call lto_of,$(1)) $(DEPFLAGS) -c -o $(call obj_of,$(1)) $(1)
compile_S = $(CC) $(HS_CPPFLAGS) $(HS_ASFLAGS) $(DEPFLAGS) -c -o $(call obj_of,$(1)) $(1)
BUILD_FLAGS := $(CC) | $(HS_CPPFLAGS) | $(HS_CFLAGS) | $(LTO_FLAGS) | $(HS_ASFLAGS) | $(HS_LDFLAGS) | $(SO_CHECK)

# Short progress lines by default; V=1 shows every command.
ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

# No built-in rules: every rule this build uses is below.
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
# A failed recipe must not leave a half-written target behind.
.DELETE_ON_ERROR:

.PHONY: all libs examples tests run check-layers check-symbols check-headers \
	check-install test memcheck asan asan-check install uninstall clean \
	compile_commands.json FORCE

# ---- Main targets --------------------------------------------------------

all: libs examples tests

libs: $(LIB_A) $(LIB_PUB_A) $(LIB_SO) $(LIB_SO_LINK) $(SRV_A) $(SRV_SO) \
	$(SRV_SO_LINK)
examples: $(EXAMPLE_PROGS) $(GALLERY_PROGS)
tests: $(TEST_PROGS)

run: $(TOUR)
	$(TOUR)

# gdb with hopsim's commands loaded: hs procs, hs threads, hs bt, hs hops,
# hs finish (see tools/hopsim-gdb.py and the README).
PROG ?= $(TOUR)
.PHONY: gdb
gdb: all
	gdb -q -x tools/hopsim-gdb.py --args $(PROG) $(ARGS)

# The kernel folders must not include host headers; the self-test first
# proves the check can fail.
check-layers:
	@bash tools/check-layers.sh --self-test
	@bash tools/check-layers.sh

# The library's objects are linked statically into the programs built
# here, so a global name they share with libc (say, sched_yield) would
# replace libc's for the whole program.  The installed libraries must not
# export any name outside hs_ (--exports).  Each self-test first proves
# its check can fail.
check-symbols: $(LIB_A) $(LIB_PUB_A) $(LIB_SO)
	@CC='$(CC)' bash tools/check-symbols.sh --self-test
	@CC='$(CC)' bash tools/check-symbols.sh $(LIB_A)
	@CC='$(CC)' bash tools/check-symbols.sh --exports $(LIB_PUB_A) $(LIB_SO)

# Every public header compiles on its own as C99, C11 and C++17 without a
# warning, and says the Makefile's VERSION.
check-headers:
	@bash tools/check-headers.sh --self-test
	@bash tools/check-headers.sh --version $(VERSION)

# make install into a temporary prefix, then build and run programs with
# the exact commands of README.md's install-recipe block: shared and
# static, C and C++ (tests/install/, tests/cxx/), the servers library;
# the gdb commands auto-loaded; make uninstall leaves nothing behind.
# MAKE is named here so that the nested make runs with this one's
# variables and job slots.
check-install: libs
	@bash tools/check-install.sh --self-test
	@MAKE='$(MAKE)' VERSION='$(VERSION)' bash tools/check-install.sh

# The runner's TAP stream and JUnit file are valid and name a failure.
.PHONY: check-test-output
check-test-output: all
	@CC='$(CC)' bash tools/check-test-output.sh $(BUILD)/tests/test_clock \
		$(BUILD)/tests/test_sched

# tools/test-deps.sh skips itself, saying so, when not run as root.
# tests/gdb/run.sh checks the gdb commands on the tour; it counts as one
# more program per pass, and skips itself, saying so, without gdb.  An
# LTO build leaves it out: its frames are inlined and renamed
# (hs_hop.constprop.0), and the checks read the default build's.
ifeq ($(LTO),1)
GDB_CHECK :=
else
GDB_CHECK := --also tests/gdb/run.sh
endif
# Test, memcheck and asan output: one line per program and pass, with a
# failed test's output under its FAIL line; TEST_FORMAT=tap gives one TAP
# stream (copied to $(BUILD)/test-results.tap), TEST_FORMAT=junit writes
# $(BUILD)/test-results.xml (memcheck: memcheck-results.*); see
# tools/run-tests.sh, which also reads HOPSIM_TEST_OUTPUT.
test: check-layers check-symbols check-headers all check-install \
		check-test-output
	@CC='$(CC)' bash tools/test-deps.sh
	@$(if $(GDB_CHECK),,echo "# LTO build: tests/gdb/run.sh left out (it needs the default build)")
	@HOPSIM_GDB_PROG='$(TOUR)' bash tools/run-tests.sh --ucontext \
		$(if $(TEST_FORMAT),--format $(TEST_FORMAT)) \
		--results $(BUILD)/test-results $(GDB_CHECK) $(TEST_PROGS)

# Fast switch only; the tour runs under valgrind too.
memcheck: all
	@HOPSIM_UNDER_VALGRIND=1 bash tools/run-tests.sh --also $(TOUR) \
		$(if $(TEST_FORMAT),--format $(TEST_FORMAT)) \
		--results $(BUILD)/memcheck-results $(TEST_PROGS) -- $(VALGRIND)

# Re-enter make with ASAN=1 (see the top: build dir and flags), build, and
# run the tests once plus the tour.  User settings in ASAN_OPTIONS and
# UBSAN_OPTIONS come last, so they win.
asan:
	@$(MAKE) --no-print-directory ASAN=1 asan-check

asan-check: all
	@ASAN_OPTIONS="detect_leaks=1:abort_on_error=0$${ASAN_OPTIONS:+:$$ASAN_OPTIONS}" \
	 UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1$${UBSAN_OPTIONS:+:$$UBSAN_OPTIONS}" \
	 bash tools/run-tests.sh --also $(TOUR) \
	 $(if $(TEST_FORMAT),--format $(TEST_FORMAT)) \
	 --results $(BUILD)/test-results $(TEST_PROGS)

# The exploration sweeps of examples/racy.c (make test runs fewer seeds):
# the lost update must be found within 1,000 seeds, and the fix must
# survive 10,000, with each strategy.  `racy` exits 1 when it finds a
# failure, so the first two lines expect that.
RACY := $(BUILD)/examples/racy
.PHONY: explore
explore: $(RACY)
	@$(RACY) --seeds 1000 >/dev/null 2>$(BUILD)/explore.log; \
	 rc=$$?; grep '^explore:' $(BUILD)/explore.log; [ $$rc -eq 1 ]
	@$(RACY) --seeds 1000 --strategy pct --depth 3 >/dev/null \
	 2>$(BUILD)/explore.log; rc=$$?; grep '^explore:' $(BUILD)/explore.log; \
	 [ $$rc -eq 1 ]
	@$(RACY) --scenario fixed --seeds 10000
	@$(RACY) --scenario fixed --seeds 10000 --strategy pct --depth 3
	@$(RACY) --seed 1 --check-determinism

# Message sequence charts (HOPSIM_MSC, cfg.msc_path) of every example,
# rendered with mscgen to PNG and SVG.  mscgen is needed by this target
# only: tools/deps.sh --charts installs it as root, or says what to run
# and fails.  The tour writes one chart per part (tour --charts DIR); the
# racy example's fixed scenario writes one for seed 1; each gallery example
# (examples/NAME/main.c) writes NAME.msc.
CHARTS := $(BUILD)/charts
.PHONY: charts
charts: $(TOUR) $(RACY) $(GALLERY_PROGS)
	@bash tools/deps.sh --charts
	@rm -rf $(CHARTS) && mkdir -p $(CHARTS)
	@$(TOUR) --charts $(CHARTS) >/dev/null
	@HOPSIM_MSC=$(CHARTS)/racy-fixed.msc $(RACY) --scenario fixed --seed 1 \
	 >/dev/null
	@for p in $(GALLERY_PROGS); do \
	   HOPSIM_MSC=$(CHARTS)/$$(basename $$p).msc $$p >/dev/null || exit 1; \
	 done
	@for f in $(CHARTS)/*.msc; do \
	   mscgen -T png -o "$${f%.msc}.png" "$$f" >/dev/null && \
	   mscgen -T svg -o "$${f%.msc}.svg" "$$f" >/dev/null || exit 1; \
	   echo "chart  $${f%.msc}.png $${f%.msc}.svg"; \
	 done

# ---- Compiling -----------------------------------------------------------

$(BUILD)/obj/%.c.o: %.c $(FLAGS_STAMP) | $(DEPS_STAMP)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(call compile_c,$<)

$(BUILD)/obj/%.S.o: %.S $(FLAGS_STAMP) | $(DEPS_STAMP)
	$(call say,AS,$<)
	@mkdir -p $(@D)
	$(Q)$(call compile_S,$<)

# ---- Linking -------------------------------------------------------------

$(LIB_A): $(LIB_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# ld -r joins the objects without the LTO plugin; the LTO sections of an
# LTO=1 build (fat objects) are dropped, so the archive is ordinary code
# whatever the build.  objcopy then keeps hs_* names global, no other.
$(LIB_PUB_OBJ): $(LIB_OBJS)
	$(call say,LD,$@)
	$(Q)$(LD) -r -o $@.all $^
	$(Q)$(OBJCOPY) --wildcard --keep-global-symbol='hs_*' \
		--remove-section='.gnu.lto_*' --remove-section='.gnu.debuglto_*' \
		$@.all $@
	$(Q)rm -f $@.all

$(LIB_PUB_A): $(LIB_PUB_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $<

$(LIB_SO): $(LIB_OBJS) tools/libhopsim.map
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(notdir $@) \
		-Wl,--version-script=tools/libhopsim.map $(SO_CHECK) $(HS_LDFLAGS) \
		-o $@ $(LIB_OBJS) $(SYS_LIBS)

# make follows the link, so it is as new as what it points to.
$(LIB_SO_LINK) $(SRV_SO_LINK): %.so: %.so.$(SOVERSION)
	$(Q)ln -sf $(notdir $<) $@

$(SRV_A): $(SERVER_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SRV_SO): $(SERVER_OBJS) $(LIB_SO_LINK)
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(notdir $@) $(SO_CHECK) $(HS_LDFLAGS) \
		-o $@ $(SERVER_OBJS) -L$(BUILD) -lhopsim

# Examples link LIB_A in, so they run from the build tree as they are.
$(EXAMPLE_PROGS): $(BUILD)/examples/%: $(BUILD)/obj/examples/%.c.o $(SERVER_OBJS) $(LIB_A)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(HS_LDFLAGS) -o $@ $< $(SERVER_OBJS) $(LIB_A) $(SYS_LIBS)

$(GALLERY_PROGS): $(BUILD)/examples/%: $(BUILD)/obj/examples/%/main.c.o $(SERVER_OBJS) $(LIB_A)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(HS_LDFLAGS) -o $@ $< $(SERVER_OBJS) $(LIB_A) $(SYS_LIBS)

# Tests link LIB_A too: they may call internal functions.
$(TEST_PROGS): $(BUILD)/tests/%: $(BUILD)/obj/tests/%.c.o $(TEST_SUPPORT_OBJS) $(SERVER_OBJS) $(LIB_A)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(HS_LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJS) $(SERVER_OBJS) $(LIB_A) $(TEST_LIBS) $(SYS_LIBS)

# ---- Stamps --------------------------------------------------------------

$(DEPS_STAMP): tools/deps.sh
	@CC='$(CC)' bash tools/deps.sh $@

# FORCE runs this every time, but the file only changes with the flags.
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(BUILD_FLAGS)' ]; then \
		printf '%s\n' '$(BUILD_FLAGS)' >$@; fi

# ---- Install -------------------------------------------------------------

# In the .pc files, libdir and includedir are written relative to
# ${prefix} when they lie under it, as pkg-config users expect.
pc_path = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
# hopsim (shared), hopsim-static (libhopsim.a), and the same two for the
# example servers.
PC_NAMES := hopsim hopsim-static hopsim-servers hopsim-servers-static
# gdb runs $(DATADIR)/gdb/auto-load/<the library's path>-gdb.py when a
# program maps the library, if told to look there (README.md says how;
# for PREFIX=/usr it looks there by itself).  That file sources the
# commands, installed in $(DATADIR)/hopsim.
GDB_AUTOLOAD := $(DATADIR)/gdb/auto-load$(LIBDIR)
GDB_LOADER   := $(GDB_AUTOLOAD)/$(notdir $(LIB_SO))-gdb.py
DOC_FILES    := README.md $(sort $(shell find docs -type f 2>/dev/null))
inst = '$(DESTDIR)$(1)'

install: libs
	install -d $(call inst,$(INCLUDEDIR)/hopsim/servers) $(call inst,$(LIBDIR)) \
		$(call inst,$(PKGCONFIGDIR)) $(call inst,$(DATADIR)/hopsim) \
		$(call inst,$(GDB_AUTOLOAD)) $(call inst,$(DOCDIR))
	install -m 644 include/hopsim.h $(call inst,$(INCLUDEDIR)/)
	install -m 644 $(PUBLIC_HEADERS) $(call inst,$(INCLUDEDIR)/hopsim/)
	install -m 644 $(SERVER_HEADERS) $(call inst,$(INCLUDEDIR)/hopsim/servers/)
	install -m 644 $(LIB_PUB_A) $(SRV_A) $(call inst,$(LIBDIR)/)
	install -m 755 $(LIB_SO) $(SRV_SO) $(call inst,$(LIBDIR)/)
	ln -sf $(notdir $(LIB_SO)) $(call inst,$(LIBDIR)/$(notdir $(LIB_SO_LINK)))
	ln -sf $(notdir $(SRV_SO)) $(call inst,$(LIBDIR)/$(notdir $(SRV_SO_LINK)))
	$(foreach pc,$(PC_NAMES),sed -e 's|@PREFIX@|$(PREFIX)|' \
	    -e 's|@LIBDIR@|$(call pc_path,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(call pc_path,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(VERSION)|' \
	    tools/$(pc).pc.in >$(call inst,$(PKGCONFIGDIR)/$(pc).pc) &&) true
	install -m 644 tools/hopsim-gdb.py $(call inst,$(DATADIR)/hopsim/)
	sed -e 's|@GDB_SCRIPT@|$(DATADIR)/hopsim/hopsim-gdb.py|' \
	    tools/libhopsim-gdb.py.in >$(call inst,$(GDB_LOADER))
	$(foreach f,$(DOC_FILES),install -D -m 644 $(f) $(call inst,$(DOCDIR)/$(f)) &&) true

uninstall:
	rm -f $(call inst,$(INCLUDEDIR)/hopsim.h) \
	      $(foreach h,$(PUBLIC_HEADERS),$(call inst,$(INCLUDEDIR)/hopsim/$(notdir $(h)))) \
	      $(foreach h,$(SERVER_HEADERS),$(call inst,$(INCLUDEDIR)/hopsim/servers/$(notdir $(h)))) \
	      $(foreach f,$(LIB_PUB_A) $(SRV_A) $(LIB_SO) $(LIB_SO_LINK) $(SRV_SO) $(SRV_SO_LINK),\
	        $(call inst,$(LIBDIR)/$(notdir $(f)))) \
	      $(foreach pc,$(PC_NAMES),$(call inst,$(PKGCONFIGDIR)/$(pc).pc)) \
	      $(call inst,$(DATADIR)/hopsim/hopsim-gdb.py) $(call inst,$(GDB_LOADER)) \
	      $(foreach f,$(DOC_FILES),$(call inst,$(DOCDIR)/$(f)))
	-rmdir $(call inst,$(INCLUDEDIR)/hopsim/servers) $(call inst,$(INCLUDEDIR)/hopsim) \
	       $(call inst,$(DATADIR)/hopsim)
	-find $(call inst,$(DOCDIR)) -depth -type d -empty -delete
	-d=$(call inst,$(GDB_AUTOLOAD)); \
	 while [ "$$d" != $(call inst,$(DATADIR)) ] && rmdir "$$d" 2>/dev/null; do \
	   d=$$(dirname "$$d"); done

# ---- Benchmarks ----------------------------------------------------------

# One program per tests/bench/bench_*.c; the other files there are shared.
# They link the same LIB_A, built with OPT (-O2 by default).
# tools/bench-run.sh prints the machine line, one line per figure, the
# ratios, and writes bench.json; BENCH=name runs one figure plus the
# baselines its ratios need.  Not part of `make test`: nothing is timed there.
BENCH_SRCS         := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_SUPPORT_SRCS := $(filter-out $(BENCH_SRCS),\
                      $(sort $(wildcard tests/bench/*.c tests/bench/*.S)))
BENCH_SUPPORT_OBJS := $(call obj_of,$(BENCH_SUPPORT_SRCS))
BENCH_PROGS        := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

# `make bench` measures the LTO build (re-entering with LTO=1), as a
# program that wants the simulator fast would link it; BENCH_LTO=0 (and
# clang, for which LTO=1 is not written) measures the default build.  The
# build line of the output says which.
ifneq ($(findstring clang,$(CC)),)
BENCH_LTO ?= 0
else
BENCH_LTO ?= 1
endif
.PHONY: bench
ifeq ($(BENCH_LTO)$(LTO),1)
bench:
	@$(MAKE) --no-print-directory LTO=1 bench
else
bench: $(BENCH_PROGS)
	@BENCH='$(BENCH)' BENCH_BUILD_FLAGS='$(OPT) $(LTO_FLAGS)' \
	 bash tools/bench-run.sh $(BUILD)/bench
endif

$(BENCH_PROGS): $(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.c.o \
		$(BENCH_SUPPORT_OBJS) $(LIB_A)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(HS_LDFLAGS) -o $@ $< $(BENCH_SUPPORT_OBJS) $(LIB_A) $(SYS_LIBS)

-include $(patsubst %.o,%.d,$(call obj_of,$(BENCH_SRCS) $(BENCH_SUPPORT_SRCS)))

# ---- Tooling -------------------------------------------------------------

# One entry per source with the very command the rules run; awk escapes
# the strings for JSON.  Needs no tool beyond make, sh and awk.
compile_commands.json: FORCE
	@{ $(foreach s,$(LIB_SRCS) $(EXAMPLE_SRCS) $(GALLERY_MAINS) $(SERVER_SRCS) $(TEST_SRCS) $(TEST_SUPPORT_SRCS),\
	   printf '%s\t%s\t%s\n' '$(s)' '$(call obj_of,$(s))' \
	     '$(if $(filter %.S,$(s)),$(call compile_S,$(s)),$(call compile_c,$(s)))';) } | \
	 awk -F '\t' -v dir='$(CURDIR)' ' \
	   function j(s) { gsub(/\\/, "&&", s); gsub(/"/, "\\\"", s); return "\"" s "\"" } \
	   BEGIN { printf "[" } \
	   { printf "%s\n  {\"directory\": %s, \"file\": %s, \"output\": %s, \"command\": %s}", \
	       (NR > 1 ? "," : ""), j(dir), j($$1), j($$2), j($$3) } \
	   END { print "\n]" }' >$@
	@echo "wrote $@"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(LTO_BUILD) compile_commands.json

FORCE:

# Targets that stand apart from the main build (make fuzz, make sweep),
# one file each under mk/.
include $(sort $(wildcard mk/*.mk))

# Header dependencies from earlier compiles (none on a clean tree).
-include $(ALL_OBJS:.o=.d)
