// SPDX-License-Identifier: Apache-2.0
/*
 * comp_toy.c - toy_example, FATE's connectivity check, and
 * gateway_transfer, a test component that moves one large message.
 *
 * toy_example (roles guest and host; data_num, partition as FATE's `flow
 * test toy` sends): both parties build the same data_num rows (sample id
 * i, x0 = i). The guest sends every host its sample ids in a random order
 * with a checksum and a fresh seed ("guest_index"); each host checks the
 * ids are exactly its own rows, looks them up and answers x0 * 2 + 1 for
 * each, in the guest's order, with the seed and a checksum
 * ("host_index"); the guest checks every value. Like FATE's, both write
 * their rows as output_data and {"test_role": role} as json_model_output.
 * A failure names what did not match.
 *
 * gateway_transfer (roles guest and host): the guest sends `size` bytes
 * (or the file `source`) to every host as message `tag`, then waits for
 * each host's acknowledgement (size and checksum of what arrived) and
 * compares it with its own. A host writes the message to `target` (or a
 * scratch file), never holding it in memory. With host_silent the hosts
 * do nothing, so the guest's receive times out (tests of that error).
 * send_delay_ms: the guest waits that long first (the hosts are then
 * waiting for the message when its first byte comes).
 */
#include "ff_setup.h"
#include <time.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "comp.h"
#include "fedflow/data.h"
#include "fedflow/fed.h"
#include "fedflow/model.h"
#include "fedflow/table.h"
#include "mem.h"

#define TOY_MAGIC 0x31594f5446464646ULL   /* "FFFFTOY1" little-endian */
#define TOY_NUM_MAX 50000000LL
#define XFER_BUF (1 << 20)

/* ---- helpers ---- */

static uint64_t toy_mix(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= 0x9E3779B97F4A7C15ULL;
	return h ^ (h >> 29);
}

/* Checksum of bytes, 8 at a time; h carries over between calls. */
static uint64_t toy_sum_bytes(uint64_t h, const unsigned char *p, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = toy_mix(h, w);
	}
	for (; i < n; i++)
		h = toy_mix(h, p[i]);
	return h;
}

static uint64_t toy_rand64(void)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)time(NULL);
	return r | 1;
}

static uint64_t toy_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int toy_fed_open(struct ff_task *t, struct ff_fed **f, struct ff_error *err)
{
	int ret = ff_fed_open(t, f, err);
	if (ret)
		ff_error_prefix(err, "cannot use the gateway");
	return ret;
}

/* ---- toy_example ---- */

static json_t *toy_describe(void)
{
	json_t *p = json_pack("{s:{s:s,s:b,s:s},s:{s:s,s:b,s:s}}",
			      "data_num", "type", "int", "optional", 0, "description", "data_num",
			      "partition", "type", "int", "optional", 0, "description",
			      "data_partition");
	json_t *od = json_pack("{s:o}", "output_data",
			       comp_artifact("dataframe", false, false, "guest,host"));
	json_t *om = json_pack("{s:o}", "json_model_output",
			       comp_artifact("json_model", false, false, "guest,host"));
	return comp_describe("guest,host", "default", p, NULL, NULL, od, om, NULL);
}

/* A toy message: magic, n, seed, n words, checksum of all before it. */
static uint64_t *toy_msg_new(size_t n, uint64_t seed, size_t *bytes)
{
	uint64_t *m = ff_malloc((n + 4) * sizeof(*m));
	if (!m)
		return NULL;
	m[0] = TOY_MAGIC;
	m[1] = n;
	m[2] = seed;
	*bytes = (n + 4) * sizeof(*m);
	return m;
}

static void toy_msg_seal(uint64_t *m, size_t n)
{
	m[n + 3] = toy_sum_bytes(0, (const unsigned char *)m, (n + 3) * sizeof(*m));
}

/* Checks the frame of a received toy message; *words gets its payload. */
static int toy_msg_check(const void *data, size_t len, size_t n, const char *what,
			 const uint64_t **words, uint64_t *seed, struct ff_error *err)
{
	const uint64_t *m = data;
	if (len != (n + 4) * sizeof(*m) || len % 8)
		return ff_error_set(err, FF_EDATA, "toy_example: %s has %zu bytes, expected %zu for "
				    "data_num %zu", what, len, (n + 4) * sizeof(*m), n);
	if (m[0] != TOY_MAGIC || m[1] != n)
		return ff_error_set(err, FF_EDATA, "toy_example: %s is not a toy message of %zu rows",
				    what, n);
	if (m[n + 3] != toy_sum_bytes(0, data, len - 8))
		return ff_error_set(err, FF_EDATA, "toy_example: %s fails its checksum", what);
	*words = m + 3;
	*seed = m[2];
	return FF_OK;
}

