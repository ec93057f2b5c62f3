// SPDX-License-Identifier: Apache-2.0
/* sign.c - Ed25519 request signing, verification and the nonce cache. */
#include "ff_setup.h"
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "clock.h"
#include "fs.h"
#include "mem.h"
#include "sign.h"

static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(struct sign_sha256_state),
	      "sha256 state does not fit");

int sign_global_init(void)
{
	return sodium_init() < 0 ? FF_EIO : FF_OK;
}

void sign_sha256(const void *data, size_t len, unsigned char out[32])
{
	crypto_hash_sha256(out, data, len);
}

void sign_sha256_init(struct sign_sha256_state *st)
{
	crypto_hash_sha256_init((crypto_hash_sha256_state *)(void *)st->opaque);
}

void sign_sha256_update(struct sign_sha256_state *st, const void *data, size_t len)
{
	crypto_hash_sha256_update((crypto_hash_sha256_state *)(void *)st->opaque, data, len);
}

void sign_sha256_final(struct sign_sha256_state *st, unsigned char out[32])
{
	crypto_hash_sha256_final((crypto_hash_sha256_state *)(void *)st->opaque, out);
}

static void sign_b64(const unsigned char *bin, size_t n, char *out, size_t outn)
{
	sodium_bin2base64(out, outn, bin, n, sodium_base64_VARIANT_ORIGINAL);
}

static int sign_unb64(const char *b64, unsigned char *bin, size_t n)
{
	size_t got = 0;
	if (!b64 || sodium_base642bin(bin, n, b64, strlen(b64), NULL, &got, NULL,
				      sodium_base64_VARIANT_ORIGINAL) || got != n)
		return FF_EINVAL;
	return FF_OK;
}

int sign_key_check(const char *b64, struct ff_error *err)
{
	unsigned char pk[32];
	if (sign_unb64(b64, pk, sizeof(pk)))
		return ff_error_set(err, FF_EINVAL, "public key '%s' is not 32 bytes of base64",
				    b64 ? b64 : "");
	return FF_OK;
}

