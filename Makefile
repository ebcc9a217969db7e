# termloom — see README.md.  `make` builds ./termloom; `make test` runs every test.
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
PKGS     = ncursesw libcurl jansson libutf8proc

CFLAGS_BASE = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Wpedantic \
              -Wshadow -Wno-unused-parameter -I. -MMD -MP
ifeq ($(CI),true)
CFLAGS_BASE += -Werror
endif
OPT     ?= -O2 -g
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS  = $(CFLAGS_BASE) -pthread $(OPT) $(PKG_CFLAGS) $(CFLAGS) -DTERMLOOM_DATADIR='"$(PREFIX)/share/termloom"'
LIBS        = $(PKG_LIBS) -lm -pthread

CORE_SRC = $(wildcard core/*.c)
NET_SRC  = $(wildcard net/*.c)
CLI_SRC  = $(wildcard cli/*.c)
TUI_SRC  = $(filter-out tui/main.c,$(wildcard tui/*.c))
LIB_SRC  = $(CORE_SRC) $(NET_SRC) $(CLI_SRC) $(TUI_SRC)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/corpus_data.o
UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT_OBJ = $(UNIT_SRC:%.c=$(BUILD)/%.o)
HELPER_SRC = $(wildcard tests/tools/*.c)
HELPER_BIN = $(HELPER_SRC:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_SRC  = $(wildcard tests/bench/*.c)

.PHONY: all deps check-deps run test asan bench fuzz install uninstall clean

BIN ?= termloom

all: $(BIN)

$(BIN): $(BUILD)/tui/main.o $(BUILD)/libtermloom.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/libtermloom.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The builtin model's default corpus is compiled in (a byte array made with POSIX od and
# sed), so ./termloom works from any directory without being installed.
$(BUILD)/corpus_data.c: doc/corpus.txt
	@mkdir -p $(BUILD)
	@{ echo '/* generated from doc/corpus.txt by make: do not edit */'; \
	  echo '#include <stddef.h>'; \
	  echo 'const unsigned char ngram_corpus_data[] = {'; \
	  od -An -v -tu1 doc/corpus.txt | sed -e 's/^ *//' -e 's/ *$$//' -e '/^$$/d' -e 's/  */,/g' -e 's/$$/,/'; \
	  echo '0 };'; \
	  echo 'const size_t ngram_corpus_size = sizeof ngram_corpus_data - 1;'; } > $@.tmp && mv $@.tmp $@

$(BUILD)/corpus_data.o: $(BUILD)/corpus_data.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The unit-test registry is generated from the TEST(name) lines of tests/unit/*.c.
$(BUILD)/tests/registry.h: $(UNIT_SRC)
	@mkdir -p $(dir $@)
	@grep -h '^TEST(' $(UNIT_SRC) | sed 's/^TEST(\([a-z0-9_]*\)).*/T(\1)/' > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/runner.o: tests/runner.c $(BUILD)/tests/registry.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(BUILD)/tests -c -o $@ $<

$(BUILD)/unit: $(BUILD)/tests/runner.o $(BUILD)/tests/spawn.o $(UNIT_OBJ) $(BUILD)/libtermloom.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

# (the dependency files add headers to these prerequisites: compile only the sources)
$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libtermloom.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.a,$^) $(LIBS)

# Benchmarks: `BENCH(name) { ... }` lines in tests/bench/*.c, registered like the unit tests.
$(BUILD)/tests/bench_registry.h: $(BENCH_SRC)
	@mkdir -p $(dir $@)
	@grep -h '^BENCH(' $(BENCH_SRC) /dev/null | sed 's/^BENCH(\([a-z0-9_]*\)).*/B(\1)/' > $@.tmp && mv $@.tmp $@

$(BUILD)/bench: tests/bench_main.c tests/spawn.c $(BUILD)/tests/bench_registry.h $(BENCH_SRC) $(BUILD)/libtermloom.a
	$(CC) $(ALL_CFLAGS) -I$(BUILD)/tests -o $@ tests/bench_main.c tests/spawn.c $(BENCH_SRC) $(BUILD)/libtermloom.a $(LIBS)

check-deps:
	@sh tests/deps.sh check || $(MAKE) --no-print-directory deps

deps:
	@sh tests/deps.sh install

run: check-deps
	@$(MAKE) --no-print-directory termloom
	./termloom

test: check-deps
	@$(MAKE) --no-print-directory $(BIN) $(BUILD)/unit $(HELPER_BIN)
	@TERMLOOM_BIN=$(BIN) sh tests/run.sh $(BUILD)

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: check-deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    BIN=build-asan/termloom test

bench: check-deps
	@$(MAKE) --no-print-directory termloom $(BUILD)/bench $(HELPER_BIN)
	@$(BUILD)/bench $(BUILD)

FUZZ_TARGETS = $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz: check-deps
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" build-fuzz/libtermloom.a
	@for f in $(wildcard tests/fuzz/fuzz_*.c); do \
	    n=$$(basename $$f .c); \
	    clang $(CFLAGS_BASE) -O1 -g -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) -o build-fuzz/$$n $$f build-fuzz/libtermloom.a $(LIBS) || exit 1; \
	done
	@for n in $(FUZZ_TARGETS); do echo "fuzzing $$n for $${FUZZ_SECONDS:-30}s"; \
	    mkdir -p build-fuzz/corpus-$$(basename $$n); \
	    $$n -max_total_time=$${FUZZ_SECONDS:-30} -max_len=65536 build-fuzz/corpus-$$(basename $$n) tests/fuzz/seeds \
	        tests/data/servers tests/data/looms || exit 1; done

# The shipped models go with their model card and training script (models/README.md).
MODEL_FILES = models/base.gguf models/tuned.gguf models/rl.gguf models/README.md models/train_tiny_lm.py

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/termloom/themes \
	    $(DESTDIR)$(PREFIX)/share/termloom/models $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/termloom
	install -m 644 themes/*.theme $(DESTDIR)$(PREFIX)/share/termloom/themes/
	install -m 644 $(MODEL_FILES) $(DESTDIR)$(PREFIX)/share/termloom/models/
	install -m 644 doc/termloom.1 $(DESTDIR)$(PREFIX)/share/man/man1/termloom.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/termloom $(DESTDIR)$(PREFIX)/share/man/man1/termloom.1
	rm -rf $(DESTDIR)$(PREFIX)/share/termloom

clean:
	rm -rf build build-asan build-fuzz termloom

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
