/*
 * check_cleanup.c: the cleanup thread (cleanup.c) with an idle predicate:
 * with nothing to watch it sleeps through its intervals without a sweep,
 * a wake once there is something brings the sweeps back, and a stop
 * wakes it at once. Real time: one-second intervals, margins of seconds.
 */
#include "check_run.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "cleanup.h"

struct watched {
    atomic_bool busy; /* something to watch */
    atomic_int sweeps;
};

static bool
sweep(void *arg)
{
    struct watched *w = arg;

    atomic_fetch_add(&w->sweeps, 1);
    return true;
}

static bool
idle(void *arg)
{
    struct watched *w = arg;

    return !atomic_load(&w->busy);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* A cleanup thread sweeping w every second, idle while w is not busy. */
static struct cleanup *
start(struct watched *w)
{
    struct cleanup *c = cleanup_start_idle(1, sweep, idle, w);

    ck_assert_ptr_nonnull(c);
    return c;
}

/* Whether w's sweeps reach n within ms milliseconds. */
static bool
sweeps_reach(struct watched *w, int n, long ms)
{
    for (long t = 0; t < ms && atomic_load(&w->sweeps) < n; t += 10)
        sleep_ms(10);
    return atomic_load(&w->sweeps) >= n;
}

START_TEST(test_cleanup_idle_sleeps_until_woken)
{
    struct watched w = {false, 0};
    struct cleanup *c = start(&w);

    sleep_ms(2500); /* two and a half intervals */
    ck_assert_int_eq(atomic_load(&w.sweeps), 0);
    atomic_store(&w.busy, true);
    cleanup_wake(c);
    ck_assert(sweeps_reach(&w, 2, 10000)); /* then every interval */
    cleanup_stop(c);
}
END_TEST

START_TEST(test_cleanup_busy_sweeps_every_interval)
{
    struct watched w = {true, 0};
    struct cleanup *c = start(&w);

    ck_assert(sweeps_reach(&w, 2, 10000));
    cleanup_stop(c);
}
END_TEST

/* Stopped while asleep with no deadline: the test's time limit catches a
 * stop that never wakes it. */
START_TEST(test_cleanup_stop_wakes_an_idle_thread)
{
    struct watched w = {false, 0};
    struct cleanup *c = start(&w);

    sleep_ms(100);
    cleanup_stop(c);
    ck_assert_int_eq(atomic_load(&w.sweeps), 0);
}
END_TEST

static Suite *
cleanup_suite(void)
{
    Suite *s = suite_create("cleanup");
    TCase *tc = tcase_create("idle");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_cleanup_idle_sleeps_until_woken);
    tcase_add_test(tc, test_cleanup_busy_sweeps_every_interval);
    tcase_add_test(tc, test_cleanup_stop_wakes_an_idle_thread);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return check_run(cleanup_suite());
}
