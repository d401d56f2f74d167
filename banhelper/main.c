/*
 * main.c - banhelper: the privileged helper that mirrors autoban's bans
 * into the kernel firewall, and the admin's command line.
 *
 * main() reads top to bottom as the policy: find the command in the table,
 * take the options it accepts, read the configuration (strictly for the
 * commands that must not start on a mistake), run the command, map its
 * result to an exit status.  Only main() exits.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "bh.h"

/* Options a command may accept. */
enum {
	O_JSON = 1 << 0, O_ALL = 1 << 1, O_FORCE = 1 << 2, O_FOR = 1 << 3,
	O_SYSLOG = 1 << 4, O_SERVICE = 1 << 5, O_USER = 1 << 6,
	O_SUCCESS = 1 << 7, O_PROM = 1 << 8, O_OUTPUT = 1 << 9,
};

static const struct command {
	const char *name;
	int (*fn)(struct bh *bh, int argc, char **argv);
	unsigned opts;		/* O_* it accepts */
	int takes_args;		/* addresses after the command */
	int strict;		/* a bad configuration line is an error */
	const char *help;
} commands[] = {
	{ "list", cmd_list, O_JSON | O_ALL, 0, 0,
	    "usage: banhelper list [--all] [--json]\n"
	    "Active bans: prefix, origin (auto or manual), the service whose "
	    "failures made\nit, failures counted, start, time left, times "
	    "banned.  --all adds the hosts\nbeing counted with their "
	    "failures in the window.  --json prints\nthe "
	    "same as JSON (see banhelper(8)).\n" },
	{ "ban", cmd_ban, O_FORCE | O_FOR, 1, 0,
	    "usage: banhelper ban ADDR[/LEN]... [--for DURATION] [--force]\n"
	    "       banhelper ban - [--for DURATION] [--force]\n"
	    "Ban prefixes now, in the store and in the kernel, whether or not "
	    "the daemon\nruns.  DURATION: 30s, 10m, 1h, 2d, 1w (default: "
	    "bantime).  With -, read one\naddress a line from stdin ('#' starts "
	    "a comment); a bad line is reported\nwith its number and the rest "
	    "are still banned.  Loopback and ignoreip are\nrefused unless "
	    "--force.\n" },
	{ "unban", cmd_unban, O_ALL, 1, 0,
	    "usage: banhelper unban ADDR[/LEN]... | --all\n"
	    "Lift bans and forget the failure history, so the host starts "
	    "fresh.  Takes\neffect in the kernel at once.\n" },
	{ "status", cmd_status, O_JSON, 1, 0,
	    "usage: banhelper status [SERVICE] [--json]\n"
	    "Store path, size and health, hosts counted, bans active, firewall "
	    "backend and\nwhether the kernel matches the store, whether the "
	    "daemon runs, last sync, and\neach PAM service seen with its "
	    "figures.  With SERVICE, that service as\nfail2ban-client status "
	    "JAIL shows a jail: hosts failing now and failures in\nall, bans "
	    "now and in all, the banned addresses.\n" },
	{ "stats", cmd_stats, O_PROM | O_JSON | O_OUTPUT, 0, 0,
	    "usage: banhelper stats [--json | --prometheus [--output FILE]]\n"
	    "Failures and automatic bans per hour over the last 24 hours and "
	    "per day over\nthe last 30 (bar charts in 80 columns), the "
	    "busiest prefixes and services;\n--json the same as JSON.  "
	    "--prometheus: counters and gauges in Prometheus'\ntext format "
	    "(failures, hosts failing and auto bans by service, bans active by"
	    "\norigin and family, the stores, the kernel, the daemon, the "
	    "fleet link), no\nlabel naming an address, for node_exporter's "
	    "textfile collector;\n--output FILE writes them there whole (a new file "
	    "renamed over it).\n" },
	{ "report", cmd_report, O_SERVICE | O_USER | O_SUCCESS, 1, 0,
	    "usage: banhelper report --service NAME [--user USER] [--success] "
	    "ADDR\n"
	    "Count one failed login of a program that does not use PAM (a web "
	    "login, a\ndatabase) from ADDR, through the same policy, store and "
	    "firewall as the\nmodule: the maxretry-th failure in findtime bans "
	    "it.  --success records a\ngood login instead.  Loopback and "
	    "ignoreip are refused, a banned host is not\ncounted.  Prints "
	    "\"counted ...\", \"banned ...\" or \"refused ...\".  Busy "
	    "programs use\nthe daemon's socket (runtime_dir/report.sock) "
	    "instead: see banhelper(8).\n" },
	{ "import", cmd_import, 0, 1, 0,
	    "usage: banhelper import log FILE|-\n"
	    "       banhelper import fail2ban FILE|-\n"
	    "log: read sshd's past failed passwords from auth.log or "
	    "journalctl -u ssh\noutput (only sshd's own messages), and count "
	    "them with their times through\nthe policy: a host with maxretry "
	    "failures within findtime is banned from\nthen, for what its ban "
	    "has left now.  Bad lines are named and skipped.\n"
	    "fail2ban: take over fail2ban's current bans with their time left "
	    "and print the\nautoban.conf lines for its jails, from the output "
	    "of fail2ban-client -d and\nfail2ban-client get JAIL banip "
	    "--with-time, saved in FILE or piped to stdin.\nSee "
	    "docs/fail2ban.md.\n" },
	{ "check", cmd_check, 0, 0, 1,
	    "usage: banhelper check\n"
	    "Read the configuration as banhelper run would, and say what is "
	    "wrong with it\n(file and line), with the daemon's user and with "
	    "the store directories.\nExit status 0 when all is well: run it "
	    "before a reload.\n" },
	{ "run", cmd_run, O_SYSLOG, 0, 1,
	    "usage: banhelper run [--syslog]\n"
	    "The daemon, in the foreground: becomes its user with only "
	    "CAP_NET_ADMIN,\napplies new bans as the module signals them, "
	    "reconciles every sync_interval,\nrepairs what drifted, prunes the "
	    "store.  Refuses to start on a configuration\nerror.  Logs to "
	    "stderr, or to syslog (authpriv) with --syslog.  SIGHUP re-reads\n"
	    "the configuration (a bad one is refused and the old kept); "
	    "SIGTERM stops it.\n" },
	{ "sync", cmd_sync, 0, 0, 0,
	    "usage: banhelper sync\n"
	    "One full reconcile: prune the store, then make the kernel hold "
	    "exactly the\nstore's active bans, in one transaction.  For boot "
	    "or cron.\n" },
};

