# mk/fuzz.mk - the libFuzzer target of the public API (tests/fuzz/).
#
#   make fuzz                 build build-fuzz/fuzz_api and fuzz for
#                             FUZZ_TIME seconds (default 60), starting from
#                             tests/fuzz/corpus; new inputs go to
#                             build-fuzz/corpus, crashes to
#                             build-fuzz/artifacts/
#   make fuzz FUZZ_TIME=1800  fuzz for half an hour
#   make fuzz FUZZ_JOBS=2     that many fuzzing processes at once
#   make fuzz FUZZ_ARGS=...   more libFuzzer flags (e.g. -seed=1)
#   make fuzz FUZZ_AVOID=join-async,...
#                             keep away from findings already saved (see
#                             FUZZ_API_AVOID in tests/fuzz/fuzz_api.c)
#   make fuzz-regress         replay tests/fuzz/crashes/* and the seed
#                             corpus once each, without fuzzing: fails if
#                             any of them crashes, panics or leaks
#   make fuzz-build           build the fuzzer only
#
# Needs clang with its libFuzzer runtime (FUZZ_CC=clang-14 etc. to pick
# another).  Everything is built in its own directory with its own flags:
# the library with -fsanitize=fuzzer-no-link,address,undefined (so the
# kernel's context switches go through the ASan fiber hooks of
# sim/asan.h), the harness with -fsanitize=fuzzer,...  Objects never mix
# with the default build's.

FUZZ_BUILD  ?= build-fuzz
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_JOBS   ?= 1
FUZZ_MAXLEN ?= 4096
FUZZ_ARGS   ?=
FUZZ_AVOID  ?=

FUZZ_BIN     := $(FUZZ_BUILD)/fuzz_api
FUZZ_SRC     := tests/fuzz/fuzz_api.c
FUZZ_SEEDS   := tests/fuzz/corpus
FUZZ_CRASHES := tests/fuzz/crashes

# Stack-depth coverage is left out: simulated threads run on their own
# stacks, so the depth libFuzzer would measure is the distance between
# unrelated mappings, not a property of the input.  UBSan stops at the
# first report, so that libFuzzer sees it as a crash.
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                 -fno-omit-frame-pointer -fno-sanitize-coverage=stack-depth
FUZZ_CPPFLAGS := -Iinclude -I. -DHOPSIM_ASAN=1
FUZZ_CFLAGS   := $(STD) $(WARN) -O1 -g $(FUZZ_SAN)
FUZZ_LIB_OBJS := $(patsubst %,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRCS))
FUZZ_OBJ      := $(FUZZ_BUILD)/obj/$(FUZZ_SRC).o

# Leaks are findings; a kernel panic aborts in the harness itself.
FUZZ_ENV := ASAN_OPTIONS="detect_leaks=1:abort_on_error=0$${ASAN_OPTIONS:+:$$ASAN_OPTIONS}" \
            UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1$${UBSAN_OPTIONS:+:$$UBSAN_OPTIONS}"
# -len_control=0: long inputs from the start (a run is bounded by OPS_MAX
# ops whatever its length, and most bugs need a few processes to meet).
FUZZ_FLAGS := -max_len=$(FUZZ_MAXLEN) -len_control=0 -timeout=20 \
              -rss_limit_mb=2048 -print_final_stats=1 \
              -artifact_prefix=$(FUZZ_BUILD)/artifacts/
ifneq ($(FUZZ_JOBS),1)
FUZZ_FLAGS += -jobs=$(FUZZ_JOBS) -workers=$(FUZZ_JOBS)
endif

.PHONY: fuzz fuzz-build fuzz-regress fuzz-clean

clean: fuzz-clean
fuzz-clean:
	rm -rf $(FUZZ_BUILD)

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@mkdir -p $(FUZZ_BUILD)/corpus $(FUZZ_BUILD)/artifacts
	$(FUZZ_ENV) FUZZ_API_AVOID='$(FUZZ_AVOID)' $(FUZZ_BIN) $(FUZZ_FLAGS) \
		-max_total_time=$(FUZZ_TIME) \
		$(FUZZ_ARGS) $(FUZZ_BUILD)/corpus $(FUZZ_SEEDS)

# Each input runs once, in its own process (libFuzzer runs the files named
# on its command line and stops at the first crash); every failure is
# listed, and the target fails if there was any.  So every saved crash is
# a regression test.
fuzz-regress: $(FUZZ_BIN)
	@fail=0; n=0; \
	 for f in $(filter-out %.md,$(wildcard $(FUZZ_CRASHES)/*)) \
	          $(wildcard $(FUZZ_SEEDS)/*); do \
	   n=$$((n + 1)); \
	   if $(FUZZ_ENV) $(FUZZ_BIN) $(FUZZ_ARGS) "$$f" \
	        >$(FUZZ_BUILD)/regress.log 2>&1; then \
	     echo "ok     $$f"; \
	   else \
	     fail=$$((fail + 1)); echo "FAIL   $$f"; \
	     grep -m1 -E 'SUMMARY|kernel panic|ERROR' $(FUZZ_BUILD)/regress.log \
	       | sed 's/^/         /'; \
	   fi; \
	 done; \
	 echo "fuzz-regress: $$((n - fail)) passed, $$fail failed"; \
	 [ $$fail -eq 0 ]

# clang and its libFuzzer runtime, installed as root like the build's
# other packages (tools/deps.sh --fuzz).
FUZZ_DEPS := $(FUZZ_BUILD)/.deps-ok
$(FUZZ_DEPS): tools/deps.sh
	@bash tools/deps.sh --fuzz $@

$(FUZZ_BIN): $(FUZZ_OBJ) $(FUZZ_LIB_OBJS)
	$(call say,LD,$@)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(SYS_LIBS)

$(FUZZ_OBJ): $(FUZZ_SRC) mk/fuzz.mk | $(FUZZ_DEPS)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer \
		$(DEPFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/obj/%.c.o: %.c mk/fuzz.mk | $(FUZZ_DEPS)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		$(DEPFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/obj/%.S.o: %.S mk/fuzz.mk | $(FUZZ_DEPS)
	$(call say,AS,$<)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(HS_ASFLAGS) $(DEPFLAGS) -c -o $@ $<

-include $(patsubst %.o,%.d,$(FUZZ_OBJ) $(FUZZ_LIB_OBJS))
