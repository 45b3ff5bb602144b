/* Task stacks: deep recursion within stack_size, stacks of tasks that are
 * parked at the same time stay intact, and pooled stacks are reused. */
#include "common.h"

TestSuite(stack, .timeout = 60);

#define FRAME 4096

/* Fills a 4 KiB frame with a pattern of (tag, depth), recurses, yields at the
 * bottom when asked (so other tasks run on their own stacks meanwhile), and
 * checks the pattern on the way back. Returns the number of bad bytes. */
__attribute__((noinline)) static long deep(int depth, int tag, int yield_at_bottom)
{
    volatile unsigned char frame[FRAME];
    unsigned char pat = (unsigned char)(tag * 31 + depth * 7 + 1);
    for (int i = FRAME - 1; i >= 0; i--)
        frame[i] = (unsigned char)(pat + i);
    long bad = 0;
    if (depth > 1) {
        bad += deep(depth - 1, tag, yield_at_bottom);
    } else if (yield_at_bottom) {
        for (int k = 0; k < 3; k++)
            TT_CHECK_EQ(tardy_yield(), 0);
    }
    for (int i = 0; i < FRAME; i++)
        if (frame[i] != (unsigned char)(pat + i))
            bad++;
    return bad;
}

struct deep_state {
    long bad;
    int done;
};

static void deep_task(void *arg)
{
    struct deep_state *d = arg;
    /* 32 frames of 4 KiB: about 128 KiB of a 256 KiB stack. */
    d->bad += deep(32, 1, 0);
    d->done++;
}

Test(stack, deep_recursion_within_stack_size)
{
    struct deep_state d = {0};
    tardy_config cfg = {.threads = 1, .stack_size = 256 * 1024};
    TT_RUN(&cfg, deep_task, &d);
    TT_EXPECT_EQ(d.done, 1);
    TT_EXPECT_EQ(d.bad, 0);
}

#define PARKED_TASKS 8

struct parked_state {
    int tags[PARKED_TASKS];
    long bad;
    int done;
};

static struct parked_state *parked;

static void parked_task(void *arg)
{
    int tag = *(int *)arg;
    parked->bad += deep(24, tag, 1);
    parked->done++;
}

static void parked_entry(void *arg)
{
    struct parked_state *p = arg;
    for (int i = 0; i < PARKED_TASKS; i++) {
        p->tags[i] = i + 2;
        TT_CHECK_EQ(tardy_spawn(parked_task, &p->tags[i], NULL), 0);
    }
    /* The entry recurses too, while the others sit at their bottoms. */
    TT_CHECK_EQ(tardy_yield(), 0);
    p->bad += deep(24, 99, 1);
}

Test(stack, stacks_of_parked_tasks_stay_intact)
{
    struct parked_state p = {0};
    parked = &p;
    tardy_config cfg = {.threads = 1, .stack_size = 256 * 1024};
    TT_RUN(&cfg, parked_entry, &p);
    TT_EXPECT_EQ(p.done, PARKED_TASKS);
    TT_EXPECT_EQ(p.bad, 0);
}

static int reuse_done;
static long reuse_bad;

static void reuse_task(void *arg)
{
    int tag = *(int *)arg;
    /* 16 KiB of a default (64 KiB) stack. */
    reuse_bad += deep(4, tag, 1);
    reuse_done++;
}

static void reuse_entry(void *arg)
{
    (void)arg;
    int tags[10];
    tardy_task t[10];
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 10; i++) {
            tags[i] = round + i;
            TT_CHECK_EQ(tardy_spawn(reuse_task, &tags[i], &t[i]), 0);
        }
        for (int i = 0; i < 10; i++)
            TT_CHECK_EQ(tardy_join(t[i]), 0);
    }
}

Test(stack, pooled_stacks_are_reused)
{
    tardy_config cfg = {.threads = 1, .max_tasks = 16};
    TT_RUN(&cfg, reuse_entry, NULL);
    TT_EXPECT_EQ(reuse_done, 1000);
    TT_EXPECT_EQ(reuse_bad, 0);
}

/* A stack size that is not a page multiple is rounded up, never down. */
static void odd_size_task(void *arg)
{
    struct deep_state *d = arg;
    /* 18 frames of 4 KiB: about 72 KiB of the 100,000 bytes asked for. */
    d->bad += deep(18, 5, 1);
    d->done++;
}

