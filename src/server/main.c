// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - fedflowd: parse flags, build the site, run the core loop.
 *
 *   fedflowd --home DIR [--port N] [--host ADDR] [--party-id ID] [--config FILE]
 *
 * Startup order: config -> database (schema) -> participant (cores) ->
 * executor -> providers (the built-in one described by its executable) ->
 * scheduler -> recovery of what the last run left -> HTTP. SIGTERM and
 * SIGINT stop the loop; shutdown stops HTTP first so no request is half
 * served by a dying core.
 */
#include "ff_setup.h"
#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "api/api.h"
#include "auth/sign.h"
#include "clock.h"
#include "detect/detect.h"
#include "exec/exec.h"
#include "fed.h"
#include "gateway.h"
#include "fs.h"
#include "http.h"
#include "log.h"
#include "mem.h"
#include "party/party.h"
#include "provider/provider.h"
#include "partner_cli.h"
#include "recover.h"
#include "remote.h"
#include "sched/sched.h"
#include "site.h"
#include "store.h"

struct daemon {
	struct site site;
	struct ev_io sig_io;
	int sigfd;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fedflowd --home DIR [--port N] [--host ADDR] [--party-id ID] "
		"[--config FILE]\n"
		"       fedflowd partner add --home DIR --party-id ID --url URL --public-key KEY\n"
		"       fedflowd partner list --home DIR\n\n"
		"Runs one fedflow site. A new DIR gets a default fedflow.yaml, a SQLite\n"
		"database and data, jobs, logs and model folders; an existing one is reused.\n");
}

static void on_signal(struct ev_io *io, uint32_t revents)
{
	struct daemon *d = ff_container_of(io, struct daemon, sig_io);
	struct signalfd_siginfo si;
	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			exec_reap(&d->site);
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			ff_log(FF_LOG_INFO, "signal %d: stopping", (int)si.ssi_signo);
			ev_stop(d->site.loop);
		}
	}
}

/* The built-in provider's executable: next to fedflowd or in ../components. */
static char *find_component_bin(void)
{
	const char *env = getenv("FEDFLOW_COMPONENT_BIN");
	if (env)
		return ff_strdup(env);
	char *dir = fs_self_dir();
	if (!dir)
		return NULL;
	const char *cands[] = { "%s/fedflow-component", "%s/../components/fedflow-component",
				"%s/../lib/fedflow/fedflow-component" };
	char *found = NULL;
	for (size_t i = 0; i < FF_ARRAY_SIZE(cands) && !found; i++) {
		char *p = ff_asprintf(cands[i], dir);
		char *abs = p ? fs_abspath(p) : NULL;
		if (abs && access(abs, X_OK) == 0)
			found = abs;
		else
			ff_free(abs);
		ff_free(p);
	}
	ff_free(dir);
	return found;
}

static int parse_args(int argc, char **argv, const char **home, struct config_overrides *ov)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' }, { "port", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'h' }, { "party-id", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' }, { "help", no_argument, NULL, '?' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'H': *home = optarg; break;
		case 'h': ov->host = optarg; break;
		case 'i': ov->party_id = optarg; break;
		case 'c': ov->config_file = optarg; break;
		case 'p':
			ov->port = (int)strtol(optarg, &end, 10);
			if (*end || ov->port <= 0 || ov->port > 65535) {
				fprintf(stderr, "fedflowd: --port must be 1..65535\n");
				return 2;
			}
			break;
		default:
			usage(c == '?' && optopt == 0 ? stdout : stderr);
			return c == '?' && optopt == 0 ? 1 : 2;
		}
	}
	if (!*home || optind < argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static int start_signals(struct daemon *d)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sigfd < 0)
		return ff_from_errno(errno);
	d->sig_io.fd = d->sigfd;
	d->sig_io.events = EPOLLIN;
	d->sig_io.cb = on_signal;
	return ev_io_start(d->site.loop, &d->sig_io);
}

