/* Per-request memory: blocks a thread keeps between requests, handed out
 * by bumping a pointer and given back whole when the request ends, and
 * the values a request's chain hands along (zzz_req_set). */
#include "http.h"

#include <errno.h>
#include <stdlib.h>

/* A block's usable bytes: most requests need a few small values, and a
 * page's worth keeps a warm thread's blocks few. */
#define BLOCK_DATA (4096 - sizeof(http_block))
/* Blocks a thread keeps for reuse; more are freed at a request's end. */
#define BLOCKS_KEPT 64u

static size_t align_up(size_t n)
{
    size_t a = _Alignof(max_align_t);
    return (n + a - 1) & ~(a - 1);
}

/* A block of at least `size` bytes: a kept one when it is of the usual
 * size, else a new one. */
static http_block *block_take(http_thread *t, size_t size)
{
    if (size <= BLOCK_DATA && t->blocks) {
        http_block *b = t->blocks;
        t->blocks = b->next;
        t->block_count--;
        return b;
    }
    if (size < BLOCK_DATA)
        size = BLOCK_DATA;
    http_block *b = malloc(sizeof *b + size);
    if (b)
        b->size = size;
    return b;
}

/* The limit counts what is given out (each size, and the limit, rounded
 * up to the alignment): a block's unused tail is not held against the request, so
 * a request holds at most about twice its limit, plus a block. */
void *zzz_alloc(zzz_req *req, size_t n)
{
    /* The limit is at most ZZZ_HTTP_REQUEST_MEMORY_MAX (far from
     * SIZE_MAX), so neither the rounding nor a block's size can wrap;
     * memory_taken never passes the rounded limit. */
    size_t limit = align_up(req->config->request_memory);
    if (n == 0 || n > limit - req->memory_taken)
        return NULL;
    size_t need = align_up(n);
    if (need > limit - req->memory_taken)
        return NULL;
    void *p;
    if (req->blocks && req->blocks->size - req->block_used >= need) {
        p = req->blocks->data + req->block_used;
        req->block_used += need;
    } else {
        http_block *b = block_take(http_thread_of(req->conn), need);
        if (!b)
            return NULL;
        p = b->data;
        if (need > BLOCK_DATA && req->blocks) {
            /* A big one goes behind the current block, which keeps
             * serving the small ones. */
            b->next = req->blocks->next;
            req->blocks->next = b;
        } else {
            b->next = req->blocks;
            req->blocks = b;
            req->block_used = need;
        }
    }
    req->memory_taken += need;
    return p;
}

void zzz_http_req_memory_release(zzz_req *req)
{
    http_thread *t = http_thread_of(req->conn);
    for (http_block *b = req->blocks, *next; b; b = next) {
        next = b->next;
        if (b->size == BLOCK_DATA && t->block_count < BLOCKS_KEPT) {
            b->next = t->blocks;
            t->blocks = b;
            t->block_count++;
        } else {
            free(b);
        }
    }
    req->blocks = NULL;
    req->block_used = req->memory_taken = 0;
    req->values = NULL;
}

void zzz_http_blocks_free(http_thread *t)
{
    for (http_block *b = t->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    t->blocks = NULL;
    t->block_count = 0;
}

int zzz_req_set(zzz_req *req, const void *key, void *value)
{
    if (!key)
        return -EINVAL;
    for (http_value *v = req->values; v; v = v->next) {
        if (v->key == key) {
            v->value = value;
            return 0;
        }
    }
    http_value *v = zzz_alloc(req, sizeof *v);
    if (!v)
        return -ENOMEM;
    *v = (http_value){.next = req->values, .key = key, .value = value};
    req->values = v;
    return 0;
}

void *zzz_req_get(const zzz_req *req, const void *key)
{
    for (const http_value *v = req->values; v; v = v->next)
        if (v->key == key)
            return v->value;
    return NULL;
}
