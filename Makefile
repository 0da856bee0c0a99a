# cradle - plain Makefile.  `make` builds everything into $(BUILD)/;
# `make demo` and `make test` install missing Debian packages first.
#   make SAN=address   ASan+UBSan build (into build-asan by test-asan)
#   make SAN=thread    TSan build (into build-tsan by test-tsan)
#   make V=1           show commands
#   make check-layers  fail on an include that points up or sideways
#   make format-check  fail on a file clang-format would change
#
# The tree is a stack of layers, one folder each, every include pointing
# down (docs/ARCHITECTURE.md):
#   server  ->  worker  ->  image, core  ->  sandbox  ->  util  ->  proto
# (image uses only sandbox/types.h of the sandbox layer; core uses no
# sandbox).  Each layer is one static archive; a program or a unit test
# links its own layer's archive and those below it, nothing else.

CC      ?= gcc
BUILD   ?= build

# Builds use every CPU unless make was given -j: the sub-makes of `test`,
# `test-asan`, `demo` (...) take it from MAKEFLAGS.
NPROC := $(shell nproc 2>/dev/null || echo 2)
ifeq (,$(filter -j%,$(MAKEFLAGS))$(findstring jobserver,$(MAKEFLAGS)))
MAKEFLAGS += -j$(NPROC)
endif
SAN     ?=
V       ?= 0

DEB_PKGS := build-essential pkg-config libnng-dev libmbedtls-dev libmsgpack-dev liblmdb-dev \
            libjson-c-dev libcap-dev libselinux1-dev check libsubunit-dev \
            libseccomp-dev libarchive-dev libcurl4-openssl-dev libssl-dev \
            libsystemd-dev docker-registry skopeo curl iproute2 procps clang-format \
            libyaml-dev

STD     := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral \
           -Wpointer-arith -Wvla
OPT     := -O2 -g
DEPFL   := -MMD -MP
PKG_CFLAGS := $(shell pkg-config --cflags msgpack lmdb json-c libcap libselinux libseccomp check 2>/dev/null)
# The one version of cradled, the CLI and libcradle (.so name and .pc): VERSION
CRADLE_VERSION := $(shell cat VERSION)
CFLAGS_ALL = $(STD) $(WARN) $(OPT) $(DEPFL) -I. $(PKG_CFLAGS) $(SANFL) -fPIC \
             -DCRADLE_VERSION='"$(CRADLE_VERSION)"' $(EXTRA_CFLAGS)

ifeq ($(SAN),address)
SANFL   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SAN),thread)
SANFL   := -fsanitize=thread -fno-omit-frame-pointer
else
SANFL   :=
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

OBJ := $(BUILD)/obj
LIB := $(BUILD)/lib
o = $(patsubst %.c,$(OBJ)/%.o,$(1))

# --- layers: sources, the layers below (link order), system libraries ---
LAYERS := proto util sandbox core image worker server

