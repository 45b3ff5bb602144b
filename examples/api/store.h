/* The api example's todo store: bounded, shared by every server thread
 * behind one mutex, all of its memory taken when it is created. */
#ifndef API_STORE_H
#define API_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ids are handed out from 1 upwards and never reused; they stay within
 * what a JSON integer of jansson's holds. */
#define STORE_ID_MAX ((uint64_t)INT64_MAX)

typedef struct store store;

/* A todo as the store hands it out: title points at the store's copy (in
 * store_list's callback) or the caller's buffer (store_get). */
typedef struct todo {
    uint64_t id;
    bool done;
    const char *title;
    size_t title_len;
} todo;

/* Creates a store of at most max_todos todos whose titles hold at most
 * max_title bytes each; the memory for all of them is taken now (the
 * kernel commits it as it is written). Returns 0 and sets *out; -EINVAL
 * for a zero limit; -ENOMEM. */
int store_create(store **out, size_t max_todos, size_t max_title);
void store_destroy(store *s);

size_t store_max_title(const store *s);

/* None of the calls below waits for anything but the store's mutex, and
 * none holds it across a wait: they may be called from any number of
 * tasks on any number of threads. */

/* Adds a todo (title: title_len bytes, at most max_title). Returns its
 * id (> 0); -E2BIG for a title that is too long; -ENOSPC when the store
 * holds max_todos todos (or every id is spent). */
int64_t store_add(store *s, const char *title, size_t title_len, bool done);

/* Copies the todo `id` into *out, its title into buf (max_title bytes).
 * Returns 0; -ENOENT when there is no such todo. */
int store_get(store *s, uint64_t id, todo *out, char *buf);

/* Replaces the title and state of todo `id`. Returns 0; -E2BIG; -ENOENT. */
int store_replace(store *s, uint64_t id, const char *title, size_t title_len, bool done);

/* Removes todo `id`. Returns 0; -ENOENT. */
int store_remove(store *s, uint64_t id);

/* Calls fn for each todo whose id is above after_id, in increasing id
 * order, until fn returns false. fn runs with the mutex held: it must
 * not wait (no I/O, no zzz_res_* call that could send), and its todo is
 * valid only during the call. Returns the id of the last todo fn took
 * (returned true for), or after_id when it took none; the next call
 * resumes from there. */
uint64_t store_list(store *s, uint64_t after_id, bool (*fn)(const todo *t, void *arg), void *arg);

#endif /* API_STORE_H */
