// SPDX-License-Identifier: Apache-2.0
/* test_config.c - site config: defaults, overrides, bad values. */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "config.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

static char *tmp_home(void)
{
	char tmpl[] = "/tmp/ff_test_cfg_XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	return ff_strdup(tmpl);
}

static void write_cfg(const char *home, const char *text)
{
	char *p = ff_asprintf("%s/fedflow.yaml", home);
	assert_int_equal(fs_write_atomic(p, text, strlen(text), NULL), FF_OK);
	ff_free(p);
}

static void test_default_file(void **state)
{
	(void)state;
	char *home = tmp_home();
	struct config c;
	struct config_overrides ov = { .port = 12345, .party_id = "10000" };
	assert_int_equal(config_load(home, &ov, &c, NULL), FF_OK);
	assert_string_equal(c.party_id, "10000");
	assert_int_equal(c.port, 12345);
	assert_string_equal(c.mode, "standalone");
	assert_int_equal(c.engine_cores, 32);
	long long v;
	assert_true(jsonx_as_int(json_object_get(c.job_default, "job_cores"), &v));
	assert_int_equal(v, 4);
	assert_true(fs_is_dir(c.log_dir) && fs_is_dir(c.data_dir));
	assert_non_null(strstr(c.database, home));
	config_release(&c);
	/* the written default file loads again with the same values */
	assert_int_equal(config_load(home, NULL, &c, NULL), FF_OK);
	assert_string_equal(c.party_id, "10000");
	assert_int_equal(c.port, 12345);
	config_release(&c);
	fs_rm_rf(home);
	ff_free(home);
}

/* -1 where the filesystem has no inode flags (tmpfs): nothing to check */
static int topdir_flag(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	int flags = 0;
	int ret = ioctl(fd, FS_IOC_GETFLAGS, &flags) ? -1 : !!(flags & FS_TOPDIR_FL);
	close(fd);
	return ret;
}

/* jobs/ and data/ are tops of directory hierarchies, other folders are not,
 * logs/ is made as if the home were one: see fs_set_topdir. */
static void test_topdir_marks(void **state)
{
	(void)state;
	char *home = tmp_home();
	char *model = ff_asprintf("%s/model", home);
	assert_int_equal(fs_mkdirs(model, 0755, NULL), FF_OK);
	if (!fs_set_topdir(model, true) || topdir_flag(model) != 1 ||
	    !fs_set_topdir(model, false) || topdir_flag(model) != 0) {
		fs_rm_rf(home);
		ff_free(home);
		ff_free(model);
		skip();
	}
	struct config c;
	assert_int_equal(config_load(home, NULL, &c, NULL), FF_OK);
	assert_int_equal(topdir_flag(c.job_dir), 1);
	assert_int_equal(topdir_flag(c.data_dir), 1);
	assert_int_equal(topdir_flag(c.log_dir), 0);      /* files in it, no folders */
	assert_int_equal(topdir_flag(c.model_dir), 0);
	assert_int_equal(topdir_flag(home), 0);           /* marked only to spread logs/ */
	config_release(&c);
	/* a home of an earlier version: logs/ marked; the mark goes, a marked
	 * home keeps its own */
	char *logs = ff_asprintf("%s/logs", home);
	assert_true(fs_set_topdir(logs, true) && fs_set_topdir(home, true));
	ff_free(logs);
	assert_int_equal(config_load(home, NULL, &c, NULL), FF_OK);
	assert_int_equal(topdir_flag(c.log_dir), 0);
	assert_int_equal(topdir_flag(home), 1);
	config_release(&c);
	fs_rm_rf(home);
	ff_free(home);
	ff_free(model);
}

static void test_bad_values(void **state)
{
	(void)state;
	static const struct { const char *text; const char *msg; } cases[] = {
		{ "port: high\n", "config 'port': expected an integer" },
		{ "port: 70000\n", "at most 65535" },
		{ "party_id: '0'\n", "not a valid party id" },
		{ "party_id: 'a/b'\n", "not a valid party id" },
		{ "mode: cluster\n", "expected standalone or site" },
		{ "log_level: loud\n", "unknown level" },
		{ "computing: {cores: -1}\n", "must be at least 0" },
		{ "job_default: {sync_type: sometimes}\n", "callback or poll" },
		{ "job_default: [1]\n", "expected a mapping" },
		{ "- a list\n", "is not a mapping" },
		{ "a: [1\n", "malformed YAML" },
	};
	for (size_t i = 0; i < FF_ARRAY_SIZE(cases); i++) {
		char *home = tmp_home();
		write_cfg(home, cases[i].text);
		struct config c;
		struct ff_error err = FF_ERROR_INIT;
		assert_int_not_equal(config_load(home, NULL, &c, &err), FF_OK);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, cases[i].msg);
		config_release(&c);
		fs_rm_rf(home);
		ff_free(home);
	}
}

static void test_relative_database(void **state)
{
	(void)state;
	char *home = tmp_home();
	write_cfg(home, "database: sqlite:state/x.db\nadvertise_url: http://10.0.0.5:9380\n");
	struct config c;
	assert_int_equal(config_load(home, NULL, &c, NULL), FF_OK);
	char *want = ff_asprintf("sqlite:%s/state/x.db", c.home);
	assert_string_equal(c.database, want);
	assert_string_equal(c.advertise_url, "http://10.0.0.5:9380");
	ff_free(want);
	config_release(&c);
	fs_rm_rf(home);
	ff_free(home);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_file),
		cmocka_unit_test(test_topdir_marks),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_relative_database),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