SRC_proto   := $(wildcard proto/*.c)
SRC_util    := $(wildcard util/*.c)
SRC_sandbox := $(wildcard sandbox/*.c)
SRC_core    := $(wildcard core/*.c)
SRC_image   := $(wildcard image/*.c)
SRC_worker  := $(wildcard worker/*.c)
SRC_server  := $(filter-out server/main.c,$(wildcard server/*.c))

BELOW_proto   :=
BELOW_util    := proto
BELOW_sandbox := util proto
BELOW_core    := util proto
BELOW_image   := sandbox util proto
BELOW_worker  := image core sandbox util proto
BELOW_server  := worker image core sandbox util proto

LIBS_MSGPACK  := $(shell pkg-config --libs msgpack 2>/dev/null || echo -lmsgpackc)
SYS_proto     := $(LIBS_MSGPACK)
SYS_util      := -llmdb -lpthread -ljson-c
SYS_sandbox   := -lseccomp -lselinux -lcap -ljson-c -lsystemd
SYS_core      := -lnng -lpthread
SYS_image     := -larchive -lcurl -lcrypto -ljson-c
SYS_worker    :=
SYS_server    := -lnng -lsystemd

# archives and system libraries a program of layer L links, in order
archives = $(foreach l,$(1) $(BELOW_$(1)),$(LIB)/lib$(l).a)
syslibs  = $(foreach l,$(1) $(BELOW_$(1)),$(SYS_$(l)))

LIBS_CHECK := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt)

# --- client side: libcradle (on proto only), the CLI, the bench ---
# libcradle.so exports only what client/cradle.h declares CRADLE_API: its
# objects are built -fvisibility=hidden, proto's come from libproto.a with
# --exclude-libs, client/libcradle.map puts the rest in node CRADLE_0, and
# client/check-exports.sh compares `nm -D` with the header after each link.
# libcradle.a (its objects and proto's) serves the CLI, the bench and the
# tests, which may also use the internal client/internal.h.
CLI_SRC    := $(wildcard client/cli*.c)
LIB_SRC    := $(filter-out $(CLI_SRC),$(wildcard client/*.c))
BENCH_SRC  := $(wildcard bench/*.c)
LIB_OBJ    := $(call o,$(LIB_SRC)) $(call o,$(SRC_proto))
LIBS_CLIENT := -lnng -ljson-c $(LIBS_MSGPACK) -lpthread
# The CLI is one short process per call: a static binary spares it the
# loader's work and the copy-on-write of relocated data for libnng, the
# three mbedtls libraries nng pulls in and libc (a page fault costs ~23 us
# on this kind of VM): `cradle version` 0.4 ms over /bin/true static, 2.3
# ms dynamic.  The CLI only dials ipc, so glibc's warning that nng's
# getaddrinfo needs NSS at run time does not apply.  Sanitizer builds stay
# dynamic (their runtimes want a shared libc).
ifeq ($(SAN),)
LIBS_CLI    := -static -lnng -lmbedtls -lmbedx509 -lmbedcrypto -ljson-c -lyaml $(LIBS_MSGPACK) \
               -lpthread
else
LIBS_CLI    := -Wl,-Bstatic -lnng -lmbedtls -lmbedx509 -lmbedcrypto -ljson-c -lyaml $(LIBS_MSGPACK) \
               -Wl,-Bdynamic -lpthread
endif
LIBCRADLE_VERSION := $(CRADLE_VERSION)
LIBCRADLE_SONAME  := libcradle.so.$(firstword $(subst ., ,$(CRADLE_VERSION)))
LIBCRADLE_SO      := libcradle.so.$(LIBCRADLE_VERSION)
# where build/libcradle.pc says the library is installed
PREFIX     ?= /usr/local
# a miniature of that layout under the build, for test_public_header
CLIENT_SDK := $(BUILD)/tests/sdk

# --- tests: tests/unit/<layer>/test_*.c link that layer and those below ---
UNIT_LAYERS := $(LAYERS) client
UNIT_SRC    := $(foreach l,$(UNIT_LAYERS),$(wildcard tests/unit/$(l)/test_*.c))
UNIT_LIB    := $(wildcard tests/unit/lib/*.c)
INTEG_SRC   := $(wildcard tests/integ/test_*.c)
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
INTEG_BIN   := $(patsubst tests/integ/%.c,$(BUILD)/tests/%,$(INTEG_SRC))

ALL := $(BUILD)/cradled $(BUILD)/cradle $(BUILD)/libcradle.a $(BUILD)/libcradle.so \
       $(BUILD)/$(LIBCRADLE_SONAME) $(BUILD)/libcradle.pc \
       $(BUILD)/cradle-bench $(BUILD)/pause $(BUILD)/rootfs/pause $(BUILD)/pause.oci.tar \
       $(BUILD)/man/cradle.1 $(BUILD)/completion/cradle.bash $(BUILD)/completion/_cradle \
       $(BUILD)/completion/cradle.fish

.PHONY: all deps demo test test-unit test-integ test-asan test-tsan test-build clean bench \
        check-layers format format-check
all: $(ALL)

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

# one archive per layer
define layer_archive
$(LIB)/lib$(1).a: $(call o,$(SRC_$(1)))
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  AR      $$@")
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_archive,$(l))))

$(BUILD)/cradled: $(call o,server/main.c) $(call archives,server)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFL) -o $@ $^ $(call syslibs,server)

# the daemon with failure injection ($CRADLE_FAIL_STEP; tests only)
$(OBJ)/hooks/server/main.o: server/main.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC+hook $<")
	$(Q)$(CC) $(CFLAGS_ALL) -DCRADLE_TEST_HOOKS -c -o $@ $<

$(BUILD)/tests/cradled-hooks: $(OBJ)/hooks/server/main.o $(call archives,server)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFL) -o $@ $^ $(call syslibs,server)

# client objects: nothing visible outside libcradle.so but CRADLE_API
$(OBJ)/client/%.o: client/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -fvisibility=hidden -c -o $@ $<

$(BUILD)/libcradle.a: $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/$(LIBCRADLE_SO): $(call o,$(LIB_SRC)) $(LIB)/libproto.a client/libcradle.map \
                          client/cradle.h client/check-exports.sh
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFL) -shared -Wl,-soname,$(LIBCRADLE_SONAME) \
	    -Wl,--version-script=client/libcradle.map -Wl,--exclude-libs,ALL -Wl,--no-undefined \
	    -o $@ $(call o,$(LIB_SRC)) $(LIB)/libproto.a $(LIBS_CLIENT)
	$(Q)client/check-exports.sh $@ client/cradle.h

$(BUILD)/$(LIBCRADLE_SONAME): $(BUILD)/$(LIBCRADLE_SO)
	$(Q)ln -sfn $(LIBCRADLE_SO) $@

$(BUILD)/libcradle.so: $(BUILD)/$(LIBCRADLE_SONAME)
	$(Q)ln -sfn $(LIBCRADLE_SONAME) $@

# what prints the version is rebuilt when VERSION changes
$(OBJ)/server/main.o $(OBJ)/hooks/server/main.o $(OBJ)/client/cli.o: VERSION

# rewritten when PREFIX or the version changed, left alone otherwise
.PHONY: libcradle-pc-vars
$(BUILD)/libcradle.pc: client/libcradle.pc.in libcradle-pc-vars
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(LIBCRADLE_VERSION)|g' $< > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

# The installed layout in miniature: include/cradle/cradle.h, which may
# include nothing but <stdbool.h>, <stddef.h> and <stdint.h> (and must
# parse as C++ too), and lib/ with the library's links.
$(CLIENT_SDK)/include/cradle/cradle.h: client/cradle.h
	@mkdir -p $(dir $@)
	$(Q)bad=$$(grep -n '^[[:space:]]*#[[:space:]]*include' $< | \
	           grep -v -e '<stdbool\.h>' -e '<stddef\.h>' -e '<stdint\.h>'); \
	if [ -n "$$bad" ]; then echo "$<: the public header includes more than" \
	   "<stdbool.h>, <stddef.h>, <stdint.h>: $$bad" >&2; exit 1; fi
	$(Q)$(CXX) -fsyntax-only -Wall -Wextra -Werror -x c++ $<
	$(Q)cp $< $@

$(CLIENT_SDK)/lib/libcradle.so: $(BUILD)/libcradle.so
	@mkdir -p $(dir $@)
	$(Q)ln -sfn $(abspath $(BUILD))/$(LIBCRADLE_SO) $(dir $@)$(LIBCRADLE_SO)
	$(Q)ln -sfn $(LIBCRADLE_SO) $(dir $@)$(LIBCRADLE_SONAME)
	$(Q)ln -sfn $(LIBCRADLE_SONAME) $@

$(BUILD)/cradle: $(call o,$(CLI_SRC)) $(LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFL) -o $@ $^ $(LIBS_CLI)

# cradle(1) and the shell completions, printed by the built CLI from its
# option tables (client/cli_doc.c; part of ALL); cradled(8) and
# cradled.conf(5) are written by hand (docs/).  Generated, never committed.
$(BUILD)/man/cradle.1: $(BUILD)/cradle
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$< help --man > $@.tmp && mv -f $@.tmp $@
$(BUILD)/completion/cradle.bash $(BUILD)/completion/_cradle $(BUILD)/completion/cradle.fish: \
        $(BUILD)/cradle
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$< completion $(patsubst cradle.%,%,$(patsubst _cradle,cradle.zsh,$(notdir $@))) \
	    > $@.tmp && mv -f $@.tmp $@

# The bench's floor makes sandboxes with the sandbox library's own calls and
# the pause image from an image store of its own (bench/floor.h).
$(BUILD)/cradle-bench: $(call o,$(BENCH_SRC)) $(BUILD)/libcradle.a $(call archives,image)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFL) -o $@ $^ $(LIBS_CLIENT) $(call syslibs,image)

# pause is static and never sanitized: it runs alone inside the sandbox.
$(BUILD)/pause: pause/pause.c VERSION
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@ (static)")
	$(Q)$(CC) $(STD) $(WARN) -DPAUSE_VERSION='"$(CRADLE_VERSION)"' -Os -static -o $@ $<
	$(Q)strip $@

# The sandbox image for now: a read-only unpacked rootfs holding /pause,
# the mount points and files the sandbox binds over, the user databases,
# and its OCI image config beside it (rootfs.json).
$(BUILD)/rootfs/pause: $(BUILD)/pause pause/image-config.json
	$(Q)rm -rf $(BUILD)/rootfs && mkdir -p $(BUILD)/rootfs/proc $(BUILD)/rootfs/dev $(BUILD)/rootfs/sys $(BUILD)/rootfs/etc
	$(Q): > $(BUILD)/rootfs/etc/resolv.conf && : > $(BUILD)/rootfs/etc/hostname && : > $(BUILD)/rootfs/etc/hosts
	$(Q)printf 'root:x:0:0:root:/:/pause\nnobody:x:65534:65534:nobody:/:/pause\n' > $(BUILD)/rootfs/etc/passwd
	$(Q)printf 'root:x:0:\nnobody:x:65534:\n' > $(BUILD)/rootfs/etc/group
	$(Q)cp pause/image-config.json $(BUILD)/rootfs.json
	$(Q)cp $< $@ && chmod 0755 $@ && chmod -R a-w,a+rX $(BUILD)/rootfs && chmod u+w $(BUILD)/rootfs

# The built-in sandbox image, as an OCI archive cradled imports when the
# configured image is "cradle.local/pause:built-in" and absent.
$(BUILD)/pause.oci.tar: $(BUILD)/pause pause/image-config.json pause/mkimage.sh
	@$(if $(Q),echo "  IMAGE   $@")
	$(Q)pause/mkimage.sh $(BUILD)/pause pause/image-config.json $@

# --- unit tests ---
$(LIB)/libunittest.a: $(call o,$(UNIT_LIB))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# A layer's own test helpers (tests/unit/<layer>/lib*.c) serve its tests
# and those of the layers above it, like the layer itself.
unit_helpers = $(foreach l,$(1) $(BELOW_$(1)),$(call o,$(wildcard tests/unit/$(l)/lib*.c)))

define unit_tests
$(BUILD)/tests/unit/$(1)/%: $(OBJ)/tests/unit/$(1)/%.o $(call unit_helpers,$(1)) $(LIB)/libunittest.a $(call archives,$(1))
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(SANFL) -o $$@ $$^ $(call syslibs,$(1)) $$(LIBS_CHECK)
endef
$(foreach l,$(LAYERS),$(eval $(call unit_tests,$(l))))

# the client layer: libcradle's objects, on proto
$(BUILD)/tests/unit/client/%: tests/unit/client/%.c $(LIB)/libunittest.a $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS_CLIENT) $(LIBS_CHECK)

# ... except the test of the public face: a program built as a user of an
# installed libcradle would build it, with only the installed header in
# sight (no -I.) and the flags of libcradle.pc, run against the .so.
SDK_PC = pkg-config --define-variable=prefix=$(abspath $(CLIENT_SDK)) $(BUILD)/libcradle.pc
$(BUILD)/tests/unit/client/test_public_header: tests/unit/client/test_public_header.c \
        $(CLIENT_SDK)/include/cradle/cradle.h $(CLIENT_SDK)/lib/libcradle.so $(BUILD)/libcradle.pc
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC+LD   $@ (installed layout)")
	$(Q)$(CC) $(STD) $(WARN) $(OPT) $(SANFL) $$($(SDK_PC) --cflags) -o $@ $< \
	    $$($(SDK_PC) --libs) -Wl,-rpath,$(abspath $(CLIENT_SDK))/lib $(LIBS_CHECK)

# Integration suites may run at once, of one build dir or of several: each
# suite's tests use a cgroup parent, temp dirs and a sweep of their own,
# named after a hash of the build dir and the suite (IT_TAG,
# tests/integ/libinteg.h), so libinteg is compiled once per suite.
IT_TAG   := $(shell printf '%s' '$(abspath $(BUILD))' | md5sum | cut -c1-8)
it_defs   = -DIT_TAG='"$(IT_TAG)-$(patsubst test_%,%,$(1))"'

$(OBJ)/tests/integ/%/libinteg.o: tests/integ/libinteg.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< ($*)")
	$(Q)$(CC) $(CFLAGS_ALL) $(call it_defs,$*) -c -o $@ $<

$(BUILD)/tests/%: tests/integ/%.c $(OBJ)/tests/integ/%/libinteg.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(call it_defs,$*) -o $@ $^ $(LIBS_CLIENT) $(LIBS_CHECK)

# --- checks ---
check-layers:
	$(Q)tests/check-layers.sh

FORMAT_FILES = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
format-check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES)

format:
	$(Q)clang-format -i $(FORMAT_FILES)

# --- what the README shows ---
test-build: $(ALL) $(UNIT_BIN) $(INTEG_BIN) $(BUILD)/tests/cradled-hooks

test-unit: test-build
	$(Q)tests/run.sh unit $(BUILD) $(UNIT_BIN)

test-integ: test-build
	$(Q)tests/run.sh integ $(BUILD) $(INTEG_BIN)

test: deps
	$(Q)$(MAKE) --no-print-directory check-layers format-check
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)tests/run.sh all $(BUILD) $(UNIT_BIN) $(INTEG_BIN)
	$(Q)tests/install/run.sh $(BUILD)
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=4

# Check's own timeouts (unit tests) scale with the sanitizers' slowness; the
# integration tests scale theirs in code (it_ms, tests/integ/libinteg.h).
test-asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SAN=address test-build
	$(Q)CK_TIMEOUT_MULTIPLIER=4 $(MAKE) --no-print-directory BUILD=build-asan SAN=address test-run-all

test-tsan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build-tsan SAN=thread test-build
	$(Q)CK_TIMEOUT_MULTIPLIER=10 $(MAKE) --no-print-directory BUILD=build-tsan SAN=thread test-run-all

# TSan finds races between threads (and lock-order inversions): a unit
# suite whose code under test starts no thread, takes no lock and spawns
# no CLONE_VM child gives it nothing to find and only pays its slowness.
# test-tsan runs all but these (they run in the plain and ASan builds and
# are still compiled with TSan): encoders and parsers (proto, json, the
# configs, image configs and registry files, pod JSON, specs, plans,
# bundles, runtimes, bandwidth quantities), files, unpacking, mount
# namespaces, device rules.  Every suite that starts threads (nng's too)
# or takes locks stays: queue, store, log, table, events, lifecycle,
# records, stats, content, image refs, pull, the client (handles, sp,
# events gap, public header), worker start; and so do run.c's and
# launch.c's CLONE_VM spawns: run, nri, cni, launch, isolation, cgroup,
# seccomp, selinux.
TSAN_SKIP := $(addprefix $(BUILD)/tests/unit/,proto/test_events_since proto/test_fuzz_dict \
             proto/test_list_page proto/test_proto proto/test_ref proto/test_spec_kvs \
             util/test_fs util/test_json image/test_config image/test_oci \
             image/test_registry_files image/test_unpack sandbox/test_bundle \
             sandbox/test_devices sandbox/test_files sandbox/test_mntns sandbox/test_plan \
             sandbox/test_runtime sandbox/test_spec server/test_config \
             server/test_config_fuzz server/test_limits worker/test_net client/test_podjson)
UNIT_RUN_BIN = $(if $(filter thread,$(SAN)),$(filter-out $(TSAN_SKIP),$(UNIT_BIN)),$(UNIT_BIN))

.PHONY: test-run-all
test-run-all:
	$(Q)tests/run.sh all $(BUILD) $(UNIT_RUN_BIN) $(INTEG_BIN)

# The long forms of the chaos and event-flood suites (docs/OPERATIONS.md,
# "Chaos and leak checks"): 500 starts under 5 kills, 10,000 cycles with
# random failures, 5,000 exits at a slow subscriber.  CRADLE_CHAOS_SEED=N
# replays a run's random choices.
.PHONY: chaos
chaos: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)CRADLE_CHAOS=1 CRADLE_CHAOS_EXITS=5000 tests/run.sh chaos $(BUILD) \
	    $(filter %/test_chaos %/test_events,$(INTEG_BIN))

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)examples/demo.sh $(BUILD)

# runc for its kernel memory per sandbox, crun to show it refuses a hybrid
# cgroup layout, gnuplot for the latency CDF (bench/run.sh, docs/PERFORMANCE.md)
BENCH_PKGS := runc crun gnuplot-nox
bench: deps
	$(Q)$(MAKE) --no-print-directory deps DEB_PKGS="$(BENCH_PKGS)"
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/run.sh $(BUILD)

# --- fuzzing: libFuzzer targets, tests/fuzz/fuzz_*.c ---
# `make fuzz [FUZZ_SECONDS=N]` installs clang when it is missing, builds the
# layers a target needs with clang, ASan+UBSan and libFuzzer's coverage into
# build-fuzz/, links each target with -fsanitize=fuzzer and runs each for N
# seconds, FUZZ_JOBS at a time (tests/fuzz/run.sh), on a copy of its seeds
# (tests/fuzz/corpus/<target>/ -> build-fuzz/corpus/<target>/, kept between
# runs; a run under 30 s, as `make test` makes, starts from the seeds
# alone), then prints the executions of each and the total.  A crash fails
# it and leaves the input in build-fuzz/crashes/<target>/ (tests/fuzz/README.md).
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 2
FUZZ_BUILD_JOBS ?= $(NPROC)
FUZZ_BUILD   := build-fuzz
FUZZ_CC      := clang
FUZZ_SANFL   := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=undefined
FUZZ_LDFL    := -fsanitize=fuzzer,address,undefined
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# what each target links beyond its own object, and the system libraries
FUZZ_IMAGE_DEPS := $(call archives,image)
FUZZ_IMAGE_SYS  := $(call syslibs,image)
FUZZ_DEPS_fuzz_request      := $(LIB)/libproto.a
FUZZ_SYS_fuzz_request       := $(SYS_proto)
FUZZ_DEPS_fuzz_podjson      := $(call o,client/podjson.c) $(LIB)/libproto.a
FUZZ_SYS_fuzz_podjson       := -ljson-c $(SYS_proto)
FUZZ_DEPS_fuzz_manifest     := $(FUZZ_IMAGE_DEPS)
FUZZ_SYS_fuzz_manifest      := $(FUZZ_IMAGE_SYS)
FUZZ_DEPS_fuzz_index        := $(FUZZ_IMAGE_DEPS)
FUZZ_SYS_fuzz_index         := $(FUZZ_IMAGE_SYS)
FUZZ_DEPS_fuzz_image_config := $(FUZZ_IMAGE_DEPS)
FUZZ_SYS_fuzz_image_config  := $(FUZZ_IMAGE_SYS)
FUZZ_DEPS_fuzz_unpack       := $(FUZZ_IMAGE_DEPS)
FUZZ_SYS_fuzz_unpack        := $(FUZZ_IMAGE_SYS)
FUZZ_DEPS_fuzz_import       := $(FUZZ_IMAGE_DEPS)
FUZZ_SYS_fuzz_import        := $(FUZZ_IMAGE_SYS)
FUZZ_DEPS_fuzz_ini          := $(call o,server/config.c) $(call archives,sandbox)
FUZZ_SYS_fuzz_ini           := $(call syslibs,sandbox)

define fuzz_target
$(BUILD)/fuzz/$(1): $(OBJ)/tests/fuzz/$(1).o $(FUZZ_DEPS_$(1))
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $(FUZZ_LDFL) -o $$@ $$^ $(FUZZ_SYS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))

.PHONY: fuzz fuzz-build
fuzz: deps
	$(Q)$(MAKE) --no-print-directory deps DEB_PKGS="clang libclang-rt-dev"
	$(Q)$(MAKE) --no-print-directory -j$(FUZZ_BUILD_JOBS) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	    SANFL="$(FUZZ_SANFL)" fuzz-build
	$(Q)tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

fuzz-build: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))

# --- install: make install [PREFIX=/usr/local] [SYSCONFDIR=/etc] [DESTDIR=] ---
# What $(BUILD) holds, into the usual places (docs/OPERATIONS.md, "Install").
# An installed cradled finds the pause archive relative to itself, in
# ../lib/cradle/ (server/config.c), so nothing is rebuilt for a PREFIX.
# The sample config is installed only when there is none, and uninstall
# removes it only when it is still the sample.  tests/install/run.sh
# checks all of it.
SYSCONFDIR ?= /etc
BINDIR     := $(PREFIX)/bin
SBINDIR    := $(PREFIX)/sbin
LIBDIR     := $(PREFIX)/lib
INCLUDEDIR := $(PREFIX)/include
PKGLIBDIR  := $(LIBDIR)/cradle
UNITDIR    := $(LIBDIR)/systemd/system
CONFDIR    := $(SYSCONFDIR)/cradle
MANDIR     := $(PREFIX)/share/man
BASHCOMPDIR := $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR := $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR := $(PREFIX)/share/fish/vendor_completions.d
INSTALLED  := $(SBINDIR)/cradled $(BINDIR)/cradle $(BINDIR)/cradle-bench \
              $(LIBDIR)/$(LIBCRADLE_SO) $(LIBDIR)/$(LIBCRADLE_SONAME) $(LIBDIR)/libcradle.so \
              $(INCLUDEDIR)/cradle/cradle.h $(LIBDIR)/pkgconfig/libcradle.pc \
              $(PKGLIBDIR)/pause.oci.tar $(UNITDIR)/cradled.service \
              $(MANDIR)/man1/cradle.1 $(MANDIR)/man5/cradled.conf.5 $(MANDIR)/man8/cradled.8 \
              $(BASHCOMPDIR)/cradle $(ZSHCOMPDIR)/_cradle $(FISHCOMPDIR)/cradle.fish
# the sample config as installed: image_archive's default where it is
SAMPLE_CONF = sed -e 's|^; image_archive = .*|; image_archive = $(PKGLIBDIR)/pause.oci.tar|' \
              examples/cradled.conf
UNIT_EXEC  := $(SBINDIR)/cradled$(if $(filter /etc,$(SYSCONFDIR)),, --config $(CONFDIR)/cradled.conf)

.PHONY: install uninstall test-install
install: $(BUILD)/cradled $(BUILD)/cradle $(BUILD)/cradle-bench $(BUILD)/$(LIBCRADLE_SO) \
         $(BUILD)/pause.oci.tar client/cradle.h client/libcradle.pc.in \
         examples/cradled.conf examples/systemd/cradled.service \
         $(BUILD)/man/cradle.1 docs/cradled.8 docs/cradled.conf.5 $(BUILD)/completion/cradle.bash \
         $(BUILD)/completion/_cradle $(BUILD)/completion/cradle.fish
	$(Q)install -d $(addprefix $(DESTDIR),$(SBINDIR) $(BINDIR) $(LIBDIR)/pkgconfig \
	    $(INCLUDEDIR)/cradle $(PKGLIBDIR) $(UNITDIR) $(CONFDIR))
	$(Q)install -m 0755 $(BUILD)/cradled $(DESTDIR)$(SBINDIR)/cradled
	$(Q)install -m 0755 $(BUILD)/cradle $(BUILD)/cradle-bench $(DESTDIR)$(BINDIR)/
	$(Q)install -m 0755 $(BUILD)/$(LIBCRADLE_SO) $(DESTDIR)$(LIBDIR)/$(LIBCRADLE_SO)
	$(Q)ln -sfn $(LIBCRADLE_SO) $(DESTDIR)$(LIBDIR)/$(LIBCRADLE_SONAME)
	$(Q)ln -sfn $(LIBCRADLE_SONAME) $(DESTDIR)$(LIBDIR)/libcradle.so
	$(Q)install -m 0644 client/cradle.h $(DESTDIR)$(INCLUDEDIR)/cradle/cradle.h
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(LIBCRADLE_VERSION)|g' \
	    client/libcradle.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libcradle.pc
	$(Q)install -m 0644 $(BUILD)/pause.oci.tar $(DESTDIR)$(PKGLIBDIR)/pause.oci.tar
	$(Q)sed -e 's|^ExecStart=.*|ExecStart=$(UNIT_EXEC)|' examples/systemd/cradled.service \
	    > $(DESTDIR)$(UNITDIR)/cradled.service
	$(Q)chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/libcradle.pc $(DESTDIR)$(UNITDIR)/cradled.service
	$(Q)if [ -e $(DESTDIR)$(CONFDIR)/cradled.conf ]; then \
	    echo "install: kept $(DESTDIR)$(CONFDIR)/cradled.conf"; \
	else $(SAMPLE_CONF) > $(DESTDIR)$(CONFDIR)/cradled.conf && \
	    chmod 0644 $(DESTDIR)$(CONFDIR)/cradled.conf; fi
	$(Q)install -d $(addprefix $(DESTDIR),$(MANDIR)/man1 $(MANDIR)/man5 $(MANDIR)/man8 \
	    $(BASHCOMPDIR) $(ZSHCOMPDIR) $(FISHCOMPDIR))
	$(Q)install -m 0644 $(BUILD)/man/cradle.1 $(DESTDIR)$(MANDIR)/man1/cradle.1
	$(Q)install -m 0644 docs/cradled.conf.5 $(DESTDIR)$(MANDIR)/man5/cradled.conf.5
	$(Q)install -m 0644 docs/cradled.8 $(DESTDIR)$(MANDIR)/man8/cradled.8
	$(Q)install -m 0644 $(BUILD)/completion/cradle.bash $(DESTDIR)$(BASHCOMPDIR)/cradle
	$(Q)install -m 0644 $(BUILD)/completion/_cradle $(DESTDIR)$(ZSHCOMPDIR)/_cradle
	$(Q)install -m 0644 $(BUILD)/completion/cradle.fish $(DESTDIR)$(FISHCOMPDIR)/cradle.fish

uninstall:
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	$(Q)f=$(DESTDIR)$(CONFDIR)/cradled.conf; \
	if $(SAMPLE_CONF) | cmp -s - $$f; then rm -f $$f; \
	elif [ -e $$f ]; then echo "uninstall: kept $$f (not the sample)"; fi
	$(Q)for d in $(INCLUDEDIR)/cradle $(PKGLIBDIR) $(CONFDIR); do \
	    if [ -d $(DESTDIR)$$d ]; then rmdir --ignore-fail-on-non-empty $(DESTDIR)$$d; fi; done

test-install: $(ALL)
	$(Q)tests/install/run.sh $(BUILD)

clean:
	rm -rf build build-asan build-tsan build-fuzz

# objects are never deleted as intermediates (tests link them from pattern rules)
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
