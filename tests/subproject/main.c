/* A user's first tardy program: one task that sleeps 10 ms. It prints "ok"
 * and exits 0 when the runtime works. */
#include <tardy.h>

#include <stdio.h>
#include <string.h>

static int slept;

static void sleeper(void *arg)
{
    (void)arg;
    int ret = tardy_sleep(10 * 1000 * 1000);
    if (ret < 0) {
        fprintf(stderr, "tardy_sleep: %s\n", strerror(-ret));
        return;
    }
    slept = 1;
}

static void entry(void *arg)
{
    (void)arg;
    tardy_task task;
    int ret = tardy_spawn(sleeper, NULL, &task);
    if (ret < 0) {
        fprintf(stderr, "tardy_spawn: %s\n", strerror(-ret));
        return;
    }
    ret = tardy_join(task);
    if (ret < 0)
        fprintf(stderr, "tardy_join: %s\n", strerror(-ret));
}

int main(void)
{
    tardy_config config = {.threads = 1};
    int ret = tardy_run(&config, entry, NULL);
    if (ret < 0) {
        fprintf(stderr, "tardy_run: %s\n", strerror(-ret));
        return 1;
    }
    if (!slept) {
        fprintf(stderr, "the task did not finish its sleep\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