static const char usage_text[] =
"usage: banhelper [-c FILE] COMMAND [OPTIONS] [ARGS]\n"
"\n"
"Commands:\n"
"  list [--all] [--json]           active bans (--all: and hosts being counted)\n"
"  ban ADDR[/LEN]... [--for DURATION] [--force]\n"
"  ban - [--for DURATION] [--force]\n"
"                                  ban prefixes (-: one a line from stdin)\n"
"  unban ADDR[/LEN]... | --all     lift bans and forget their history\n"
"  status [SERVICE] [--json]       store, firewall, daemon, services at a glance\n"
"  stats [--json | --prometheus]   failures and bans per hour and day, busiest\n"
"                                  prefixes; or metrics for Prometheus\n"
"  report --service NAME [--user USER] [--success] ADDR\n"
"                                  count a failed (good) login of a program\n"
"                                  without PAM\n"
"  import log FILE|-               count sshd's past failures from auth.log\n"
"  import fail2ban FILE|-          take over fail2ban's bans and settings\n"
"  check                           is the configuration sound? (before a reload)\n"
"  run [--syslog]                  the daemon, in the foreground\n"
"  sync                            one full reconcile pass, then exit\n"
"\n"
"Options:\n"
"  -c, --config FILE  configuration (default " AB_CONF_PATH ")\n"
"  -h, --help         this text; banhelper COMMAND --help for one command\n"
"\n"
"A bare ADDR means its counting unit (ipv4_prefix / ipv6_prefix, as the\n"
"PAM module bans it); ADDR/LEN means exactly that prefix.\n"
"Exit status: 0 done, 1 error, 2 bad usage, 3 some items refused (the rest\n"
"done), 4 missing privilege.\n";

