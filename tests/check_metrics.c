/*
 * check_metrics.c: the /metrics text (metrics.c) and the /stats and /health
 * documents (http_json.c), rendered against a real store and fake
 * per-worker request counters.
 */
#include "check_run.h"
#include "tc_autoconf.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http_json.h"
#include "lifecycle.h"
#include "metrics.h"
#include "store.h"

#define NWORKERS 3
#define NSHARDS  4

static _Atomic uint64_t fake_ms;
static struct store *st;
static struct reqstats workers[NWORKERS];
static struct config cfg;
static struct http_deps deps;

/* A known sequence: 20 keys set, 10 hits, 5 misses, 3 deletes (one of a
 * missing key), and a value refused as too large. */
static void
setup(void)
{
    struct store_config sc = {.shards = NSHARDS,
                              .max_items = 1000,
                              .max_memory_bytes = 1 << 20,
                              .max_value_bytes = 4096,
                              .cleanup_interval_s = 10};
    struct clock clk = {clock_fake_now, &fake_ms};
    static char big[5000];
    struct buf out;
    char key[32];

    st = store_create(&sc, &clk);
    ck_assert_ptr_nonnull(st);
    buf_init(&out);
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        ck_assert_int_eq(store_set(st, NULL, 0, key, strlen(key), "v", 1, 0),
                         STORE_OK);
    }
    for (int i = 0; i < 15; i++) {
        snprintf(key, sizeof key, "key-%d", i < 10 ? i : 100 + i);
        store_get(st, NULL, 0, key, strlen(key), &out);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "key-%d", i == 2 ? 999 : i);
        store_del(st, NULL, 0, key, strlen(key));
    }
    ck_assert_int_eq(store_set(st, NULL, 0, "big", 3, big, sizeof big, 0),
                     STORE_TOO_LARGE);
    buf_fini(&out);
    memset(workers, 0, sizeof workers);
    reqstats_record(&workers[0], RPC_GET, 0, 30);
    reqstats_record(&workers[1], RPC_GET, 0, 300);
    reqstats_record(&workers[2], RPC_SET, 8, 2000);
    reqstats_record(&workers[2], RPC_GET, 0, 5000000);
    reqstats_active(&workers[0], 2);
    reqstats_active(&workers[1], -1);
    deps = (struct http_deps){.cfg = &cfg,
                              .store = st,
                              .workers = workers,
                              .nworkers = NWORKERS,
                              .grpc_port = 50051,
                              .start_mono_s = clock_mono_s() - 5,
                              .start_wall_s = clock_wall_s() - 5};
}

static void
teardown(void)
{
    store_destroy(st);
    st = NULL;
}

/* The value of the sample line that starts with "series " (name and labels
 * exactly as rendered); NAN when absent. */
static double
sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return NAN;
}

static char *
render(void)
{
    char *text = metrics_render(&deps);

    ck_assert_ptr_nonnull(text);
    return text;
}

/* The family a sample belongs to: its name without labels, and without the
 * _bucket/_sum/_count suffix when that family is a histogram. */
static void
family_of(const char *line, const char *histos, char *out, size_t outlen)
{
    size_t n = strcspn(line, "{ ");
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    char probe[256];

    snprintf(out, outlen, "%.*s", (int)n, line);
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(sfx[i]), ol = strlen(out);

        if (ol > sl && strcmp(out + ol - sl, sfx[i]) == 0) {
            snprintf(probe, sizeof probe, "\n%.*s\n", (int)(ol - sl), out);
            if (strstr(histos, probe) != NULL)
                out[ol - sl] = '\0';
        }
    }
}

START_TEST(test_metrics_every_sample_has_help_and_type)
{
    char *text = render(), *save = NULL, *line;
    char helps[16384] = "\n", types[16384] = "\n", histos[4096] = "\n";
    char fam[256], probe[300];
    int samples = 0;

    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char name[256], type[32];

        if (sscanf(line, "# HELP %255s", name) == 1) {
            snprintf(probe, sizeof probe, "\n%s\n", name);
            ck_assert_msg(strstr(helps, probe) == NULL, "two HELP: %s", name);
            strcat(strcat(helps, name), "\n");
        } else if (sscanf(line, "# TYPE %255s %31s", name, type) == 2) {
            snprintf(probe, sizeof probe, "\n%s\n", name);
            ck_assert_msg(strstr(helps, probe) != NULL, "TYPE before HELP");
            ck_assert_msg(strstr(types, probe) == NULL, "two TYPE: %s", name);
            strcat(strcat(types, name), "\n");
            if (strcmp(type, "histogram") == 0)
                strcat(strcat(histos, name), "\n");
            if (strcmp(type, "counter") == 0)
                ck_assert_msg(strstr(name, "_total") != NULL, "%s", name);
        } else {
            family_of(line, histos, fam, sizeof fam);
            snprintf(probe, sizeof probe, "\n%s\n", fam);
            ck_assert_msg(strstr(types, probe) != NULL, "no TYPE: %s", line);
            samples++;
        }
    }
    ck_assert_int_gt(samples, 100);
    free(text);
}
END_TEST