/* Guest: the ids in a random order, sent to every host. */
static int toy_guest(struct ff_task *t, struct ff_fed *f, size_t n, struct ff_error *err)
{
	size_t bytes, nh;
	uint64_t seed = toy_rand64(), s = seed;
	uint64_t *m = toy_msg_new(n, seed, &bytes);
	void **got = NULL;
	size_t *lens = NULL, ng = 0;
	int ret = FF_OK;
	if (!m)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	uint64_t *ids = m + 3;
	for (size_t i = 0; i < n; i++)
		ids[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(toy_next(&s) % i);
		uint64_t tmp = ids[i - 1];
		ids[i - 1] = ids[j];
		ids[j] = tmp;
	}
	toy_msg_seal(m, n);
	const char *const *hosts = ff_fed_parties(f, "host", &nh);
	ret = ff_fed_broadcast(f, "guest_index", "host", m, bytes, err);
	if (!ret)
		ret = ff_fed_gather(f, "host_index", "host", &got, &lens, &ng, err);
	for (size_t h = 0; !ret && h < ng; h++) {
		char what[160];
		const uint64_t *vals;
		uint64_t back;
		snprintf(what, sizeof(what), "the answer of host %s", hosts[h]);
		ret = toy_msg_check(got[h], lens[h], n, what, &vals, &back, err);
		if (!ret && back != seed)
			ret = ff_error_set(err, FF_EDATA, "toy_example: %s answers another request "
					   "(seed %llx, sent %llx)", what, (unsigned long long)back,
					   (unsigned long long)seed);
		for (size_t i = 0; !ret && i < n; i++)
			if (vals[i] != ids[i] * 2 + 1)
				ret = ff_error_set(err, FF_EDATA, "toy_example: %s has x0*2+1 = %llu for "
						   "sample %llu, expected %llu", what,
						   (unsigned long long)vals[i], (unsigned long long)ids[i],
						   (unsigned long long)(ids[i] * 2 + 1));
		if (!ret)
			ff_task_log(t, FF_TASK_INFO, "toy_example: host %s returned all %zu rows, "
				    "verified", hosts[h], n);
	}
	for (size_t h = 0; h < ng; h++)
		ff_fed_free(got[h]);
	ff_fed_free(got);
	ff_fed_free(lens);
	ff_free(m);
	return ret;
}

/* Host: checks the guest's ids against its rows, answers x0 * 2 + 1. */
static int toy_host(struct ff_task *t, struct ff_fed *f, size_t n, struct ff_error *err)
{
	size_t ng, len = 0, bytes = 0;
	const char *const *guests = ff_fed_parties(f, "guest", &ng);
	void *data = NULL;
	uint64_t *m = NULL;
	unsigned char *seen = NULL;
	int ret = FF_OK;
	if (ng != 1)
		return ff_error_set(err, FF_EINVAL, "toy_example: expected one guest, the task has %zu",
				    ng);
	ret = ff_fed_recv(f, "guest_index", "guest", guests[0], &data, &len, err);
	const uint64_t *ids;
	uint64_t seed;
	if (!ret)
		ret = toy_msg_check(data, len, n, "the guest's index", &ids, &seed, err);
	if (!ret && (!(seen = ff_calloc(n ? n : 1, 1)) || !(m = toy_msg_new(n, seed, &bytes))))
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	for (size_t i = 0; !ret && i < n; i++) {
		/* loc: the guest's sample id must be one of our rows, once */
		if (ids[i] >= n || seen[ids[i]])
			ret = ff_error_set(err, FF_EDATA, "toy_example: the guest's sample id %llu is "
					   "%s", (unsigned long long)ids[i],
					   ids[i] >= n ? "not in this party's data" : "repeated");
		else {
			seen[ids[i]] = 1;
			m[3 + i] = ids[i] * 2 + 1;
		}
	}
	if (!ret) {
		toy_msg_seal(m, n);
		ret = ff_fed_send(f, "host_index", "guest", guests[0], m, bytes, err);
	}
	if (!ret)
		ff_task_log(t, FF_TASK_INFO, "toy_example: guest %s sent %zu sample ids, all found; "
			    "answered", guests[0], n);
	ff_fed_free(data);
	ff_free(seen);
	ff_free(m);
	return ret;
}

