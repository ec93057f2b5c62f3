// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz-sign.c - libFuzzer harness for the partner-signature checks
 * (src/auth/sign.c): what api_fed.c and api_gateway.c pass sign_verify
 * from a request's X-Fedflow-* headers, method, path, query and body.
 *
 * Input: fields separated by "\n": public key, method, path, query,
 * timestamp, nonce, signature, then the body (the rest, may hold "\n").
 * A public key "K" is the harness's own key; a signature "S" is the
 * correct signature of the other fields made with that key, so inputs get
 * past the signature check into the nonce cache. The receiver's clock is
 * fixed; a timestamp "T" means that clock. Oracles: a correct signature
 * on an in-window request must verify unless its nonce was seen before
 * (and then it must not); the same request with the body changed by one
 * byte must never verify. sign_key_check runs on the key field too.
 */
#include "ff_setup.h"
#include <sodium.h>
#include <stdlib.h>
#include "err.h"
#include "mem.h"
#include "sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1767225600000LL /* 2026-01-01, the receiver's clock */
#define FUZZ_FIELDS 7

static unsigned char fuzz_pk[32], fuzz_sk[64];
static char fuzz_pk_b64[SIGN_B64_KEY];

static void fuzz_init(void)
{
	static bool done;
	if (done)
		return;
	if (sign_global_init())
		abort();
	unsigned char seed[32] = { 1, 2, 3 };
	crypto_sign_seed_keypair(fuzz_pk, fuzz_sk, seed);
	sodium_bin2base64(fuzz_pk_b64, sizeof(fuzz_pk_b64), fuzz_pk, sizeof(fuzz_pk),
			  sodium_base64_VARIANT_ORIGINAL);
	done = true;
}

/* The signature sign_request would make for these fields (base64 in out). */
static void fuzz_sign(char *const *f, const unsigned char sha[32], char out[SIGN_B64_SIG])
{
	char hex[65];
	unsigned char sig[64];
	sodium_bin2hex(hex, sizeof(hex), sha, 32);
	char *text = ff_asprintf("%s\n%s\n%s\n%s\n%s\n%s", f[1], f[2], f[3], f[4], f[5], hex);
	if (!text)
		abort();
	crypto_sign_detached(sig, NULL, (const unsigned char *)text, strlen(text), fuzz_sk);
	ff_free(text);
	sodium_bin2base64(out, SIGN_B64_SIG, sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *f[FUZZ_FIELDS] = { 0 };
	char now_text[24], sig[SIGN_B64_SIG];
	const char *p = (const char *)data, *end = p + size;
	fuzz_init();
	for (int i = 0; i < FUZZ_FIELDS; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			goto out;
		/* headers are C strings: a NUL cuts the field, as in the server */
		if (!(f[i] = ff_strndup(p, (size_t)(nl - p))))
			abort();
		p = nl + 1;
	}
	const unsigned char *body = (const unsigned char *)p;
	size_t body_len = (size_t)(end - p);
	unsigned char sha[32];
	sign_sha256(body, body_len, sha);

	struct ff_error err = FF_ERROR_INIT;
	(void)sign_key_check(f[0], &err);
	const char *pk = strcmp(f[0], "K") ? f[0] : fuzz_pk_b64;
	const char *ts = f[4];
	if (!strcmp(ts, "T")) {
		snprintf(now_text, sizeof(now_text), "%lld", FUZZ_NOW);
		ts = now_text;
	}
	char *fields[FUZZ_FIELDS] = { f[0], f[1], f[2], f[3], (char *)ts, f[5], f[6] };
	bool ours = !strcmp(f[0], "K") && !strcmp(f[6], "S");
	const char *sg = f[6];
	if (ours) {
		fuzz_sign(fields, sha, sig);
		sg = sig;
	}
	int ret = sign_verify(pk, f[1], f[2], f[3], ts, f[5], sg, sha, FUZZ_NOW, &err);
	if (ours && !ret) {
		/* verified: a replay and a changed body must both fail now */
		if (sign_verify(pk, f[1], f[2], f[3], ts, f[5], sg, sha, FUZZ_NOW, NULL) !=
		    FF_EVERIFY)
			__builtin_trap();
		unsigned char sha2[32];
		memcpy(sha2, sha, sizeof(sha2));
		sha2[body_len % 32] ^= 1;
		if (!sign_verify(pk, f[1], f[2], f[3], ts, f[5], sg, sha2, FUZZ_NOW, NULL))
			__builtin_trap();
	}
	if (ours && ret && ret != FF_EEXPIRED && ret != FF_EVERIFY)
		__builtin_trap();
out:
	for (int i = 0; i < FUZZ_FIELDS; i++)
		ff_free(f[i]);
	return 0;
}
