/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sign.h - Ed25519 signatures on site-to-site requests.
 *
 * Every request one site sends another (partner and scheduler commands,
 * gateway messages) carries four headers:
 *   X-Fedflow-Party      the sender's party id
 *   X-Fedflow-Timestamp  epoch milliseconds
 *   X-Fedflow-Nonce      32 random hex characters
 *   X-Fedflow-Signature  base64 Ed25519 signature over the canonical text
 * canonical text = METHOD "\n" PATH "\n" QUERY "\n" TIMESTAMP "\n" NONCE
 *                  "\n" hex(SHA-256(body))
 * The receiver checks the sender's key from its route table, a +-60 s
 * window (FF_EEXPIRED otherwise) and that the nonce was not seen in the
 * window (FF_EVERIFY otherwise); a bad signature is FF_EVERIFY.
 * Thread-safe (the nonce cache is locked).
 */
#ifndef FF_SIGN_H
#define FF_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define SIGN_WINDOW_MS 60000
#define SIGN_B64_KEY 64
#define SIGN_B64_SIG 100

struct sign_key {
	unsigned char pk[32];
	unsigned char sk[64];
	char pk_b64[SIGN_B64_KEY];
};

/* libsodium init; call once from main. */
int sign_global_init(void);

/* Loads <home>/site.key, or makes a new key pair and writes site.key (0600)
 * and site.pub. */
int sign_key_load_or_create(const char *home, struct sign_key *k, struct ff_error *err);

struct sign_headers {
	char party[64];
	char timestamp[24];
	char nonce[40];
	char signature[SIGN_B64_SIG];
};

/* SHA-256 of a body in memory (streamed bodies use sign_sha256_*). */
void sign_sha256(const void *data, size_t len, unsigned char out[32]);
struct sign_sha256_state {
	unsigned char opaque[128] __attribute__((aligned(16)));
};
void sign_sha256_init(struct sign_sha256_state *st);
void sign_sha256_update(struct sign_sha256_state *st, const void *data, size_t len);
void sign_sha256_final(struct sign_sha256_state *st, unsigned char out[32]);

/* Fills h for a request from party_id with a fresh timestamp and nonce. */
int sign_request(const struct sign_key *k, const char *party_id, const char *method,
		 const char *path, const char *query, const unsigned char body_sha[32],
		 struct sign_headers *h);

/*
 * Remembers a nonce until expires (ms); FF_EVERIFY when it is already
 * remembered and not expired. sign_verify uses it; exposed for tests.
 */
int sign_nonce_remember(const char *nonce, int64_t now, int64_t expires);

/*
 * Verifies a received request against the sender's base64 public key.
 * now_ms is the receiver's clock. On success the nonce is remembered.
 */
int sign_verify(const char *public_key_b64, const char *method, const char *path,
		const char *query, const char *timestamp, const char *nonce,
		const char *signature_b64, const unsigned char body_sha[32], int64_t now_ms,
		struct ff_error *err);

/* base64 of a 32-byte key is valid. */
int sign_key_check(const char *b64, struct ff_error *err);

#endif
