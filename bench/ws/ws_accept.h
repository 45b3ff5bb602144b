/* The opening handshake's key check for wsload (RFC 6455 4.2.2): SHA-1
 * and base64, written here because the client is test tooling and the
 * library has no use for them on the client side. */
#ifndef WS_ACCEPT_H
#define WS_ACCEPT_H

#include <stddef.h>
#include <stdint.h>

/* Writes 4 * ceil(len / 3) characters and a NUL. */
void ws_base64(const uint8_t *in, size_t len, char *out);

/* The Sec-WebSocket-Accept a Sec-WebSocket-Key of 24 characters calls
 * for: base64(SHA-1(key + the RFC's GUID)), 28 characters and a NUL. */
void ws_accept_for(const char *key, char out[29]);

/* Checks SHA-1 against FIPS 180's examples and the accept key against
 * RFC 6455's; prints what is wrong on stderr; returns 0 when all hold. */
int ws_accept_self_test(void);

#endif
