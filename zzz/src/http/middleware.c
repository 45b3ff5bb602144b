/* The middleware chain: a request's layers (zzz_use prefixes that cover
 * its path, then its route's own), run from the outside in around the
 * handler, each calling the next through zzz_next_run. */
#include "http.h"

#include <errno.h>
#include <string.h>

struct zzz_next {
    zzz_req *req;
    zzz_res *res;
    const router_layer *outer; /* the prefix layers, tested per request */
    unsigned outer_count;
    const router_layer *inner; /* the route's, all of them run */
    unsigned inner_count;
    unsigned pos;              /* the next one to consider: outer, then inner */
    bool spent;                /* the rest has run */
    zzz_handler final;
    void *final_user;
};

void zzz_next_run(zzz_next *next)
{
    if (next->spent)
        return;
    const router_layer *layer = NULL;
    while (!layer && next->pos < next->outer_count) {
        const router_layer *l = &next->outer[next->pos++];
        if (zzz_http_prefix_covers(l->prefix, l->prefix_len, next->req->path))
            layer = l;
    }
    if (!layer && next->pos < next->outer_count + next->inner_count)
        layer = &next->inner[next->pos++ - next->outer_count];
    if (layer)
        layer->fn(next->req, next->res, next, layer->user);
    else
        next->final(next->req, next->res, next->final_user);
    /* What ran and left no answer (a handler, or a layer that neither
     * answered nor ran the rest) is answered here: the body's error (400,
     * 408, 413, 503) when the body failed, else 500, so every layer
     * further out sees the answer that leaves. */
    zzz_res *res = next->res;
    if (!res->head_sent && !res->aborted && !res->taken_over)
        zzz_http_res_finish(res);
    /* Whatever ran has run the rest of the chain (or chose not to): a
     * layer further out that calls again gets nothing. */
    next->spent = true;
}

void zzz_http_chain_run(zzz_req *req, zzz_res *res, const router_layer *outer,
                        unsigned outer_count, zzz_handler final, void *final_user)
{
    zzz_next next = {
        .req = req,
        .res = res,
        .outer = outer,
        .outer_count = outer_count,
        .inner = req->match.layers,
        .inner_count = req->match.layer_count,
        .final = final,
        .final_user = final_user,
    };
    zzz_next_run(&next);
}
