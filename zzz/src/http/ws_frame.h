/* WebSocket frames (RFC 6455 5.2) and the UTF-8 check text needs: pure
 * functions over bytes, no I/O, shared by ws.c, the tests and the fuzz
 * target. */
#ifndef ZZZ_WS_FRAME_H
#define ZZZ_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    ZZZ_WS_OP_CONT = 0x0,
    ZZZ_WS_OP_TEXT = 0x1,
    ZZZ_WS_OP_BINARY = 0x2,
    ZZZ_WS_OP_CLOSE = 0x8,
    ZZZ_WS_OP_PING = 0x9,
    ZZZ_WS_OP_PONG = 0xA,
};

/* The longest frame head: 2 bytes, 8 of extended length, 4 of mask. */
#define ZZZ_WS_HEAD_MAX 14

typedef struct zzz_ws_frame {
    bool fin;
    uint8_t rsv;     /* RSV1..RSV3 as bits 0x4, 0x2, 0x1 */
    uint8_t opcode;  /* 0x0..0xF as sent */
    bool masked;
    uint8_t mask[4];
    uint64_t len;    /* payload bytes */
    size_t head_len; /* bytes of the head, payload starts there */
} zzz_ws_frame;

/* Parses a frame head from the len bytes at buf. Returns 1 with *f
 * filled when the whole head is there; 0 when more bytes are needed (*f
 * undefined); -1 when the head can never be valid: a 64-bit length with
 * its top bit set, or a length not in its shortest form (126 for fewer
 * than 126 bytes, 127 for fewer than 65536), said as soon as the length
 * bytes are in, before the mask's. It does not judge opcodes, bits or
 * masks: zzz_ws_frame_check does. */
int zzz_ws_frame_parse(const uint8_t *buf, size_t len, zzz_ws_frame *f);

/* What a server must refuse in a client's frame, given whether a
 * fragmented data message is in progress (in_message) and whether
 * permessage-deflate was agreed (deflate, which makes RSV1 legal on the
 * first frame of a data message). Returns 0 when the frame is acceptable,
 * else the close code to send: 1002 for an unmasked frame, reserved bits
 * set (RSV1 without deflate, on a continuation or on a control frame;
 * RSV2, RSV3 always), a reserved opcode (3-7, 0xB-0xF), a control frame
 * with fin clear or a payload over 125 bytes, a continuation with no
 * message in progress, or a text/binary frame inside one. */
uint16_t zzz_ws_frame_check(const zzz_ws_frame *f, bool in_message, bool deflate);

/* XORs len bytes at data with the mask, as if data began at byte offset
 * `offset` of the payload (so a payload can be unmasked in pieces). Fast:
 * works a word at a time. */
void zzz_ws_unmask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset);

/* Writes the head of an unmasked server frame to out (at most 10 bytes)
 * and returns its length. rsv as in zzz_ws_frame. */
size_t zzz_ws_frame_head(uint8_t out[10], bool fin, uint8_t rsv, uint8_t opcode, uint64_t len);

/* True for a close code a peer may send (RFC 6455 7.4): 1000-1003,
 * 1007-1014, 3000-4999. (1004-1006, 1015 and the rest of 0-2999 are
 * reserved or must not go on the wire.) */
bool zzz_ws_close_code_ok(uint16_t code);

/* An incremental UTF-8 check (RFC 3629: no overlong forms, no surrogates,
 * nothing past U+10FFFF), fed in pieces that may split a sequence. */
typedef struct zzz_utf8 {
    uint32_t state; /* 0: between sequences; zero it to start */
} zzz_utf8;

/* Feeds n bytes. Returns false as soon as they cannot be UTF-8 (the
 * state is then stuck in error); true while they can still be. */
bool zzz_utf8_feed(zzz_utf8 *u, const uint8_t *p, size_t n);
/* True when the bytes fed so far end between sequences (a complete,
 * valid text). */
bool zzz_utf8_complete(const zzz_utf8 *u);
/* The whole check over one buffer. */
bool zzz_utf8_valid(const uint8_t *p, size_t n);

#endif /* ZZZ_WS_FRAME_H */
