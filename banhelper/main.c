/*
 * main.c - banhelper: the privileged helper that mirrors autoban's bans
 * into the kernel firewall, and the admin's command line.
 *
 * main() reads top to bottom as the policy: parse the command line, read
 * the configuration, run one command, map its result to an exit status.
 * Only main() exits.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "banhelper.h"

static const char usage_text[] =
"usage: banhelper [-c FILE] COMMAND [OPTIONS] [ARGS]\n"
"\n"
"Commands:\n"
"  list [--all] [--json]           active bans (--all: and hosts being counted)\n"
"  ban ADDR[/LEN]... [--for DURATION] [--force]\n"
"  ban - [--for DURATION] [--force]\n"
"                                  ban prefixes (-: one a line from stdin)\n"
"  unban ADDR[/LEN]... | --all     lift bans and forget their history\n"
"  status [--json]                 store, firewall and daemon at a glance\n"
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

static const struct {
	const char *name, *help;
} commands[] = {
	{ "list", "usage: banhelper list [--all] [--json]\n"
	    "Active bans: prefix, origin (auto or manual), failures counted, "
	    "start,\ntime left, times banned.  --all adds the hosts being "
	    "counted with their\nfailures in the window.  --json prints the "
	    "same as JSON (see banhelper(8)).\n" },
	{ "ban", "usage: banhelper ban ADDR[/LEN]... [--for DURATION] [--force]\n"
	    "       banhelper ban - [--for DURATION] [--force]\n"
	    "Ban prefixes now, in the store and in the kernel, whether or not "
	    "the daemon\nruns.  DURATION: 30s, 10m, 1h, 2d, 1w (default: "
	    "bantime).  With -, read one\naddress a line from stdin ('#' starts "
	    "a comment); a bad line is reported\nwith its number and the rest "
	    "are still banned.  Loopback and ignoreip are\nrefused unless "
	    "--force.\n" },
	{ "unban", "usage: banhelper unban ADDR[/LEN]... | --all\n"
	    "Lift bans and forget the failure history, so the host starts "
	    "fresh.  Takes\neffect in the kernel at once.\n" },
	{ "status", "usage: banhelper status [--json]\n"
	    "Store path and size, hosts counted, bans active, firewall backend "
	    "and\nwhether the kernel matches the store, whether the daemon "
	    "runs, last sync.\n" },
	{ "run", "usage: banhelper run [--syslog]\n"
	    "The daemon, in the foreground: keeps only CAP_NET_ADMIN, applies "
	    "new bans as\nthe module signals them, reconciles every "
	    "sync_interval, prunes the store.\nLogs to stderr, or to syslog "
	    "(authpriv) with --syslog.  SIGHUP re-reads the\nconfiguration; "
	    "SIGTERM stops it.\n" },
	{ "sync", "usage: banhelper sync\n"
	    "One full reconcile: prune the store, then make the kernel hold "
	    "exactly the\nstore's active bans, in one transaction.  For boot "
	    "or cron.\n" },
};

void
bh_err(const char *fmt, ...)
{
	va_list ap;

	fputs("banhelper: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The daemon logs everything to one place (stderr, or syslog with
 * --syslog).  A command logs its decisions (bans, unbans: notices) to
 * syslog, where the module's decisions go too, and shows the admin only
 * warnings and errors on stderr.
 */
void
bh_log(void *ctx, int prio, const char *msg)
{
	const struct bh *bh = ctx;

	if (bh != NULL && bh->use_syslog)
		syslog(prio, "%s", msg);
	else if (bh != NULL && !bh->daemon && prio >= LOG_NOTICE)
		syslog(prio, "%s", msg);
	else if (prio != LOG_DEBUG)
		fprintf(stderr, "banhelper: %s\n", msg);
}

static const char *
command_help(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return commands[i].help;
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
		{ NULL, 0, NULL, 0 },
	};
	struct bh bh;
	const char *cmd, *help;
	int c, rc;

	/*
	 * A large LMDB commit frees its dirty pages one by one from the top
	 * of the heap; at glibc's default threshold each free then shrinks
	 * the heap by one page, one brk per page (3 000 for a `ban -` of
	 * 100 000).  Give back memory in 4 MiB steps instead.
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
	cmd = argv[optind];
	if ((help = command_help(cmd)) == NULL) {
		bh_err("unknown command \"%s\" (see banhelper --help)", cmd);
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
		int ok = 1;

		switch (c) {
		case 'c':
			bh.conf_path = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return BH_OK;
		case 'j':
			ok = !strcmp(cmd, "list") || !strcmp(cmd, "status");
			bh.json = 1;
			break;
		case 'a':
			ok = !strcmp(cmd, "list") || !strcmp(cmd, "unban");
			bh.all = 1;
			break;
		case 'f':
			ok = !strcmp(cmd, "ban");
			bh.force = 1;
			break;
		case 'F':
			ok = !strcmp(cmd, "ban");
			if (ok && config_parse_duration(optarg, &bh.for_secs) != 0) {
				bh_err("ban: --for \"%s\": expected a duration "
				    "such as 30s, 10m, 1h, 2d or 1w (at most "
				    "366d)", optarg);
				return BH_USAGE;
			}
			if (ok && bh.for_secs == 0) {
				bh_err("ban: --for must be longer than 0s");
				return BH_USAGE;
			}
			break;
		case 's':
			ok = !strcmp(cmd, "run");
			bh.use_syslog = 1;
			break;
		case ':':
			bh_err("%s: option %s needs a value", cmd,
			    argv[optind - 1]);
			return BH_USAGE;
		default:
			ok = 0;
		}
		if (!ok) {
			bh_err("%s: unknown option %s (see banhelper %s --help)",
			    cmd, argv[optind - 1], cmd);
			return BH_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0 && strcmp(cmd, "ban") != 0 && strcmp(cmd, "unban") != 0) {
		bh_err("%s: unexpected argument \"%s\" (see banhelper %s --help)",
		    cmd, argv[0], cmd);
		return BH_USAGE;
	}

	bh.daemon = strcmp(cmd, "run") == 0;
	openlog("banhelper", LOG_PID, LOG_AUTHPRIV);
	if ((rc = load_config(&bh, 0)) != 0)
		return rc;

	if (strcmp(cmd, "list") == 0)
		rc = cmd_list(&bh);
	else if (strcmp(cmd, "ban") == 0)
		rc = cmd_ban(&bh, argc, argv);
	else if (strcmp(cmd, "unban") == 0)
		rc = cmd_unban(&bh, argc, argv);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&bh);
	else if (strcmp(cmd, "sync") == 0)
		rc = cmd_sync(&bh);
	else
		rc = cmd_run(&bh);
	if (fflush(stdout) != 0 && rc == BH_OK)
		rc = BH_ERR;
	return rc;
}
