/* A driver of one's own, plugged in through tardy_config.custom_driver: a
 * thin wrapper over the busy-loop driver that counts its calls; and the
 * checks tardy_run makes of a driver table before it trusts one. */
#include "common.h"

#include "driver.h"

TestSuite(custom_driver, .timeout = 60);

static atomic_int inits, finis, submits, cancels, polls, wakes;

static int counting_init(void **state, const tardy_driver_params *params)
{
    atomic_fetch_add(&inits, 1);
    return tardy_driver_busy.init(state, params);
}

static void counting_fini(void *state)
{
    atomic_fetch_add(&finis, 1);
    tardy_driver_busy.fini(state);
}

static int64_t counting_submit(void *state, tardy_op *op)
{
    atomic_fetch_add(&submits, 1);
    return tardy_driver_busy.submit(state, op);
}

static void counting_cancel(void *state, tardy_op *op)
{
    atomic_fetch_add(&cancels, 1);
    tardy_driver_busy.cancel(state, op);
}

static int counting_poll(void *state, int64_t timeout_ns)
{
    atomic_fetch_add(&polls, 1);
    return tardy_driver_busy.poll(state, timeout_ns);
}

static void counting_wake(void *state)
{
    atomic_fetch_add(&wakes, 1);
    tardy_driver_busy.wake(state);
}

static struct tardy_driver_ops counting_driver = {
    .api_version = TARDY_DRIVER_API_VERSION,
    .name = "counting",
    .init = counting_init,
    .fini = counting_fini,
    .submit = counting_submit,
    .cancel = counting_cancel,
    .poll = counting_poll,
    .wake = counting_wake,
};

struct cd_state {
    int sv[2];
    char name[32];
    ssize_t got;
    char buf[16];
    ssize_t timed_out;
};

static void cd_writer(void *arg)
{
    struct cd_state *c = arg;
    TT_CHECK_EQ(tardy_sleep(10 * TT_MS), 0);
    TT_CHECK_EQ(tardy_send(c->sv[1], "ping", 4, 0), 4);
}

static void cd_entry(void *arg)
{
    struct cd_state *c = arg;
    const char *n = tardy_driver_name();
    snprintf(c->name, sizeof c->name, "%s", n ? n : "(null)");
    TT_CHECK_EQ(tardy_spawn(cd_writer, c, NULL), 0);
    /* Parks in the driver until the writer's bytes arrive. */
    c->got = tardy_recv(c->sv[0], c->buf, sizeof c->buf, 0);
    /* A deadline on a parked op goes through the driver's cancel. */
    tardy_deadline_after(20 * TT_MS);
    c->timed_out = tardy_recv(c->sv[0], c->buf + 8, 4, 0);
    tardy_deadline_clear();
}

Test(custom_driver, is_used_and_overrides_tardy_driver_env)
{
    counting_driver.flags = tardy_driver_busy.flags;
    struct cd_state c = {0};
    tt_socketpair(c.sv);
    /* TARDY_DRIVER may be set by meson; the custom driver still wins. */
    tardy_config cfg = {.threads = 1, .custom_driver = &counting_driver,
                        .driver = TARDY_DRIVER_EPOLL};
    TT_RUN(&cfg, cd_entry, &c);
    cr_expect_str_eq(c.name, "counting");
    TT_EXPECT_EQ(c.got, 4);
    cr_expect(memcmp(c.buf, "ping", 4) == 0);
    TT_EXPECT_EQ(c.timed_out, -ETIMEDOUT);
    TT_EXPECT_EQ(atomic_load(&inits), 1);
    TT_EXPECT_EQ(atomic_load(&finis), 1);
    cr_expect_gt(atomic_load(&submits), 0);
    cr_expect_gt(atomic_load(&polls), 0);
    close(c.sv[0]);
    close(c.sv[1]);
}

/* One instance per runtime, and cross-runtime wake-ups still work. */
struct cd_multi {
    tardy_chan *ch;
    atomic_int names_ok;
    uint64_t sum;
};

static void cd_multi_entry(void *arg)
{
    struct cd_multi *m = arg;
    const char *n = tardy_driver_name();
    if (n && strcmp(n, "counting") == 0)
        atomic_fetch_add(&m->names_ok, 1);
    if (tt_rt_index() == 0) {
        for (uint64_t i = 1; i <= 1000; i++)
            TT_CHECK_EQ(tardy_chan_send(m->ch, &i), 0);
        tardy_chan_close(m->ch);
    } else {
        uint64_t v;
        while (tardy_chan_recv(m->ch, &v) == 0)
            m->sum += v;
    }
}

Test(custom_driver, one_instance_per_runtime)
{
    counting_driver.flags = tardy_driver_busy.flags;
    struct cd_multi m = {0};
    cr_assert_eq(tardy_chan_create(&m.ch, sizeof(uint64_t), 8), 0);
    tardy_config cfg = {.threads = 2, .custom_driver = &counting_driver};
    TT_RUN(&cfg, cd_multi_entry, &m);
    TT_EXPECT_EQ(atomic_load(&m.names_ok), 2);
    TT_EXPECT_EQ(m.sum, 1000ull * 1001 / 2);
    TT_EXPECT_EQ(atomic_load(&inits), 2);
    TT_EXPECT_EQ(atomic_load(&finis), 2);
    tardy_chan_destroy(m.ch);
}

static void cd_never_runs(void *arg)
{
    atomic_int *ran = arg;
    atomic_store(ran, 1);
}

/* A driver built against another tardy_driver.h is refused before any
 * thread starts: nothing runs and its init is never called. */
Test(custom_driver, other_api_version_is_refused)
{
    static const unsigned versions[] = {0, TARDY_DRIVER_API_VERSION + 1, ~0u};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        struct tardy_driver_ops other = counting_driver;
        other.api_version = versions[i];
        atomic_int ran = 0;
        tardy_config cfg = {.threads = 2, .custom_driver = &other};
        TT_EXPECT_EQ(tardy_run(&cfg, cd_never_runs, &ran), -EPROTO);
        TT_EXPECT_EQ(atomic_load(&ran), 0);
    }
    TT_EXPECT_EQ(atomic_load(&inits), 0);
}

/* A table without a name or a required function, or with a flag it cannot
 * honour, is refused too. */
Test(custom_driver, incomplete_table_is_refused)
{
    for (int hole = 0; hole < 9; hole++) {
        struct tardy_driver_ops bad = counting_driver;
        switch (hole) {
        case 0:
            bad.name = NULL;
            break;
        case 1:
            bad.init = NULL;
            break;
        case 2:
            bad.fini = NULL;
            break;
        case 3:
            bad.submit = NULL;
            break;
        case 4:
            bad.cancel = NULL;
            break;
        case 5:
            bad.poll = NULL;
            break;
        case 6:
            bad.wake = NULL;
            break;
        case 7:
            /* Streams need give_back, which the table lacks. */
            bad.flags = TARDY_DRIVER_RECV_STREAM;
            break;
        default:
            bad.flags = 0x80000000u; /* a flag this version does not know */
            break;
        }
        atomic_int ran = 0;
        tardy_config cfg = {.threads = 1, .custom_driver = &bad};
        int r = tardy_run(&cfg, cd_never_runs, &ran);
        cr_expect_eq(r, -EINVAL, "hole %d: tardy_run returned %d", hole, r);
        TT_EXPECT_EQ(atomic_load(&ran), 0);
    }
    TT_EXPECT_EQ(atomic_load(&inits), 0);
}
