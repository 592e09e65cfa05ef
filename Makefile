# tripline: trip ingestion in C behind nginx, with PostgreSQL.
#
#   make up      install what is missing, build, start the stack under var/
#   make down    stop it (data kept);  make reset: stop and delete var/
#   make rotate-logs  move each log in var/log/ to .1 (five kept), empty it
#   make test    build with sanitizers and run every test (real PostgreSQL, nginx)
#   make bench   benchmarks (docs/bench/results.csv);  make fuzz: long fuzz runs

CC	?= cc
CSTD	 = -std=c11 -D_GNU_SOURCE
WARN	 = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT	?= -O2 -g
CFLAGS	+= $(CSTD) $(WARN) $(OPT) -Ilib -I/usr/include/postgresql -pthread
LDLIBS	 = -lfcgi -lpq -lcsv -ljson-c -lcrypto -lm -pthread
SAN	 = -fsanitize=address,undefined -fno-omit-frame-pointer

LIB_SRC	 = $(wildcard lib/*.c)
CGI_SRC	 = $(wildcard cgi/*.c)
JOBS_SRC = $(wildcard jobs/*.c)
GEN_SRC	 = tools/gen.c
UNIT_SRC = $(wildcard tests/unit/test_*.c)

# Two builds of everything: build/ (optimised, for make up and bench) and
# build/asan/ (AddressSanitizer + UBSan, for make test).
BIN	 = build/tripline-cgi build/tripline-runner build/tripline-gen
ASAN_BIN = build/asan/tripline-cgi build/asan/tripline-runner build/asan/tripline-gen
UNIT_BIN = $(patsubst tests/unit/%.c,build/asan/unit/%,$(UNIT_SRC))

LIB_OBJ	 = $(patsubst %.c,build/%.o,$(LIB_SRC))
ASAN_LIB_OBJ = $(patsubst %.c,build/asan/%.o,$(LIB_SRC))
HDRS	 = $(wildcard lib/*.h cgi/*.h jobs/*.h)

.PHONY: all up down reset rotate-logs test check unit bench fuzz deps deps-test deps-bench clean compose-test

all: $(BIN)

build/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

build/asan/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -c -o $@ $<

build/tripline-cgi: $(patsubst %.c,build/%.o,$(CGI_SRC)) $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
build/tripline-runner: $(patsubst %.c,build/%.o,$(JOBS_SRC)) $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
build/tripline-gen: $(patsubst %.c,build/%.o,$(GEN_SRC)) $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/asan/tripline-cgi: $(patsubst %.c,build/asan/%.o,$(CGI_SRC)) $(ASAN_LIB_OBJ)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)
build/asan/tripline-runner: $(patsubst %.c,build/asan/%.o,$(JOBS_SRC)) $(ASAN_LIB_OBJ)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)
build/asan/tripline-gen: $(patsubst %.c,build/asan/%.o,$(GEN_SRC)) $(ASAN_LIB_OBJ)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

# A unit test links the library and, where it tests a program's own
# parser, that program's objects except main.
CGI_NOMAIN_ASAN	 = $(patsubst %.c,build/asan/%.o,$(filter-out cgi/main.c,$(CGI_SRC)))
JOBS_NOMAIN_ASAN = $(patsubst %.c,build/asan/%.o,$(filter-out jobs/main.c,$(JOBS_SRC)))
build/asan/unit/%: tests/unit/%.c tests/unit/unit.h $(ASAN_LIB_OBJ) $(CGI_NOMAIN_ASAN) $(JOBS_NOMAIN_ASAN) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -Icgi -Ijobs -Itests/unit -o $@ $< $(ASAN_LIB_OBJ) $(CGI_NOMAIN_ASAN) $(JOBS_NOMAIN_ASAN) $(LDLIBS)

deps:
	@scripts/install-deps.sh

deps-test:
	@scripts/install-deps.sh test

deps-bench:
	@scripts/install-deps.sh bench

up: deps
	@$(MAKE) --no-print-directory all
	@scripts/stack.sh up

down:
	@scripts/stack.sh down

reset:
	@scripts/stack.sh reset

rotate-logs:
	@scripts/stack.sh rotate

unit: $(UNIT_BIN)

# Install first, then build: a fresh machine has no compiler or headers yet.
test: deps-test
	@$(MAKE) --no-print-directory $(BIN) $(ASAN_BIN) $(UNIT_BIN)
	@tests/run.sh

check: test

bench: deps-bench all
	@tests/bench/run.sh

fuzz: deps-test
	@tests/fuzz/run.sh long

compose-test:
	@scripts/compose-test.sh

clean:
	rm -rf build