static const struct command *
command_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'f' },
		{ "for", required_argument, NULL, 'F' },
		{ "syslog", no_argument, NULL, 's' },
		{ "service", required_argument, NULL, 'S' },
		{ "user", required_argument, NULL, 'u' },
		{ "success", no_argument, NULL, 'k' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "output", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd;
	struct bh bh;
	int c, rc;

	/*
	 * A large LMDB commit frees its dirty pages one by one from the top
	 * of the heap; at glibc's default threshold each free then shrinks
	 * the heap by one page, one brk per page.  Give back memory in 4 MiB
	 * steps instead.
	 */
	mallopt(M_TRIM_THRESHOLD, 4 << 20);
	memset(&bh, 0, sizeof(bh));
	bh.log.fn = bh_log;
	bh.log.ctx = &bh;

	/* Global options, up to the command. */
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			bh.conf_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return BH_OK;
		default:
			fputs(usage_text, stderr);
			return BH_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return BH_USAGE;
	}
	if ((cmd = command_find(argv[optind])) == NULL) {
		char e[96];

		bh_err("unknown command \"%s\" (see banhelper --help)",
		    ab_escape(argv[optind], e, sizeof(e)));
		return BH_USAGE;
	}
	/* The command's own options, anywhere after it. */
	argc -= optind;
	argv += optind;
	/* 0, not 1: glibc then forgets the "+" (stop at the first non-option)
	 * of the first pass, so options may follow the addresses. */
	optind = 0;
	opterr = 0;
	/* A leading ':' makes a missing value ':' rather than '?'. */
	while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
		unsigned need = c == 'j' ? O_JSON : c == 'a' ? O_ALL :
		    c == 'f' ? O_FORCE : c == 'F' ? O_FOR : c == 's' ? O_SYSLOG :
		    c == 'S' ? O_SERVICE : c == 'u' ? O_USER : c == 'k' ?
		    O_SUCCESS : c == 'P' ? O_PROM : c == 'O' ? O_OUTPUT : 0;

		if (c == ':') {
			bh_err("%s: option %s needs a value", cmd->name,
			    argv[optind - 1]);
			return BH_USAGE;
		}
		if (c == 'h') {
			fputs(cmd->help, stdout);
			return BH_OK;
		}
		if (c != 'c' && (need == 0 || !(cmd->opts & need))) {
			bh_err("%s: unknown option %s (see banhelper %s --help)",
			    cmd->name, argv[optind - 1], cmd->name);
			return BH_USAGE;
		}
		switch (c) {
		case 'c':
			bh.conf_path = optarg;
			break;
		case 'j':
			bh.json = 1;
			break;
		case 'a':
			bh.all = 1;
			break;
		case 'f':
			bh.force = 1;
			break;
		case 's':
			bh.use_syslog = 1;
			break;
		case 'P':
			bh.prometheus = 1;
			break;
		case 'O':
			bh.output = optarg;
			break;
		case 'S':
			bh.service = optarg;
			break;
		case 'u':
			bh.user = optarg;
			break;
		case 'k':
			bh.success = 1;
			break;
		case 'F':
			if (config_parse_duration(optarg, &bh.for_secs) != 0) {
				char e[96];

				bh_err("ban: --for \"%s\": expected a duration "
				    "such as 30s, 10m, 1h, 2d or 1w (at most "
				    "366d)", ab_escape(optarg, e, sizeof(e)));
				return BH_USAGE;
			}
			if (bh.for_secs == 0) {
				bh_err("ban: --for must be longer than 0s");
				return BH_USAGE;
			}
			break;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0 && !cmd->takes_args) {
		char e[96];

		bh_err("%s: unexpected argument \"%s\" (see banhelper %s --help)",
		    cmd->name, ab_escape(argv[0], e, sizeof(e)), cmd->name);
		return BH_USAGE;
	}

	bh.daemon = cmd->fn == cmd_run;
	openlog("banhelper", LOG_PID, LOG_AUTHPRIV);
	if ((rc = bh_load_config(&bh, cmd->strict)) != 0)
		return rc;
	rc = cmd->fn(&bh, argc, argv);
	if (fflush(stdout) != 0 && rc == BH_OK)
		rc = BH_ERR;
	return rc;
}
