/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - a site's configuration file (<home>/fedflow.yaml).
 *
 * fedflowd --home DIR reads DIR/fedflow.yaml (or --config FILE); a new
 * home gets a default file written with every key and a comment. Command
 * line flags override the file for this run only. Unknown keys are
 * reported as warnings (typos should not pass silently). docs/config.md
 * documents every key.
 */
#ifndef FF_CONFIG_H
#define FF_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include "err.h"

#define CONFIG_ID_MAX 64

struct config {
	char *home;              /* absolute */
	char *path;              /* the config file */
	char party_id[CONFIG_ID_MAX];
	char host[256];          /* listen address, also advertised to tasks */
	int port;
	char *database;          /* dsn; relative sqlite paths resolved to home */
	char *advertise_url;     /* base URL partners use to reach this site */
	int log_level;
	int http_threads;
	long long http_max_body;     /* bytes of a JSON request body */
	char mode[16];           /* "standalone" (one daemon plays all parties) | "site" */

	char provider_name[CONFIG_ID_MAX];
	char provider_version[CONFIG_ID_MAX];
	char provider_device[CONFIG_ID_MAX];

	char computing_engine[CONFIG_ID_MAX];
	long long engine_cores;
	long long engine_nodes;

	json_t *job_default;     /* FATE's job_default_config, defaults filled */
	long long sweep_interval_ms;  /* safety-net sweep of running jobs */
	long long poll_interval_ms;   /* poll sync mode period */
	long long liveness_interval_ms; /* callback mode: how often running tasks at
					 * other sites are checked for a dead site */
	long long command_timeout_ms; /* one site-to-site command attempt */
	long long detect_interval_ms; /* detectors' pass */
	long long ring_push_idle_ms;  /* a gateway ring push without a step is abandoned */
	long long command_tries;      /* federated_command_trys */

	/* directories under home */
	char *data_dir, *job_dir, *log_dir, *model_dir, *temp_dir;
	char *component_bin;     /* built-in provider executable */
	char *launch_bin;        /* fedflow-launch (task limits) */
	/* isolation */
	bool iso_enabled;
	long long iso_memory_mb;
	long long iso_nofile;
	bool iso_cpu_quota;
	bool iso_affinity;
};

/* Overrides given on the command line (NULL / 0 = not given). */
struct config_overrides {
	const char *config_file;
	const char *host;
	int port;
	const char *party_id;
};

/*
 * Loads <home>/fedflow.yaml (writing the default one if the home is new)
 * and applies overrides. Creates the home's folders. On error err says
 * which key is wrong and what it expects.
 */
int config_load(const char *home, const struct config_overrides *ov,
		struct config *cfg, struct ff_error *err);
void config_release(struct config *cfg);

/* The default file's text for a party (what a new home gets). Owned. */
char *config_default_text(const char *party_id, const char *host, int port);

#endif
