/*
 * fw_ipset.c - the backend for hosts without nftables: ipset sets matched
 * by iptables/ip6tables rules.
 *
 * MUST: run only /usr/sbin or /sbin ipset, iptables and ip6tables, with
 * execve(), an argument vector and a fixed environment (never a shell);
 * every address in their input comes from inet_ntop on a parsed binary
 * address; touch only the sets autoban4, autoban6, autoban4net,
 * autoban6net, the chain AUTOBAN, and one jump to it at the top of INPUT.
 *
 * hash:net sets take nested prefixes with a timeout each and match if any
 * entry does, so net bans go in as they are.  A full sync fills a new set
 * and swaps it in (atomic); changes use add/del -exist (add -exist also
 * resets the timeout).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bh.h"
#include "fw.h"

#define MAXELEM	"4000000"

static const char *const set_names[2][2] = {
	{ "autoban4", "autoban4net" },
	{ "autoban6", "autoban6net" },
};

struct ipset_priv {
	char ipset[64], iptables[2][64];
};

static int
find_tool(const char *name, char *out, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin/", "/sbin/" };
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(out, len, "%s%s", dirs[i], name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

/*
 * Run argv[0] with argv, stdin from input (may be NULL).  Returns the exit
 * status, or -errno.  Up to errlen bytes of its stderr go to err.
 */
