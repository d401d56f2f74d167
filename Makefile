# autoban - see README.md.
#
# Variables you may set on the command line:
#   PREFIX   where banhelper and the man pages go          (/usr/local)
#   DESTDIR  staging root for packaging                     (empty)
#   PAMDIR   the system's PAM module directory  (from pkg-config pam)
#   CONFDIR  where autoban.conf is installed if absent  (/etc/security)
#   UNITDIR  where banhelper.service goes          (/etc/systemd/system)
#   WERROR   -Werror by default; WERROR= to build with warnings only
#   CFLAGS   optimisation and debug flags                  (-O2 -g)
#   SAN      1: build into build-san with AddressSanitizer and
#            UndefinedBehaviorSanitizer (make SAN=1 tests)
#   FUZZ_SECONDS, FUZZ  make fuzz: seconds per target, which targets

PREFIX	?= /usr/local
DESTDIR	?=
PAMDIR	?= $(shell pkg-config --variable=libdir pam 2>/dev/null || echo /lib/x86_64-linux-gnu)/security
CONFDIR	?= /etc/security
SBINDIR	?= $(PREFIX)/sbin
UNITDIR	?= /etc/systemd/system
MANDIR	?= $(PREFIX)/share/man

CC	?= cc
CFLAGS	?= -O2 -g
WERROR	?= -Werror
WARN	= -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wcast-qual \
	  -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers \
	  $(WERROR)
# Every object is position-independent: the same lib/ objects go into the
# PAM module and into banhelper.  Hidden visibility keeps the module's
# exports to the version script's list.
BASEFLAGS = -std=gnu11 -fPIC -fvisibility=hidden -D_FORTIFY_SOURCE=2 \
	  -fstack-protector-strong -Iinclude -MMD -MP
ALL_CFLAGS = $(BASEFLAGS) $(WARN) $(CFLAGS)
# Tests build long paths with snprintf; truncation there is harmless.
TEST_CFLAGS = $(ALL_CFLAGS) -Wno-format-truncation
LDHARDEN = -Wl,-z,relro,-z,now -Wl,--as-needed

# SAN=1: the same objects, tests and tools with ASan and UBSan, in their own
# directory, so both builds can stand side by side (tests/run's "san" suite).
ifeq ($(SAN),1)
B	= build-san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
	  -fno-omit-frame-pointer
CFLAGS	+= $(SANFLAGS)
LDFLAGS	+= $(SANFLAGS)
else
B	= build
endif

LIB_SRC	= lib/util.c lib/trust.c lib/addr.c lib/config.c lib/store.c \
	  lib/store_keep.c lib/store_file.c lib/store_rec.c lib/store_bans.c lib/store_counts.c \
	  lib/store_maint.c lib/store_allow.c lib/store_trust.c lib/policy.c \
	  lib/policy_manual.c lib/store_hours.c \
	  lib/earned.c lib/services.c lib/wake.c
LIB_OBJ	= $(LIB_SRC:%.c=$(B)/obj/%.o)

MOD_SRC	= pam_module/pam_autoban.c
MOD_OBJ	= $(MOD_SRC:%.c=$(B)/obj/%.o)
MODULE	= $(B)/pam_autoban.so

HELPER_SRC = banhelper/main.c banhelper/common.c banhelper/targets.c \
	  banhelper/cmd_list.c banhelper/cmd_status.c banhelper/cmd_ban.c \
	  banhelper/cmd_report.c banhelper/cmd_stats.c banhelper/metrics.c \
	  banhelper/report.c \
	  banhelper/report_srv.c \
	  banhelper/resolve.c banhelper/cmd_import.c banhelper/authlog.c \
	  banhelper/f2b.c banhelper/fleet.c banhelper/fleet_omap.c \
	  banhelper/fleet_link.c \
	  banhelper/fleet_event.c \
	  banhelper/fleet_apply.c \
	  banhelper/daemon.c banhelper/runfiles.c banhelper/repair.c \
	  banhelper/privs.c \
	  banhelper/privops.c \
	  banhelper/fw.c banhelper/fw_partition.c banhelper/fw_nft.c \
	  banhelper/fw_nl.c banhelper/fw_ipset.c
