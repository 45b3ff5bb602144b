/* permessage-deflate (RFC 7692) for WebSocket: reading the client's offer,
 * and compressing and inflating one message at a time, with no context
 * kept between messages (we always answer server_no_context_takeover
 * and client_no_context_takeover), through zlib. Built only with zlib
 * (ZZZ_HAVE_ZLIB); without it zzz_ws_deflate_accept declines every
 * offer and the others return -ENOTSUP. */
#ifndef ZZZ_WS_DEFLATE_H
#define ZZZ_WS_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads a Sec-WebSocket-Extensions value (one field's value; call once
 * per field, in order, until it accepts) and decides on the first
 * permessage-deflate offer we can take (RFC 7692 5, 7.1): parameters
 * server_no_context_takeover, client_no_context_takeover,
 * server_max_window_bits (8..15), client_max_window_bits (no value, or
 * 8..15); an offer with an unknown parameter, a repeated one, or a bad
 * value is skipped (the next may do). On acceptance writes the response
 * value, NUL-terminated, into out (outcap bytes; 128 is always enough):
 * "permessage-deflate; server_no_context_takeover;
 * client_no_context_takeover", plus "; server_max_window_bits=N" when
 * the client's offer had server_max_window_bits=N (even N = 15: a
 * client that asks for a limit may require to hear it back, 7.1.2.1),
 * and returns true with *window_bits set to the window our compressor
 * may use (8..15). Extension and parameter names are matched without
 * regard to case; values may be quoted (RFC 6455 9.1), window sizes are
 * digits without a leading zero (RFC 7692 7.1.2). zlib's raw
 * deflate cannot compress within a window of 8 (it uses 9), so with
 * server_max_window_bits=8 the offer is taken and our messages go
 * uncompressed (RSV1 clear), which the extension allows; the client's
 * still inflate. We inflate with a window of
 * 15, which reads whatever window the client uses, so
 * client_max_window_bits is accepted and not answered. false: no offer
 * taken (out untouched). Without zlib, always false. */
bool zzz_ws_deflate_accept(const char *value, size_t value_len, char *out, size_t outcap,
                           int *window_bits);

/* One thread's compressor and decompressor, reset for every message:
 * allocate once per thread (zlib's state, about 300 KiB for deflate,
 * 40 KiB for inflate, allocated on first use), never per connection. */
typedef struct zzz_ws_zlib zzz_ws_zlib;

/* 0 with *out, or -ENOMEM. Without zlib it still makes one (so a
 * thread's set-up is the same), with which the calls below return
 * -ENOTSUP. */
int zzz_ws_zlib_create(zzz_ws_zlib **out);
void zzz_ws_zlib_destroy(zzz_ws_zlib *z);

/* Inflates one whole message's payload (the frames' payloads joined,
 * without the 00 00 ff ff tail the sender dropped: added here) into a
 * buffer of its own growing up to max bytes (malloc/realloc: *out must
 * be freed by the caller). Returns 0 with *out, *out_len; -EMSGSIZE when
 * the result would pass max (a compression bomb stops there, having
 * produced at most max bytes); -EBADMSG for data that is not a valid
 * raw deflate stream, or one cut short: with the tail added the data
 * must end on a block boundary (after the tail's empty stored block, or
 * after a block with BFINAL set, which a sender may use instead of a
 * sync flush; bytes after a final block are read on as deflate data
 * under the same rule, as the RFC's example of BFINAL needs; no bytes
 * at all are an empty message); -ENOMEM. On error *out and *out_len are
 * untouched. */
int zzz_ws_inflate(zzz_ws_zlib *z, const uint8_t *in, size_t in_len, size_t max, uint8_t **out,
                   size_t *out_len);

/* Compresses one whole message for a frame's payload (raw deflate with
 * window_bits, the final 00 00 ff ff removed, RFC 7692 7.2.1) into a
 * malloc'd buffer the caller frees (an empty message gives the single
 * byte 00). Returns 0 with *out, *out_len; -EINVAL for
 * window_bits outside 9..15; -ENOMEM. */
int zzz_ws_deflate(zzz_ws_zlib *z, int window_bits, const uint8_t *in, size_t in_len, uint8_t **out,
                   size_t *out_len);

#endif /* ZZZ_WS_DEFLATE_H */