static int
run_tool(char *const argv[], const char *input, size_t inlen, char *err,
    size_t errlen)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	    "LC_ALL=C", NULL };
	int infd = -1, ep[2] = { -1, -1 }, status, rc;
	size_t got = 0;
	pid_t pid;

	if (errlen > 0)
		err[0] = '\0';
	if (input != NULL) {
		/* A memfd, not a pipe: no deadlock on large input. */
		if ((infd = memfd_create("banhelper-input", MFD_CLOEXEC)) < 0)
			return -errno;
		while (got < inlen) {
			ssize_t w = write(infd, input + got, inlen - got);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = -errno;
				close(infd);
				return rc;
			}
			got += (size_t)w;
		}
		lseek(infd, 0, SEEK_SET);
	}
	if (pipe2(ep, O_CLOEXEC) != 0) {
		rc = -errno;
		if (infd >= 0)
			close(infd);
		return rc;
	}
	if ((pid = fork()) < 0) {
		rc = -errno;
		goto close_all;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (dup2(infd >= 0 ? infd : nul, 0) < 0 || dup2(nul, 1) < 0 ||
		    dup2(ep[1], 2) < 0)
			_exit(126);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(ep[1]);
	ep[1] = -1;
	got = 0;
	for (;;) {
		char buf[512];
		ssize_t r = read(ep[0], buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (errlen > 1 && got < errlen - 1) {
			size_t take = (size_t)r < errlen - 1 - got ? (size_t)r :
			    errlen - 1 - got;

			memcpy(err + got, buf, take);
			got += take;
			err[got] = '\0';
		}
	}
	while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	rc = rc < 0 ? -errno : WIFEXITED(status) ? WEXITSTATUS(status) : 128;
close_all:
	if (ep[0] >= 0)
		close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
	if (infd >= 0)
		close(infd);
	return rc;
}

/* Run and log a failure with the tool's first line of complaint. */
static int
tool(struct fw *fw, char *const argv[], const char *input, size_t inlen,
    int quiet)
{
	char err[512];
	int rc = run_tool(argv, input, inlen, err, sizeof(err));

	if (rc != 0) {
		err[strcspn(err, "\n")] = '\0';
		snprintf(fw->error, sizeof(fw->error), "%s failed (%d): %.300s",
		    argv[0], rc, err[0] ? err : "(no message)");
		if (!quiet)
			ab_logf(fw->log, LOG_ERR, "%s", fw->error);
	}
	return rc == 0 ? 0 : AB_EFIREWALL;
}

/* ---- text for ipset restore ---------------------------------------------- */

/* ipset takes a/len for nets; addr_format gives a bare address for a
 * full-length prefix, which ipset reads as the same net. */
static void
line_elem(struct sbuf *sb, const char *verb, const char *set,
    const struct ab_addr *p, int64_t timeout)
{
	char a[AB_ADDRSTRLEN];

	addr_format(p, a, sizeof(a));
	if (timeout > 0)
		sb_printf(sb, "%s %s %s timeout %lld -exist\n", verb, set, a,
		    (long long)timeout);
	else
		sb_printf(sb, "%s %s %s -exist\n", verb, set, a);
}

/* Fill "<set>-new" with bans and swap it in for set. */
static void
swap_in(struct sbuf *sb, int f, const char *set, const struct fw_ban *b,
    size_t n, int filter_unit, const struct ab_config *cfg)
{
	const char *family = f == 0 ? "inet" : "inet6";
	char tmp[32];
	size_t i;

	snprintf(tmp, sizeof(tmp), "%s-new", set);
	sb_printf(sb, "create %s hash:net family %s timeout 0 maxelem " MAXELEM
	    " -exist\n", set, family);
	sb_printf(sb, "create %s hash:net family %s timeout 0 maxelem " MAXELEM
	    " -exist\nflush %s\n", tmp, family, tmp);
	for (i = 0; i < n; i++) {
		if (b[i].prefix.family != (f == 0 ? 4 : 6) || b[i].timeout <= 0)
			continue;
		if (filter_unit && b[i].prefix.plen !=
		    config_unit_plen(cfg, b[i].prefix.family))
			continue;
		if (b[i].prefix.plen == 0)
			continue;	/* hash:net cannot hold /0 */
		line_elem(sb, "add", tmp, &b[i].prefix, b[i].timeout);
	}
	sb_printf(sb, "swap %s %s\ndestroy %s\n", tmp, set, tmp);
}

/* The AUTOBAN chain, its rules and the jump from INPUT, for one family. */
static int
rules(struct fw *fw, int f)
{
	struct ipset_priv *pv = fw->priv;
	char *ipt = pv->iptables[f], ports[AB_PORTS_MAX * 7];
	size_t i, o = 0;
	int k, rc;
	char *check[] = { ipt, "-w", "-S", "AUTOBAN", NULL };
	char *create[] = { ipt, "-w", "-N", "AUTOBAN", NULL };
	char *flush[] = { ipt, "-w", "-F", "AUTOBAN", NULL };
	char *jump_c[] = { ipt, "-w", "-C", "INPUT", "-j", "AUTOBAN", NULL };
	char *jump_i[] = { ipt, "-w", "-I", "INPUT", "1", "-j", "AUTOBAN",
	    NULL };

	ports[0] = '\0';
	for (i = 0; i < fw->cfg->nports; i++)
		o += (size_t)snprintf(ports + o, sizeof(ports) - o, "%s%u",
		    i ? "," : "", fw->cfg->ports[i]);
	if (tool(fw, check, NULL, 0, 1) != 0 &&
	    (rc = tool(fw, create, NULL, 0, 0)) != 0)
		return rc;
	if ((rc = tool(fw, flush, NULL, 0, 0)) != 0)
		return rc;
	for (k = 0; k < 2; k++) {
		/* 9 + 6 (ports) + 2 words and the NULL: 18; room to spare. */
		char *add[24];
		int n = 0;

		add[n++] = ipt;
		add[n++] = "-w";
		add[n++] = "-A";
		add[n++] = "AUTOBAN";
		add[n++] = "-m";
		add[n++] = "set";
		add[n++] = "--match-set";
		add[n++] = (char *)(uintptr_t)set_names[f][k];
		add[n++] = "src";
		if (ports[0] != '\0') {
			add[n++] = "-p";
			add[n++] = "tcp";
			add[n++] = "-m";
			add[n++] = "multiport";
			add[n++] = "--dports";
			add[n++] = ports;
		}
		add[n++] = "-j";
		add[n++] = "DROP";
		add[n] = NULL;
		if ((size_t)n >= sizeof(add) / sizeof(add[0]))
			return -7;	/* -E2BIG: cannot happen; never overflow */
		if ((rc = tool(fw, add, NULL, 0, 0)) != 0)
			return rc;
	}
	if (tool(fw, jump_c, NULL, 0, 1) != 0)
		return tool(fw, jump_i, NULL, 0, 0);
	return 0;
}

static int
ipset_apply(struct fw *fw, const struct fw_plan *plan)
{
	struct ipset_priv *pv = fw->priv;
	struct sbuf sb = { NULL, 0, 0, 0 };
	char *restore[] = { pv->ipset, "-exist", "restore", NULL };
	size_t i;
	int f, rc = 0;

	for (f = 0; f < 2; f++) {
		if (plan->full)
			swap_in(&sb, f, set_names[f][0], plan->units,
			    plan->nunits, 1, fw->cfg);
		if (plan->net_changed[f])
			swap_in(&sb, f, set_names[f][1], plan->net[f],
			    plan->nnet[f], 0, fw->cfg);
	}
	if (!plan->full) {
		for (i = 0; i < plan->nunits; i++) {
			const struct fw_ban *b = &plan->units[i];
			const char *set = set_names[b->prefix.family == 4 ?
			    0 : 1][0];

			line_elem(&sb, b->timeout > 0 ? "add" : "del", set,
			    &b->prefix, b->timeout);
		}
	}
	if (sb.oom) {
		free(sb.p);
		return -ENOMEM;
	}
	if (sb.len > 0)
		rc = tool(fw, restore, sb.p, sb.len, !plan->full);
	free(sb.p);
	for (f = 0; f < 2 && rc == 0 && plan->full; f++)
		rc = rules(fw, f);
	return rc;
}

static int
ipset_present(struct fw *fw)
{
	struct ipset_priv *pv = fw->priv;
	int f, k;

	for (f = 0; f < 2; f++) {
		char *jump_c[] = { pv->iptables[f], "-w", "-C", "INPUT", "-j",
		    "AUTOBAN", NULL };

		for (k = 0; k < 2; k++) {
			char *list[] = { pv->ipset, "-n", "list",
			    (char *)(uintptr_t)set_names[f][k], NULL };

			if (tool(fw, list, NULL, 0, 1) != 0)
				return 0;
		}
		if (tool(fw, jump_c, NULL, 0, 1) != 0)
			return 0;
	}
	return 1;
}

static int
ipset_list(struct fw *fw, struct fw_range **out, size_t *n)
{
	struct ipset_priv *pv = fw->priv;
	size_t cap = 0;
	int f, k;

	*out = NULL;
	*n = 0;
	for (f = 0; f < 2; f++) {
		for (k = 0; k < 2; k++) {
			char *save[] = { pv->ipset, "save",
			    (char *)(uintptr_t)set_names[f][k], NULL };
			FILE *fp;
			char line[256];
			int fd, saved, status;
			pid_t pid;

			/* ipset save writes to stdout: catch it in a memfd. */
			if ((fd = memfd_create("banhelper-list", MFD_CLOEXEC)) < 0)
				goto fail;
			if ((pid = fork()) == 0) {
				static char *const envp[] = { "LC_ALL=C", NULL };
				int nul = open("/dev/null", O_RDWR);

				if (dup2(nul, 0) < 0 || dup2(fd, 1) < 0 ||
				    dup2(nul, 2) < 0)
					_exit(126);
				execve(save[0], save, envp);
				_exit(127);
			}
			saved = pid > 0 && waitpid(pid, &status, 0) == pid &&
			    WIFEXITED(status) && WEXITSTATUS(status) == 0;
			lseek(fd, 0, SEEK_SET);
			if (!saved || (fp = fdopen(fd, "r")) == NULL) {
				close(fd);
				goto fail;
			}
			while (fgets(line, sizeof(line), fp) != NULL) {
				char set[64], addr[128];
				long long t = 0;
				struct ab_addr a;
				struct fw_range *r;

				if (sscanf(line, "add %63s %127s timeout %lld",
				    set, addr, &t) < 2 ||
				    addr_parse_prefix(addr, 1, &a) != 0)
					continue;
				if (*n == cap) {
					size_t nc = cap ? cap * 2 : 256;
					struct fw_range *nv = realloc(*out,
					    nc * sizeof(*nv));

					if (nv == NULL) {
						fclose(fp);
						goto fail;
					}
					*out = nv;
					cap = nc;
				}
				r = &(*out)[(*n)++];
				fw_prefix_range(&a, r);
				r->timeout = t;
			}
			fclose(fp);
		}
	}
	return 0;
fail:
	free(*out);
	*out = NULL;
	*n = 0;
	return AB_EFIREWALL;
}

static int
ipset_init(struct fw *fw)
{
	struct ipset_priv *pv = calloc(1, sizeof(*pv));

	if (pv == NULL)
		return -ENOMEM;
	if (find_tool("ipset", pv->ipset, sizeof(pv->ipset)) != 0 ||
	    find_tool("iptables", pv->iptables[0], sizeof(pv->iptables[0])) != 0 ||
	    find_tool("ip6tables", pv->iptables[1],
	    sizeof(pv->iptables[1])) != 0) {
		ab_logf(fw->log, LOG_ERR, "backend ipset needs ipset, iptables "
		    "and ip6tables in /usr/sbin or /sbin");
		free(pv);
		return AB_EFIREWALL;
	}
	fw->priv = pv;
	return 0;
}

static void
ipset_fini(struct fw *fw)
{
	free(fw->priv);
	fw->priv = NULL;
}

/* ipset keeps no generation: every check lists the sets. */
static int
ipset_generation(struct fw *fw, uint32_t *gen)
{
	(void)fw;
	(void)gen;
	return -1;
}

const struct fw_ops fw_ipset_ops = {
	"ipset", 1, ipset_init, ipset_fini, ipset_apply, ipset_present,
	ipset_list, ipset_generation,
};
