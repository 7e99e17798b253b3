# mk/sweep.mk - the seed sweep (tests/sweep/): every seeded scenario of the
# examples over many seeds with every fault kind injected.
#
#   make sweep                    SWEEP_SEEDS seeds (default 1000) from
#                                 SWEEP_FIRST (default 0), faults
#                                 SWEEP_FAULTS (default all), every
#                                 scenario; each seed runs twice (the
#                                 second pass checks the event hash)
#   make sweep SWEEP_SEEDS=200    a short sweep, for CI
#   make sweep SWEEP_SCENARIOS='names posix'   some scenarios only
#   make sweep SWEEP_ARGS='--strategy pct --depth 3'   more options of
#                                 $(BUILD)/sweep/sweep (see
#                                 tests/sweep/sweep.c, or sweep --list)
#
# A failure prints the command that replays it:
#   $(BUILD)/sweep/sweep --scenario NAME --seed S
# The summary line is
#   sweep: N seeds x K scenarios: 0 leaks, 0 invariant breaks, 0 panics,
#          0 hangs, 0 hash mismatches
# and the target fails unless every count is 0.  Before the sweep,
# `sweep --self-test` shows that each of those detectors can fail (one
# scenario built to fail each way, tests/sweep/selftest.c):
#   sweep: self-test: 5 detectors fire
#
# The program links libhopsim.a with three symbols wrapped
# (tests/sweep/audit.c): the start of a run's teardown and the platform's
# stack allocation, where it counts what the run left behind.

SWEEP_SEEDS     ?= 1000
SWEEP_FIRST     ?= 0
SWEEP_FAULTS    ?= all
SWEEP_SCENARIOS ?=
SWEEP_ARGS      ?=

SWEEP_SRCS := $(sort $(wildcard tests/sweep/*.c))
SWEEP_OBJS := $(call obj_of,$(SWEEP_SRCS))
SWEEP_BIN  := $(BUILD)/sweep/sweep
SWEEP_WRAP := -Wl,--wrap=trace_run_end -Wl,--wrap=stack_get \
              -Wl,--wrap=stack_put

.PHONY: sweep sweep-build

sweep-build: $(SWEEP_BIN)

$(SWEEP_BIN): $(SWEEP_OBJS) $(SERVER_OBJS) $(LIB_A)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(HS_LDFLAGS) $(SWEEP_WRAP) -o $@ $(SWEEP_OBJS) \
		$(SERVER_OBJS) $(LIB_A) $(SYS_LIBS)

sweep: $(SWEEP_BIN)
	@$(SWEEP_BIN) --self-test
	@$(SWEEP_BIN) --seeds $(SWEEP_SEEDS) --first-seed $(SWEEP_FIRST) \
	 --faults $(SWEEP_FAULTS) \
	 $(foreach s,$(SWEEP_SCENARIOS),--scenario $(s)) $(SWEEP_ARGS)

-include $(SWEEP_OBJS:.o=.d)