/* output_data: the rows (sample_id, match_id, x0) in partition parts. */
static int toy_write_data(struct ff_task *t, size_t n, unsigned parts, struct ff_error *err)
{
	struct ff_schema sc = FF_SCHEMA_INIT;
	struct ff_table_writer *w = NULL;
	struct ff_table_writer_opts o = FF_TABLE_WRITER_OPTS_INIT;
	if (!ff_task_output_uri(t, "output_data"))
		return FF_OK;
	o.partitions = parts;
	o.expected_rows = n;
	int ret = ff_schema_set(&sc, "sample_id", "match_id", NULL, NULL);
	if (!ret)
		ret = ff_schema_add_feature(&sc, "x0");
	if (ret) {
		ff_schema_release(&sc);
		return ff_error_set(err, ret, "out of memory");
	}
	ret = ff_data_output_create(t, "output_data", &sc, &o, &w, err);
	ff_schema_release(&sc);
	for (size_t i = 0; !ret && i < n; i++) {
		char id[24];
		int k = snprintf(id, sizeof(id), "%zu", i);
		double x = (double)i;
		struct ff_row_in row = { .sid = id, .sid_len = (size_t)k, .mid = id,
					 .mid_len = (size_t)k, .x = &x };
		ret = ff_table_writer_append(w, &row, err);
	}
	if (ret) {
		ff_table_writer_free(w);
		return ret;
	}
	return ff_data_output_commit(t, "output_data", w, err);
}

static int toy_write_model(struct ff_task *t, struct ff_error *err)
{
	if (!ff_task_output_uri(t, "json_model_output"))
		return FF_OK;
	json_t *model = json_pack("{s:s}", "test_role", ff_task_role(t));
	/* an overview of our own: with NULL, ff_model_save_json leaks the one it makes */
	json_t *overview = json_object();
	int ret = model && overview ? ff_model_save_json(t, "json_model_output", model, overview, err)
				    : ff_error_set(err, FF_ENOMEM, "out of memory");
	json_decref(model);
	json_decref(overview);
	return ret;
}

static int toy_run(struct ff_task *t, struct ff_error *err)
{
	long long num, parts;
	struct ff_fed *f = NULL;
	const char *role = ff_task_role(t);
	int ret = ff_task_param_int(t, "data_num", -1, &num, err);
	if (!ret)
		ret = ff_task_param_int(t, "partition", -1, &parts, err);
	if (ret)
		return ret;
	if (num < 1 || num > TOY_NUM_MAX)
		return ff_error_set(err, FF_EINVAL, "parameter 'data_num' must be 1 to %lld, got %lld",
				    TOY_NUM_MAX, num);
	if (parts < 1 || parts > FF_TABLE_PARTITIONS_MAX)
		return ff_error_set(err, FF_EINVAL, "parameter 'partition' must be 1 to %d, got %lld",
				    FF_TABLE_PARTITIONS_MAX, parts);
	ret = toy_fed_open(t, &f, err);
	if (ret)
		return ret;
	if (!strcmp(role, "guest"))
		ret = toy_guest(t, f, (size_t)num, err);
	else if (!strcmp(role, "host"))
		ret = toy_host(t, f, (size_t)num, err);
	else
		ret = ff_error_set(err, FF_EROLE, "toy_example runs as guest or host, not '%s'", role);
	ff_fed_close(f);
	if (!ret)
		ret = toy_write_data(t, (size_t)num, (unsigned)parts, err);
	if (!ret)
		ret = toy_write_model(t, err);
	return ret;
}

const struct comp comp_toy_example = { "toy_example", toy_describe, toy_run };
COMP_REGISTER(comp_toy_example);

/* ---- gateway_transfer ---- */