int sign_key_load_or_create(const char *home, struct sign_key *k, struct ff_error *err)
{
	char *path = ff_asprintf("%s/site.key", home);
	char *pub = ff_asprintf("%s/site.pub", home);
	struct ff_buf b = FF_BUF_INIT_MAX(4096);
	int ret = path && pub ? FF_OK : FF_ENOMEM;
	if (!ret && fs_exists(path)) {
		ret = fs_read_file(path, &b, err);
		while (!ret && b.len && (b.buf[b.len - 1] == '\n' || b.buf[b.len - 1] == ' '))
			ff_buf_setlen(&b, b.len - 1);
		if (!ret && sign_unb64(b.buf, k->sk, sizeof(k->sk)))
			ret = ff_error_set(err, FF_EINVAL, "'%s' is not a fedflow site key", path);
		if (!ret)
			crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
	} else if (!ret) {
		char sk64[128];
		crypto_sign_keypair(k->pk, k->sk);
		sign_b64(k->sk, sizeof(k->sk), sk64, sizeof(sk64));
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			ret = ff_error_set(err, FF_EIO, "cannot create '%s': %s", path, strerror(errno));
		} else {
			size_t n = strlen(sk64);
			if (write(fd, sk64, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
				ret = ff_error_set(err, FF_EIO, "cannot write '%s'", path);
			close(fd);
		}
		sodium_memzero(sk64, sizeof(sk64));
	}
	if (!ret) {
		sign_b64(k->pk, sizeof(k->pk), k->pk_b64, sizeof(k->pk_b64));
		char line[SIGN_B64_KEY + 2];
		snprintf(line, sizeof(line), "%s\n", k->pk_b64);
		ret = fs_write_atomic(pub, line, strlen(line), err);
	}
	ff_buf_release(&b);
	ff_free(path);
	ff_free(pub);
	return ret;
}

static char *sign_canonical(const char *method, const char *path, const char *query,
			    const char *ts, const char *nonce, const unsigned char sha[32])
{
	char hex[65];
	sodium_bin2hex(hex, sizeof(hex), sha, 32);
	return ff_asprintf("%s\n%s\n%s\n%s\n%s\n%s", method, path, query ? query : "", ts, nonce,
			   hex);
}

int sign_request(const struct sign_key *k, const char *party_id, const char *method,
		 const char *path, const char *query, const unsigned char body_sha[32],
		 struct sign_headers *h)
{
	unsigned char rnd[16], sig[64];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(h->nonce, sizeof(h->nonce), rnd, sizeof(rnd));
	snprintf(h->timestamp, sizeof(h->timestamp), "%lld", (long long)clock_now_ms());
	snprintf(h->party, sizeof(h->party), "%s", party_id);
	char *text = sign_canonical(method, path, query, h->timestamp, h->nonce, body_sha);
	if (!text)
		return FF_ENOMEM;
	crypto_sign_detached(sig, NULL, (const unsigned char *)text, strlen(text), k->sk);
	ff_free(text);
	sign_b64(sig, sizeof(sig), h->signature, sizeof(h->signature));
	return FF_OK;
}

/* ---- nonces seen inside the window (open hashing, expired entries reused) ---- */

#define NONCE_SLOTS 65536

struct nonce_slot {
	char nonce[40];
	int64_t expires;
};

static pthread_mutex_t nonce_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nonce_slot *nonce_table;

static uint64_t nonce_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* True when the nonce is new (and now remembered). */
static bool nonce_fresh(const char *nonce, int64_t now)
{
	bool fresh = true;
	pthread_mutex_lock(&nonce_lock);
	if (!nonce_table)
		nonce_table = ff_calloc(NONCE_SLOTS, sizeof(*nonce_table));
	if (!nonce_table) {
		pthread_mutex_unlock(&nonce_lock);
		return false;
	}
	uint64_t h = nonce_hash(nonce);
	struct nonce_slot *free_slot = NULL;
	for (size_t i = 0; i < 64; i++) {
		struct nonce_slot *s = &nonce_table[(h + i) % NONCE_SLOTS];
		if (s->expires > now && !strcmp(s->nonce, nonce)) {
			fresh = false;
			break;
		}
		if (s->expires <= now && !free_slot)
			free_slot = s;
	}
	if (fresh) {
		/* no room in the probe window: refuse rather than forget */
		if (!free_slot)
			fresh = false;
		else {
			snprintf(free_slot->nonce, sizeof(free_slot->nonce), "%s", nonce);
			free_slot->expires = now + 2 * SIGN_WINDOW_MS;
		}
	}
	pthread_mutex_unlock(&nonce_lock);
	return fresh;
}

int sign_verify(const char *public_key_b64, const char *method, const char *path,
		const char *query, const char *timestamp, const char *nonce,
		const char *signature_b64, const unsigned char body_sha[32], int64_t now_ms,
		struct ff_error *err)
{
	unsigned char pk[32], sig[64];
	if (!timestamp || !nonce || !signature_b64 || strlen(nonce) < 16 || strlen(nonce) > 39)
		return ff_error_set(err, FF_EVERIFY, "request is not signed: it needs "
				    "X-Fedflow-Party, -Timestamp, -Nonce and -Signature headers");
	if (sign_unb64(public_key_b64, pk, sizeof(pk)))
		return ff_error_set(err, FF_EVERIFY, "the route table holds no valid key for the sender");
	char *end;
	long long ts = strtoll(timestamp, &end, 10);
	if (*end || ts <= 0)
		return ff_error_set(err, FF_EVERIFY, "bad X-Fedflow-Timestamp '%s'", timestamp);
	if (ts < now_ms - SIGN_WINDOW_MS || ts > now_ms + SIGN_WINDOW_MS)
		return ff_error_set(err, FF_EEXPIRED,
				    "request expired: its timestamp is %lld ms away from this site's "
				    "clock (window %d ms); check the clocks", now_ms - ts, SIGN_WINDOW_MS);
	if (sign_unb64(signature_b64, sig, sizeof(sig)))
		return ff_error_set(err, FF_EVERIFY, "verify failed: malformed signature");
	char *text = sign_canonical(method, path, query, timestamp, nonce, body_sha);
	if (!text)
		return FF_ENOMEM;
	int bad = crypto_sign_verify_detached(sig, (const unsigned char *)text, strlen(text), pk);
	ff_free(text);
	if (bad)
		return ff_error_set(err, FF_EVERIFY, "verify failed: the signature does not match "
				    "the sender's key and the request");
	if (!nonce_fresh(nonce, now_ms))
		return ff_error_set(err, FF_EVERIFY, "verify failed: nonce '%s' was already used "
				    "(replayed request)", nonce);
	return FF_OK;
}