HELPER_OBJ = $(HELPER_SRC:%.c=$(B)/obj/%.o)
HELPER	= $(B)/banhelper

UNIT_TESTS = test_addr test_config test_policy test_store test_store_file \
	  test_util test_partition test_fleet
UNIT_BINS = $(UNIT_TESTS:%=$(B)/tests/%)
TOOL_BINS = $(B)/tests/pamdrive $(B)/tests/pam_testpw.so $(B)/tests/test_pam \
	  $(B)/tests/test_pam_faults \
	  $(B)/tests/nft_race.so

all: $(MODULE) $(HELPER)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libautoban.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# The module: only pam_sm_* exported (version script), no undefined
# symbols (-z defs), and never libnftables (GPL-2, and it exits on
# out-of-memory).
$(MODULE): $(MOD_OBJ) $(B)/libautoban.a pam_module/exports.map
	$(CC) -shared -o $@ $(MOD_OBJ) $(B)/libautoban.a -llmdb \
	  -Wl,--version-script=pam_module/exports.map -Wl,-z,defs $(LDHARDEN) \
	  $(LDFLAGS) -lpam

$(HELPER): $(HELPER_OBJ) $(B)/libautoban.a
	$(CC) -pie -o $@ $(HELPER_OBJ) $(B)/libautoban.a $(LDHARDEN) \
	  $(LDFLAGS) -lnftables -lnftnl -lmnl -ljansson -lcap -llmdb -lhiredis -lpthread

$(B)/tests/%: tests/unit/%.c $(B)/libautoban.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(B)/libautoban.a -lcmocka -llmdb -lpthread

# The address-range partitioning is pure: tested without a kernel.
$(B)/tests/test_partition: tests/unit/test_partition.c \
	  $(B)/obj/banhelper/fw_partition.o $(B)/libautoban.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(B)/obj/banhelper/fw_partition.o \
	  $(B)/libautoban.a $(LDFLAGS) -lcmocka -llmdb -lpthread

# The fleet's events and rules: no Redis needed.
$(B)/tests/test_fleet: tests/unit/test_fleet.c $(B)/obj/banhelper/fleet_event.o \
	  $(B)/obj/banhelper/fleet_apply.o $(B)/libautoban.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(B)/obj/banhelper/fleet_event.o \
	  $(B)/obj/banhelper/fleet_apply.o $(B)/libautoban.a $(LDFLAGS) \
	  -lcmocka -llmdb -lpthread

$(B)/tests/pamdrive: tests/pam/pamdrive.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< -lpam -lpthread

$(B)/tests/pam_testpw.so: tests/pam/pam_testpw.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -shared -o $@ $< -lpam

$(B)/tests/nft_race.so: tests/helper/nft_race.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -shared -o $@ $< -lnftables -ldl

$(B)/tests/test_pam $(B)/tests/test_pam_faults: $(B)/tests/%: tests/pam/%.c \
	  tests/pam/pamlib.h $(B)/libautoban.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(B)/libautoban.a -lcmocka -lpam -llmdb \
	  -lpthread

$(B)/bench/populate: bench/populate.c $(B)/libautoban.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(B)/libautoban.a -llmdb -lpthread

$(B)/bench/timeit: bench/timeit.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $<

# The fuzz targets (tests/fuzz/fuzz_*.c) built without libFuzzer: driver.c
# feeds them their corpus, crash inputs kept there included, in every run.
FUZZ_TARGETS = addr config records store lines report authlog fleet
FUZZ_LIB_HELPER = banhelper/targets.c banhelper/report.c banhelper/authlog.c \
	  banhelper/fleet_event.c
FUZZ_REGRESS = $(FUZZ_TARGETS:%=$(B)/tests/fuzz_%)

$(B)/tests/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c $(B)/libautoban.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< tests/fuzz/driver.c $(FUZZ_LIB_HELPER) \
	  $(B)/libautoban.a $(LDFLAGS) -llmdb -lpthread