Test(stack, odd_stack_size_is_rounded_up)
{
    struct deep_state d = {0};
    tardy_config cfg = {.threads = 1, .stack_size = 100000};
    TT_RUN(&cfg, odd_size_task, &d);
    TT_EXPECT_EQ(d.done, 1);
    TT_EXPECT_EQ(d.bad, 0);
}

/* The default stack (64 KiB) holds 40 KiB of frames. */
static void default_size_task(void *arg)
{
    struct deep_state *d = arg;
    d->bad += deep(10, 6, 1);
    d->done++;
}

Test(stack, default_stack_size_is_usable)
{
    struct deep_state d = {0};
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, default_size_task, &d);
    TT_EXPECT_EQ(d.done, 1);
    TT_EXPECT_EQ(d.bad, 0);
}

/* A task takes its stack when it first runs, the last one given back on
 * top: tasks started together that each run to their end one after the
 * other all run on one stack (a turn's burst of launches touches one
 * stack, not one each), while tasks alive at the same time never share
 * one. Told apart by the address of a local at the same depth. */
#define BURST 32

struct burst {
    uintptr_t at[BURST];
    int ran;
    int parked_ran;
    uintptr_t parked_at[8];
};

/* The frame's own address: a local's could be on AddressSanitizer's
 * fake stack (detect_stack_use_after_return). */
__attribute__((noinline)) static uintptr_t frame_address(void)
{
    return (uintptr_t)__builtin_frame_address(0);
}

static void burst_task(void *arg)
{
    struct burst *b = arg;
    b->at[b->ran++] = frame_address();
}

static void alive_task(void *arg)
{
    struct burst *b = arg;
    int i = b->parked_ran++;
    b->parked_at[i] = frame_address();
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0); /* all eight alive at once */
    TT_CHECK_EQ(frame_address(), b->parked_at[i]);
}

static void burst_entry(void *arg)
{
    struct burst *b = arg;
    for (int i = 0; i < BURST; i++)
        TT_CHECK_EQ(tardy_spawn(burst_task, b, NULL), 0);
    /* The burst runs once this task parks. */
    TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
    tardy_task t[8];
    for (int i = 0; i < 8; i++)
        TT_CHECK_EQ(tardy_spawn(alive_task, b, &t[i]), 0);
    for (int i = 0; i < 8; i++)
        TT_CHECK_EQ(tardy_join(t[i]), 0);
}

Test(stack, tasks_that_run_one_after_another_share_a_stack)
{
    struct burst b = {0};
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, burst_entry, &b);
    TT_EXPECT_EQ(b.ran, BURST);
    for (int i = 1; i < BURST; i++)
        cr_expect_eq(b.at[i], b.at[0], "task %d ran on another stack", i);
    TT_EXPECT_EQ(b.parked_ran, 8);
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++)
            cr_expect_neq(b.parked_at[i], b.parked_at[j], "tasks %d and %d shared a stack", i, j);
}

/* A burst of launches beyond the spare stacks maps new ones, but the
 * tasks, run one after another, still take the warm stack given back
 * last, not a fresh one each time more are mapped: a burst costs the
 * stacks of the tasks alive at once, not one page per stack mapped. */
struct warm {
    uintptr_t at[BURST + 1]; /* [0]: the task that warms the stack */
    int ran;
};

/* One function for all, so that its frame sits at the same depth. */
static void warm_task(void *arg)
{
    struct warm *w = arg;
    w->at[w->ran++] = frame_address();
}

static void warm_entry(void *arg)
{
    struct warm *w = arg;
    tardy_task t;
    TT_CHECK_EQ(tardy_spawn(warm_task, w, &t), 0);
    TT_CHECK_EQ(tardy_join(t), 0);
    for (int i = 0; i < BURST; i++)
        TT_CHECK_EQ(tardy_spawn(warm_task, w, NULL), 0);
    TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
}

Test(stack, a_burst_beyond_the_spares_runs_on_the_warm_stack)
{
    struct warm w = {0};
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, warm_entry, &w);
    TT_EXPECT_EQ(w.ran, BURST + 1);
    for (int i = 1; i <= BURST; i++)
        cr_expect_eq(w.at[i], w.at[0], "task %d of the burst ran on a fresh stack", i);
}