static json_t *xfer_describe(void)
{
	json_t *p = json_pack("{s:{s:s,s:I,s:b},s:{s:s,s:I,s:b},s:{s:s,s:b},s:{s:s,s:b},"
			      "s:{s:s,s:s,s:b},s:{s:s,s:b,s:b},s:{s:s,s:b}}",
			      "size", "type", "int", "default", (json_int_t)1024, "optional", 1,
			      "send_delay_ms", "type", "int", "default", (json_int_t)0, "optional", 1,
			      "source", "type", "str", "optional", 1,
			      "target", "type", "str", "optional", 1,
			      "tag", "type", "str", "default", "payload", "optional", 1,
			      "host_silent", "type", "bool", "default", 0, "optional", 1,
			      "federation_timeout", "type", "float", "optional", 1);
	return comp_describe("guest,host", "default", p, NULL, NULL, NULL, NULL, NULL);
}

/* Checksum of fd's first size bytes (pread: the offset stays). */
static int xfer_sum_fd(int fd, uint64_t size, uint64_t *sum, struct ff_error *err)
{
	unsigned char *buf = ff_malloc(XFER_BUF);
	uint64_t h = 0, off = 0;
	int ret = buf ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
	while (!ret && off < size) {
		size_t want = size - off < XFER_BUF ? (size_t)(size - off) : XFER_BUF;
		ssize_t r = pread(fd, buf, want, (off_t)off);
		if (r <= 0)
			ret = ff_error_set(err, FF_EIO, "cannot read the message back: %s",
					   r < 0 ? strerror(errno) : "short file");
		else {
			h = toy_sum_bytes(h, buf, (size_t)r);
			off += (uint64_t)r;
		}
	}
	ff_free(buf);
	*sum = h;
	return ret;
}