tests: all $(UNIT_BINS) $(TOOL_BINS) $(FUZZ_REGRESS) $(B)/bench/populate \
	  $(B)/bench/timeit

# make fuzz: each target under libFuzzer (Debian's clang) for FUZZ_SECONDS,
# starting from tests/fuzz/TARGET/.  New inputs go to build-fuzz/corpus/;
# a crash is written into tests/fuzz/TARGET/, where the normal test run
# replays it from then on.  FUZZ=addr runs one target.
FUZZ		?= $(FUZZ_TARGETS)
FUZZ_SECONDS	?= 60
FUZZ_CC		?= clang
FUZZ_FLAGS	= -std=gnu11 -g -O1 -Iinclude -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_LIB_SRC	= $(LIB_SRC) $(FUZZ_LIB_HELPER)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_SRC)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIB_SRC) -llmdb -lpthread

fuzz: $(FUZZ:%=build-fuzz/fuzz_%)
	@set -e; for t in $(FUZZ); do \
	  mkdir -p build-fuzz/corpus/$$t build-fuzz/tmp; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
	  AB_TMP=$$(pwd)/build-fuzz/tmp build-fuzz/fuzz_$$t \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 \
	    -artifact_prefix=tests/fuzz/$$t/crash- -print_final_stats=1 \
	    build-fuzz/corpus/$$t tests/fuzz/$$t 2>build-fuzz/fuzz_$$t.log \
	    || { tail -40 build-fuzz/fuzz_$$t.log; exit 1; }; \
	  grep -E '^stat::(number_of_executed_units|peak_rss)' \
	    build-fuzz/fuzz_$$t.log; \
	done

# The one test command (README.md, .ci/run): every suite, then the line
# "N passed, N failed".
check: tests
	@bash tests/run

install: all
	install -d $(DESTDIR)$(PAMDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(CONFDIR)
	install -m 0644 $(MODULE) $(DESTDIR)$(PAMDIR)/pam_autoban.so
	install -m 0755 $(HELPER) $(DESTDIR)$(SBINDIR)/banhelper
	sed 's|@SBINDIR@|$(SBINDIR)|g' conf/banhelper.service.in \
	  >$(DESTDIR)$(UNITDIR)/banhelper.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/banhelper.service
	install -m 0644 man/pam_autoban.8 man/banhelper.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/autoban.conf.5 $(DESTDIR)$(MANDIR)/man5/
	@if [ -e $(DESTDIR)$(CONFDIR)/autoban.conf ]; then \
	  echo "keeping existing $(DESTDIR)$(CONFDIR)/autoban.conf"; \
	else \
	  install -m 0644 conf/autoban.conf $(DESTDIR)$(CONFDIR)/autoban.conf; \
	fi
	@# The daemon's own user (banhelper(8)); a package makes it in postinst.
	@if [ -z "$(DESTDIR)" ] && ! getent passwd _autoban >/dev/null; then \
	  echo "creating the system user _autoban"; \
	  if command -v adduser >/dev/null; then \
	    adduser --system --group --no-create-home --home /nonexistent \
	      --quiet _autoban; \
	  else \
	    useradd --system --user-group --no-create-home \
	      --home-dir /nonexistent --shell /usr/sbin/nologin _autoban; \
	  fi; \
	fi

uninstall:
	rm -f $(DESTDIR)$(PAMDIR)/pam_autoban.so $(DESTDIR)$(SBINDIR)/banhelper \
	  $(DESTDIR)$(UNITDIR)/banhelper.service \
	  $(DESTDIR)$(MANDIR)/man8/pam_autoban.8 \
	  $(DESTDIR)$(MANDIR)/man8/banhelper.8 \
	  $(DESTDIR)$(MANDIR)/man5/autoban.conf.5

demo: all
	@bash tests/e2e/demo.sh

bench: all tests
	@bash bench/run-all.sh

clean:
	rm -rf build build-san build-fuzz

.PHONY: all tests check install uninstall demo bench clean fuzz

-include $(shell find $(B) -name '*.d' 2>/dev/null)
