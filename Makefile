# cradle - plain Makefile.  `make` builds everything into $(BUILD)/;
# `make demo` and `make test` install missing Debian packages first.
#   make SAN=address   ASan+UBSan build (into build-asan by test-asan)
#   make SAN=thread    TSan build (into build-tsan by test-tsan)
#   make V=1           show commands

CC      ?= gcc
BUILD   ?= build
SAN     ?=
V       ?= 0

DEB_PKGS := build-essential pkg-config libnng-dev libmsgpack-dev liblmdb-dev \
            libjson-c-dev libcap-dev libselinux1-dev check libsubunit-dev \
            libinih-dev libseccomp-dev libarchive-dev libcurl4-openssl-dev libssl-dev \
            docker-registry skopeo curl iproute2 procps

STD     := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral \
           -Wpointer-arith -Wvla
OPT     := -O2 -g
DEPFL   := -MMD -MP
PKG_CFLAGS := $(shell pkg-config --cflags msgpack lmdb json-c libcap libselinux libseccomp check 2>/dev/null)
CFLAGS_ALL = $(STD) $(WARN) $(OPT) $(DEPFL) $(PKG_CFLAGS) $(SANFL) -fPIC $(EXTRA_CFLAGS)

ifeq ($(SAN),address)
SANFL   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SAN),thread)
SANFL   := -fsanitize=thread -fno-omit-frame-pointer
else
SANFL   :=
endif

LIBS_MSGPACK := $(shell pkg-config --libs msgpack 2>/dev/null || echo -lmsgpackc)
LIBS_SERVER  := -lnng $(LIBS_MSGPACK) -llmdb -linih -lseccomp -ljson-c -lcap -lselinux \
                -larchive -lcurl -lcrypto -lpthread
LIBS_CLIENT  := -lnng $(LIBS_MSGPACK) -lpthread
LIBS_CLI     := $(LIBS_CLIENT) -ljson-c
LIBS_CHECK   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt)

ifeq ($(V),1)
Q :=
else
Q := @
endif

OBJ := $(BUILD)/obj

PROTO_SRC  := $(wildcard proto/*.c)
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))
WORKER_SRC := $(wildcard worker/*.c) $(wildcard image/*.c)
LIB_SRC    := client/libcradle.c
CLI_SRC    := $(filter-out client/libcradle.c,$(wildcard client/*.c))
BENCH_SRC  := $(wildcard bench/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
INTEG_SRC  := $(wildcard tests/integ/test_*.c)
INTEG_LIB  := $(wildcard tests/integ/lib*.c)

o = $(patsubst %.c,$(OBJ)/%.o,$(1))

PROTO_OBJ  := $(call o,$(PROTO_SRC))
SERVER_OBJ := $(call o,$(SERVER_SRC))
WORKER_OBJ := $(call o,$(WORKER_SRC))
LIB_OBJ    := $(call o,$(LIB_SRC)) $(PROTO_OBJ)
# the daemon with failure injection compiled in (tests only)
HOOK_OBJ   := $(patsubst $(OBJ)/%.o,$(OBJ)/hooks/%.o,$(WORKER_OBJ) $(SERVER_OBJ) $(call o,server/main.c))

UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
INTEG_BIN  := $(patsubst tests/integ/%.c,$(BUILD)/tests/%,$(INTEG_SRC))

ALL := $(BUILD)/cradled $(BUILD)/cradle $(BUILD)/libcradle.a $(BUILD)/libcradle.so \
       $(BUILD)/cradle-bench $(BUILD)/pause $(BUILD)/rootfs/pause $(BUILD)/pause.oci.tar

.PHONY: all deps demo test test-unit test-integ test-asan test-tsan test-build clean bench
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

$(OBJ)/hooks/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC+hook $<")
	$(Q)$(CC) $(CFLAGS_ALL) -DCRADLE_TEST_HOOKS -c -o $@ $<

$(BUILD)/cradled: $(call o,server/main.c) $(SERVER_OBJ) $(WORKER_OBJ) $(PROTO_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFL) -o $@ $^ $(LIBS_SERVER)

$(BUILD)/tests/cradled-hooks: $(HOOK_OBJ) $(PROTO_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFL) -o $@ $^ $(LIBS_SERVER)

$(BUILD)/libcradle.a: $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libcradle.so: $(LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFL) -shared -Wl,-soname,libcradle.so.0 -o $@ $^ $(LIBS_CLIENT)

$(BUILD)/cradle: $(call o,$(CLI_SRC)) $(LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFL) -o $@ $^ $(LIBS_CLI)

# The bench measures the kernel floor with the daemon's own launcher.
$(BUILD)/cradle-bench: $(call o,$(BENCH_SRC)) $(OBJ)/worker/launch.o $(LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFL) -o $@ $^ $(LIBS_CLIENT) -lcap

# pause is static and never sanitized: it runs alone inside the sandbox.
$(BUILD)/pause: pause/pause.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@ (static)")
	$(Q)$(CC) $(STD) $(WARN) -Os -static -o $@ $<
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

$(BUILD)/tests/%: tests/unit/%.c $(SERVER_OBJ) $(WORKER_OBJ) $(PROTO_OBJ) $(OBJ)/client/podjson.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS_SERVER) $(LIBS_CHECK) -ljson-c

$(BUILD)/tests/%: tests/integ/%.c $(call o,$(INTEG_LIB)) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS_CLIENT) $(LIBS_CHECK)

test-build: $(ALL) $(UNIT_BIN) $(INTEG_BIN) $(BUILD)/tests/cradled-hooks

test-unit: test-build
	$(Q)tests/run.sh unit $(BUILD) $(UNIT_BIN)

test-integ: test-build
	$(Q)tests/run.sh integ $(BUILD) $(INTEG_BIN)

test: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)tests/run.sh all $(BUILD) $(UNIT_BIN) $(INTEG_BIN)

test-asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SAN=address test-build
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SAN=address test-run-all

test-tsan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build-tsan SAN=thread test-build
	$(Q)$(MAKE) --no-print-directory BUILD=build-tsan SAN=thread test-run-all

.PHONY: test-run-all
test-run-all:
	$(Q)tests/run.sh all $(BUILD) $(UNIT_BIN) $(INTEG_BIN)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)examples/demo.sh $(BUILD)

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/run.sh $(BUILD)

clean:
	rm -rf build build-asan build-tsan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