static int start_site(struct daemon *d, struct ff_error *err)
{
	struct site *s = &d->site;
	s->start_ms = clock_now_ms();
	s->cfg.component_bin = find_component_bin();
	char *self = fs_self_dir();
	s->cfg.launch_bin = self ? ff_asprintf("%s/fedflow-launch", self) : NULL;
	ff_free(self);
	if (!s->cfg.component_bin)
		return ff_error_set(err, FF_ENOENT, "cannot find fedflow-component next to fedflowd;"
				    " set FEDFLOW_COMPONENT_BIN");
	s->key = ff_calloc(1, sizeof(*s->key));
	if (!s->key)
		return FF_ENOMEM;
	int ret = sign_global_init();
	if (!ret)
		ret = sign_key_load_or_create(s->cfg.home, s->key, err);
	if (!ret)
		ret = ev_loop_new(&s->loop);
	if (!ret)
		ret = start_signals(d);
	if (!ret)
		ret = store_open(s->cfg.database, &s->db, err);
	if (!ret)
		ret = fed_init(s, err);
	if (!ret)
		ret = gateway_init(s, err);
	if (!ret)
		ret = remote_init(s, err);
	if (!ret)
		ret = party_init(s, err);
	if (!ret)
		ret = exec_init(s, party_task_ended, party_task_pid, err);
	if (!ret)
		ret = provider_init(s, err);
	if (!ret)
		ret = sched_init(s, err);
	if (!ret)
		ret = detect_init(s, err);
	if (ret)
		return ret;
	fed_set_handlers(s, party_command, sched_command);
	recover_run(s);
	size_t nroutes;
	const struct http_route *routes = api_routes(&nroutes);
	struct http_config hc = {
		.host = s->cfg.host, .port = s->cfg.port, .threads = s->cfg.http_threads,
		.max_body = (size_t)s->cfg.http_max_body, .core = s->loop,
		.db_dsn = s->cfg.database, .ctx = s,
	};
	return http_server_start(&hc, routes, nroutes, &s->http, err);
}

static void stop_site(struct daemon *d)
{
	struct site *s = &d->site;
	gateway_stop(s); /* answers its parked receives: MHD stops only without any */
	http_server_stop(s->http);
	gateway_release(s);
	detect_release(s);
	sched_release(s);
	provider_release(s);
	exec_release(s);
	party_release(s);
	remote_release(s);
	fed_release(s);
	store_close(s->db);
	if (d->sigfd >= 0)
		close(d->sigfd);
	ev_loop_free(s->loop);
	if (s->key)
		memset(s->key, 0, sizeof(*s->key));
	ff_free(s->key);
	site_joblog_close_all();
	config_release(&s->cfg);
}

int main(int argc, char **argv)
{
	struct daemon d = { .sigfd = -1 };
	struct config_overrides ov = { 0 };
	struct ff_error err = FF_ERROR_INIT;
	const char *home = NULL;
	if (argc > 1 && !strcmp(argv[1], "partner"))
		return partner_cli(argc - 1, argv + 1);
	int rc = parse_args(argc, argv, &home, &ov);
	if (rc)
		return rc == 1 ? 0 : rc;
	/* Block before any thread exists so every thread inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* No curl_global_init here: it initialises OpenSSL (about 1.7 MB of
	 * touched pages) that a site running only local jobs never needs. The
	 * first curl handle does it (thread-safe in Debian's libcurl). */
	int ret = config_load(home, &ov, &d.site.cfg, &err);
	if (ret) {
		fprintf(stderr, "fedflowd: %s\n", ff_error_msg(&err, ret));
		return 1;
	}
	ff_log_set_level(d.site.cfg.log_level);
	ret = start_site(&d, &err);
	if (ret) {
		ff_log(FF_LOG_ERROR, "cannot start: %s", ff_error_msg(&err, ret));
		stop_site(&d);
		return 1;
	}
	ff_log(FF_LOG_INFO, "fedflowd %s party_id=%s mode=%s listening on http://%s:%d home=%s",
	       FF_VERSION, d.site.cfg.party_id, d.site.cfg.mode, d.site.cfg.host,
	       http_server_port(d.site.http), d.site.cfg.home);
	ret = ev_run(d.site.loop);
	ff_log(FF_LOG_INFO, "fedflowd stopped");
	stop_site(&d);
	return ret ? 1 : 0;
}
