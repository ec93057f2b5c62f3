// SPDX-License-Identifier: Apache-2.0
/* sign.c - Ed25519 request signing, verification and the nonce cache. */
#include "ff_setup.h"
#include <fcntl.h>
/* SHA256_CTX: the one-shot EVP API would need an allocation per digest */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "clock.h"
#include "fs.h"
#include "mem.h"
#include "sign.h"

/*
 * Body digests use OpenSSL's SHA-256: it uses the CPU's SHA instructions
 * (several times libsodium's portable code), and every byte a gateway
 * forwards is hashed on both sites. The plain SHA256_CTX keeps the state
 * a fixed-size value.
 */
static_assert(sizeof(SHA256_CTX) <= sizeof(struct sign_sha256_state),
	      "sha256 state does not fit");

int sign_global_init(void)
{
	return sodium_init() < 0 ? FF_EIO : FF_OK;
}

void sign_sha256(const void *data, size_t len, unsigned char out[32])
{
	/* not SHA256(): in OpenSSL 3 it fetches the algorithm on every call,
	 * which costs more than hashing a command's body */
	SHA256_CTX c;
	SHA256_Init(&c);
	SHA256_Update(&c, data, len);
	SHA256_Final(out, &c);
}

void sign_sha256_init(struct sign_sha256_state *st)
{
	SHA256_Init((SHA256_CTX *)(void *)st->opaque);
}

void sign_sha256_update(struct sign_sha256_state *st, const void *data, size_t len)
{
	SHA256_Update((SHA256_CTX *)(void *)st->opaque, data, len);
}

void sign_sha256_final(struct sign_sha256_state *st, unsigned char out[32])
{
	SHA256_Final(out, (SHA256_CTX *)(void *)st->opaque);
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

/*
 * ---- nonces seen inside the window ----
 *
 * A request is accepted while its timestamp is within the window, so its
 * nonce must be remembered until timestamp + window, and no longer. Open
 * addressing with linear probing; expired slots are reused in place and
 * dropped when the table is rebuilt (twice the live entries, when half
 * full), so it holds whatever the request rate needs: a full table must
 * never turn fresh requests into "replays".
 */
struct nonce_slot {
	char nonce[40];
	int64_t expires;            /* 0: never used */
};

struct nonce_set {
	struct nonce_slot *slots;
	size_t cap, used;           /* used: slots ever filled since the rebuild */
};

static pthread_mutex_t nonce_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nonce_set nonces;

static uint64_t nonce_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct nonce_slot *nonce_probe(struct nonce_set *t, const char *nonce)
{
	size_t i = nonce_hash(nonce) & (t->cap - 1);
	while (t->slots[i].expires && strcmp(t->slots[i].nonce, nonce))
		i = (i + 1) & (t->cap - 1);
	return &t->slots[i];
}

/* Rebuilds t with its live entries only, in a table twice their number. */
static bool nonce_rebuild(struct nonce_set *t, int64_t now)
{
	size_t live = 0;
	for (size_t i = 0; i < t->cap; i++)
		live += t->slots[i].expires > now;
	size_t cap = 4096;
	while (cap < 4 * (live + 1))
		cap *= 2;
	struct nonce_set n = { ff_calloc(cap, sizeof(struct nonce_slot)), cap, 0 };
	if (!n.slots)
		return false;
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i].expires <= now)
			continue;
		*nonce_probe(&n, t->slots[i].nonce) = t->slots[i];
		n.used++;
	}
	ff_free(t->slots);
	*t = n;
	return true;
}

/* FF_OK when the nonce is new (and now remembered until expires). */
int sign_nonce_remember(const char *nonce, int64_t now, int64_t expires)
{
	int ret = FF_OK;
	pthread_mutex_lock(&nonce_lock);
	if ((nonces.used + 1) * 2 > nonces.cap && !nonce_rebuild(&nonces, now))
		ret = FF_ENOMEM;
	if (!ret) {
		struct nonce_slot *sl = nonce_probe(&nonces, nonce);
		if (sl->expires > now)
			ret = FF_EVERIFY;
		else {
			nonces.used += sl->expires == 0;
			snprintf(sl->nonce, sizeof(sl->nonce), "%s", nonce);
			sl->expires = expires;
		}
	}
	pthread_mutex_unlock(&nonce_lock);
	return ret;
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
	int ret = sign_nonce_remember(nonce, now_ms, ts + SIGN_WINDOW_MS + 1);
	if (ret == FF_EVERIFY)
		return ff_error_set(err, FF_EVERIFY, "verify failed: nonce '%s' was already used "
				    "(replayed request)", nonce);
	if (ret)
		return ff_error_set(err, ret, "out of memory remembering the request's nonce");
	return FF_OK;
}