static int xfer_guest(struct ff_task *t, struct ff_fed *f, const char *tag, struct ff_error *err)
{
	const char *source;
	long long size;
	size_t nh;
	uint64_t sum = 0;
	unsigned char *mem = NULL;
	int fd = -1;
	long long delay_ms;
	int ret = ff_task_param_str(t, "source", NULL, &source, err);
	if (!ret)
		ret = ff_task_param_int(t, "size", 1024, &size, err);
	if (!ret)
		ret = ff_task_param_int(t, "send_delay_ms", 0, &delay_ms, err);
	if (ret)
		return ret;
	/* tests: the hosts are waiting for the message before it starts */
	if (delay_ms > 0 && delay_ms < 60000) {
		struct timespec ts = { (time_t)(delay_ms / 1000), (long)(delay_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (source) {
		struct stat sb;
		fd = open(source, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &sb))
			ret = ff_error_set(err, FF_ENOENT, "cannot open source '%s': %s", source,
					   strerror(errno));
		size = ret ? 0 : (long long)sb.st_size;
		if (!ret)
			ret = xfer_sum_fd(fd, (uint64_t)size, &sum, err);
	} else if (size < 0 || size > (1LL << 32)) {
		ret = ff_error_set(err, FF_EINVAL, "parameter 'size' must be 0 to 4 GiB without a "
				   "source file");
	} else if (!(mem = ff_malloc(size ? (size_t)size : 1))) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory for %lld bytes", size);
	} else {
		uint64_t s = toy_rand64();
		for (long long i = 0; i < size; i += 8) {
			uint64_t w = toy_next(&s);
			memcpy(mem + i, &w, size - i < 8 ? (size_t)(size - i) : 8);
		}
		sum = toy_sum_bytes(0, mem, (size_t)size);
	}
	const char *const *hosts = ff_fed_parties(f, "host", &nh);
	for (size_t h = 0; !ret && h < nh; h++) {
		if (fd >= 0 && lseek(fd, 0, SEEK_SET) < 0)
			ret = ff_error_set(err, FF_EIO, "cannot rewind '%s'", source);
		if (!ret)
			ret = fd >= 0 ? ff_fed_send_fd(f, tag, "host", hosts[h], fd, (uint64_t)size, err)
				      : ff_fed_send(f, tag, "host", hosts[h], mem, (size_t)size, err);
	}
	if (!ret)
		ff_task_log(t, FF_TASK_INFO, "gateway_transfer: sent %lld bytes as '%s' to %zu hosts",
			    size, tag, nh);
	for (size_t h = 0; !ret && h < nh; h++) {
		void *ack = NULL;
		size_t alen = 0;
		uint64_t a[2];
		ret = ff_fed_recv(f, "ack", "host", hosts[h], &ack, &alen, err);
		if (!ret && alen != sizeof(a))
			ret = ff_error_set(err, FF_EDATA, "host %s: bad acknowledgement", hosts[h]);
		if (!ret)
			memcpy(a, ack, sizeof(a));
		if (!ret && (a[0] != (uint64_t)size || a[1] != sum))
			ret = ff_error_set(err, FF_EDATA, "host %s got %llu bytes with checksum %016llx, "
					   "sent %lld bytes with checksum %016llx", hosts[h],
					   (unsigned long long)a[0], (unsigned long long)a[1], size,
					   (unsigned long long)sum);
		ff_fed_free(ack);
	}
	if (fd >= 0)
		close(fd);
	ff_free(mem);
	return ret;
}

/* into_memory: the message received into one buffer (ff_fed_recv), then acknowledged. */
static int xfer_host_memory(struct ff_fed *f, const char *tag, const char *guest,
			    struct ff_error *err)
{
	void *data = NULL;
	size_t len = 0;
	uint64_t a[2] = { 0, 0 };
	int ret = ff_fed_recv(f, tag, "guest", guest, &data, &len, err);
	if (!ret) {
		a[0] = len;
		a[1] = toy_sum_bytes(0, data, len);
		ff_fed_free(data);
		ret = ff_fed_send(f, "ack", "guest", guest, a, sizeof(a), err);
	}
	return ret;
}

static int xfer_host(struct ff_task *t, struct ff_fed *f, const char *tag, struct ff_error *err)
{
	const char *target;
	bool silent;
	size_t ng;
	uint64_t len = 0, a[2];
	bool memory;
	int ret = ff_task_param_str(t, "target", NULL, &target, err);
	if (!ret)
		ret = ff_task_param_bool(t, "host_silent", false, &silent, err);
	if (!ret)
		ret = ff_task_param_bool(t, "into_memory", false, &memory, err);
	if (ret)
		return ret;
	const char *const *guests = ff_fed_parties(f, "guest", &ng);
	if (ng != 1)
		return ff_error_set(err, FF_EINVAL, "gateway_transfer: expected one guest, the task "
				    "has %zu", ng);
	if (silent) {
		/* stay until the guest has given up on its receive: a host that
		 * ended at once would have its messages refused, and the guest
		 * would fail on its send instead of timing out */
		double wait = 0;
		ret = ff_task_param_double(t, "federation_timeout", 0, &wait, err);
		if (ret)
			return ret;
		ff_task_log(t, FF_TASK_INFO, "gateway_transfer: host_silent: not answering");
		struct timespec ts = { (time_t)wait + 2, 0 };
		nanosleep(&ts, NULL);
		return FF_OK;
	}
	if (memory)
		return xfer_host_memory(f, tag, guests[0], err);
	FILE *scratch = NULL;
	int fd = -1;
	if (target)
		fd = open(target, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	else if ((scratch = tmpfile()))
		fd = fileno(scratch);
	if (fd < 0)
		ret = ff_error_set(err, FF_EIO, "cannot create '%s': %s", target ? target : "a scratch"
				   " file", strerror(errno));
	if (!ret)
		ret = ff_fed_recv_fd(f, tag, "guest", guests[0], fd, &len, err);
	if (!ret)
		ret = xfer_sum_fd(fd, len, &a[1], err);
	a[0] = len;
	if (!ret)
		ret = ff_fed_send(f, "ack", "guest", guests[0], a, sizeof(a), err);
	if (!ret)
		ff_task_log(t, FF_TASK_INFO, "gateway_transfer: received %llu bytes as '%s'",
			    (unsigned long long)len, tag);
	if (scratch)
		fclose(scratch);
	else if (fd >= 0)
		close(fd);
	return ret;
}

static int xfer_run(struct ff_task *t, struct ff_error *err)
{
	const char *tag;
	struct ff_fed *f = NULL;
	const char *role = ff_task_role(t);
	int ret = ff_task_param_str(t, "tag", "payload", &tag, err);
	if (!ret)
		ret = toy_fed_open(t, &f, err);
	if (ret)
		return ret;
	if (!strcmp(role, "guest"))
		ret = xfer_guest(t, f, tag, err);
	else if (!strcmp(role, "host"))
		ret = xfer_host(t, f, tag, err);
	else
		ret = ff_error_set(err, FF_EROLE, "gateway_transfer runs as guest or host, not '%s'",
				   role);
	ff_fed_close(f);
	return ret;
}

const struct comp comp_gateway_transfer = { "gateway_transfer", xfer_describe, xfer_run };
COMP_REGISTER(comp_gateway_transfer);