START_TEST(test_metrics_totals_equal_sum_of_shards)
{
    char *text = render(), series[128];
    double sum;

#define CHECK_COUNTER(name)                                                    \
    sum = 0;                                                                   \
    for (int i = 0; i < NSHARDS; i++) {                                        \
        snprintf(series, sizeof series,                                        \
                 "tiny_cache_shard_" #name "_total{shard=\"%d\"}", i);         \
        sum += sample(text, series);                                           \
    }                                                                          \
    ck_assert_double_eq(sum, sample(text, "tiny_cache_" #name "_total"));
    SHARD_COUNTERS(CHECK_COUNTER)
#undef CHECK_COUNTER
    sum = 0;
    for (int i = 0; i < NSHARDS; i++) {
        snprintf(series, sizeof series,
                 "tiny_cache_shard_entries{shard=\"%d\"}", i);
        sum += sample(text, series);
    }
    ck_assert_double_eq(sum, 18);
    ck_assert_double_eq(sample(text, "tiny_cache_entries"), 18);
    free(text);
}
END_TEST

START_TEST(test_metrics_known_sequence_counts)
{
    char *text = render();

    ck_assert_double_eq(sample(text, "tiny_cache_hits_total"), 10);
    ck_assert_double_eq(sample(text, "tiny_cache_misses_total"), 5);
    ck_assert_double_eq(sample(text, "tiny_cache_sets_total"), 21);
    ck_assert_double_eq(sample(text, "tiny_cache_deletes_total"), 3);
    ck_assert_double_eq(sample(text, "tiny_cache_rejected_oversize_total"), 1);
    ck_assert_double_eq(sample(text, "tiny_cache_evictions_total"), 0);
    ck_assert_double_eq(sample(text, "tiny_cache_max_items"), 1000);
    ck_assert_double_eq(sample(text, "tiny_cache_max_memory_bytes"), 1 << 20);
    ck_assert_double_eq_tol(sample(text, "tiny_cache_hit_rate"), 10.0 / 15,
                            1e-6);
    ck_assert_double_gt(sample(text, "tiny_cache_memory_usage_bytes"), 18 * 7);
    ck_assert_double_eq(
        sample(text, "tiny_cache_build_info{version=\"" PACKAGE_VERSION "\"}"),
        1);
    free(text);
}
END_TEST

START_TEST(test_metrics_requests_summed_over_workers)
{
    char *text = render();

    ck_assert_double_eq(
        sample(text,
               "tiny_cache_grpc_requests_total{method=\"Get\",code=\"OK\"}"),
        3);
    ck_assert_double_eq(
        sample(text, "tiny_cache_grpc_requests_total{method=\"Set\",code="
                     "\"RESOURCE_EXHAUSTED\"}"),
        1);
    ck_assert_double_eq(
        sample(text,
               "tiny_cache_grpc_requests_total{method=\"Delete\",code=\"OK\"}"),
        0);
    /* the server-fault codes are there at 0 before they happen; a client's
     * codes only once they did */
    ck_assert_double_eq(sample(text, "tiny_cache_grpc_requests_total{method="
                                     "\"Delete\",code=\"INTERNAL\"}"),
                        0);
    ck_assert_double_eq(sample(text, "tiny_cache_grpc_requests_total{method="
                                     "\"Delete\",code=\"UNKNOWN\"}"),
                        0);
    ck_assert_double_eq(sample(text, "tiny_cache_grpc_requests_total{method="
                                     "\"Delete\",code=\"DATA_LOSS\"}"),
                        0);
    ck_assert(isnan(sample(text, "tiny_cache_grpc_requests_total{method="
                                 "\"Delete\",code=\"NOT_FOUND\"}")));
    ck_assert(isnan(sample(text, "tiny_cache_grpc_requests_total{method="
                                 "\"Set\",code=\"INVALID_ARGUMENT\"}")));
    ck_assert_double_eq(sample(text, "tiny_cache_active_requests"), 1);
    free(text);
}
END_TEST

START_TEST(test_metrics_histogram_cumulative)
{
    static const double le[] = {5e-05,  0.0001, 0.00025, 0.0005, 0.001,
                                0.0025, 0.005,  0.01,    0.025,  0.05,
                                0.1,    0.25,   0.5,     1};
    const char *h = "tiny_cache_grpc_request_duration_seconds";
    char *text = render(), series[160];
    double prev = 0, v;

    for (size_t i = 0; i < sizeof le / sizeof le[0]; i++) {
        snprintf(series, sizeof series, "%s_bucket{method=\"Get\",le=\"%g\"}",
                 h, le[i]);
        v = sample(text, series);
        ck_assert_msg(!isnan(v), "missing %s", series);
        ck_assert_double_ge(v, prev);
        prev = v;
    }
    snprintf(series, sizeof series, "%s_bucket{method=\"Get\",le=\"5e-05\"}",
             h);
    ck_assert_double_eq(sample(text, series), 1);
    snprintf(series, sizeof series, "%s_bucket{method=\"Get\",le=\"0.0005\"}",
             h);
    ck_assert_double_eq(sample(text, series), 2);
    ck_assert_double_eq(prev, 2);
    snprintf(series, sizeof series, "%s_bucket{method=\"Get\",le=\"+Inf\"}", h);
    ck_assert_double_eq(sample(text, series), 3);
    snprintf(series, sizeof series, "%s_count{method=\"Get\"}", h);
    ck_assert_double_eq(sample(text, series), 3);
    snprintf(series, sizeof series, "%s_sum{method=\"Get\"}", h);
    ck_assert_double_eq_tol(sample(text, series), 5.00033, 1e-9);
    free(text);
}
END_TEST

START_TEST(test_metrics_process_series)
{
    char *text = render();
    double now = clock_wall_s(), start;

    ck_assert_double_gt(sample(text, "process_resident_memory_bytes"), 0);
    ck_assert_double_gt(sample(text, "process_open_fds"), 2);
    ck_assert_double_ge(sample(text, "process_max_fds"),
                        sample(text, "process_open_fds"));
    ck_assert_double_ge(sample(text, "process_cpu_seconds_total"), 0);
    start = sample(text, "process_start_time_seconds");
    ck_assert_double_le(start, now + 1);
    ck_assert_double_gt(start, now - 600);
    ck_assert_double_ge(sample(text, "tiny_cache_uptime_seconds"), 5);
    free(text);
}
END_TEST

START_TEST(test_metrics_active_never_negative)
{
    reqstats_active(&workers[0], -10);
    ck_assert_int_eq(metrics_active_requests(&deps), 0);
}
END_TEST

static json_t *
parse(char *doc)
{
    json_error_t err;
    json_t *j;

    ck_assert_ptr_nonnull(doc);
    j = json_loads(doc, 0, &err);
    ck_assert_msg(j != NULL, "%s", err.text);
    free(doc);
    return j;
}

static json_int_t
jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
    return json_integer_value(v);
}

START_TEST(test_json_stats_totals_equal_sum_of_shards)
{
    json_t *j = parse(http_json_stats(&deps));
    json_t *totals = json_object_get(j, "totals");
    json_t *shards = json_object_get(j, "shards");
    json_int_t sum;

    ck_assert_int_eq(json_array_size(shards), NSHARDS);
#define CHECK_FIELD(name)                                                      \
    sum = 0;                                                                   \
    for (size_t i = 0; i < NSHARDS; i++) {                                     \
        ck_assert_int_eq(jint(json_array_get(shards, i), "shard"), i);         \
        sum += jint(json_array_get(shards, i), #name);                         \
    }                                                                          \
    ck_assert_int_eq(sum, jint(totals, #name));
    SHARD_COUNTERS(CHECK_FIELD)
    CHECK_FIELD(size)
    CHECK_FIELD(memory_usage_bytes)
#undef CHECK_FIELD
    ck_assert_int_eq(jint(totals, "hits"), 10);
    ck_assert_int_eq(jint(totals, "evictions"), 0);
    ck_assert_int_eq(jint(totals, "max_value_bytes"), 4096);
    ck_assert(json_is_real(json_object_get(totals, "hit_rate")));
    ck_assert(json_is_real(json_object_get(j, "timestamp")));
    ck_assert(json_is_real(json_object_get(j, "uptime_seconds")));
    ck_assert_int_eq(jint(j, "active_requests"), 1);
    json_decref(j);
}
END_TEST

START_TEST(test_json_stats_requests_by_method_and_code)
{
    json_t *j = parse(http_json_stats(&deps));
    json_t *req = json_object_get(j, "requests");

    ck_assert_int_eq(json_object_size(req), RPC_METHOD_COUNT);
    ck_assert_int_eq(jint(json_object_get(req, "Get"), "OK"), 3);
    ck_assert_int_eq(json_object_size(json_object_get(req, "Get")), 1);
    ck_assert_int_eq(jint(json_object_get(req, "Set"), "RESOURCE_EXHAUSTED"),
                     1);
    ck_assert_int_eq(jint(json_object_get(req, "Set"), "OK"), 0);
    ck_assert_int_eq(json_object_size(json_object_get(req, "Set")), 2);
    ck_assert_int_eq(jint(json_object_get(req, "Health/Check"), "OK"), 0);
    ck_assert_int_eq(json_object_size(json_object_get(req, "unknown")), 1);
    json_decref(j);
}
END_TEST

START_TEST(test_json_health_follows_phase)
{
    static const struct {
        enum lifecycle_phase phase;
        int status;
        const char *word;
    } cases[] = {{PHASE_STARTING, 503, "starting"},
                 {PHASE_SERVING, 200, "healthy"},
                 {PHASE_STOPPING, 503, "shutting_down"}};

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status = 0;
        json_t *j;

        lifecycle_set(cases[i].phase);
        j = parse(http_json_health(&deps, &status));
        ck_assert_int_eq(status, cases[i].status);
        ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
                         cases[i].word);
        ck_assert_int_eq(jint(j, "cache_size"), 18);
        ck_assert_int_eq(jint(j, "cache_hits"), 10);
        ck_assert_int_eq(jint(j, "cache_misses"), 5);
        json_decref(j);
    }
}
END_TEST

START_TEST(test_json_root_and_error)
{
    json_t *j = parse(http_json_root(&deps));

    ck_assert_str_eq(json_string_value(json_object_get(j, "service")),
                     "tiny-cache");
    ck_assert_str_eq(json_string_value(json_object_get(j, "version")),
                     PACKAGE_VERSION);
    ck_assert_int_eq(jint(j, "grpc_port"), 50051);
    ck_assert_int_eq(json_array_size(json_object_get(j, "endpoints")), 7);
    json_decref(j);
    j = parse(http_json_error(404, "not found"));
    ck_assert_str_eq(json_string_value(json_object_get(j, "error")),
                     "not found");
    ck_assert_int_eq(jint(j, "status"), 404);
    json_decref(j);
    j = parse(http_json_live(&deps));
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "alive");
    ck_assert_double_ge(json_real_value(json_object_get(j, "uptime_seconds")),
                        5);
    json_decref(j);
}
END_TEST

static Suite *
metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tm = tcase_create("metrics_render");
    TCase *tj = tcase_create("http_json");

    tcase_add_checked_fixture(tm, setup, teardown);
    tcase_add_test(tm, test_metrics_every_sample_has_help_and_type);
    tcase_add_test(tm, test_metrics_totals_equal_sum_of_shards);
    tcase_add_test(tm, test_metrics_known_sequence_counts);
    tcase_add_test(tm, test_metrics_requests_summed_over_workers);
    tcase_add_test(tm, test_metrics_histogram_cumulative);
    tcase_add_test(tm, test_metrics_process_series);
    tcase_add_test(tm, test_metrics_active_never_negative);
    suite_add_tcase(s, tm);
    tcase_add_checked_fixture(tj, setup, teardown);
    tcase_add_test(tj, test_json_stats_totals_equal_sum_of_shards);
    tcase_add_test(tj, test_json_stats_requests_by_method_and_code);
    tcase_add_test(tj, test_json_health_follows_phase);
    tcase_add_test(tj, test_json_root_and_error);
    suite_add_tcase(s, tj);
    return s;
}

int
main(void)
{
    return check_run(metrics_suite());
}
