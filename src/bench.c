/*
 * bench.c: tiny-cache-bench's front end: options, progress line, report.
 * The load itself is bench_run.c.
 *
 * Exit status: 0 when every call (and every item of a batch call) answered
 * OK, 1 when a connection could not be made or a call or an item failed,
 * 2 on a usage error.
 */
#include "tc_autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/slice.h>

#include "bench.h"
#include "status_name.h"
#include "tc.h"

#define BENCH_EXIT_OK      0
#define BENCH_EXIT_FAILED  1
#define BENCH_EXIT_USAGE   2
#define BENCH_MAX_CONNS    10000
#define BENCH_MAX_CALLS    10000
#define BENCH_MAX_THREADS  256
#define BENCH_MAX_VALUE    (1u << 30)
#define BENCH_MAX_DURATION 86400.0
#define BENCH_MAX_BATCH    1000000

static const char *const bench_pattern_names[] = {
    [BENCH_SEQ] = "seq",
    [BENCH_RANDOM] = "random",
    [BENCH_ZIPF] = "zipf",
};

/* Progress line state: only the main thread touches it. */
struct bench_progress {
    uint64_t last_done;
    double last_s;
    const char *phase;
};

static void
bench_usage(FILE *f)
{
    fprintf(f, "usage: tiny-cache-bench [-H host] [-p port] [-c connections] "
               "[-m calls] [-t threads]\n"
               "                        [-n requests | -d seconds] "
               "[--ratio get:set:del:mget:mset] [--batch keys]\n"
               "                        [--value-size bytes|min-max] "
               "[--keyspace keys]\n"
               "                        [--pattern seq|random|zipf] "
               "[--key-prefix prefix]\n"
               "                        [--namespace ns] [--route key | "
               "--routes n] [--seed n]\n"
               "                        [--fill] [--json]\n"
               "                        [--tls [--cacert file] [--cert file "
               "--key file] [--tls-name name]]\n");
}

static TC_PRINTF(1, 2) void bench_fail(const char *fmt, ...);

static void
bench_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("tiny-cache-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Parse an unsigned integer in [min, max]; complain naming opt. */
static int
bench_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
                uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min ||
        v > max) {
        bench_fail("%s: '%s' is not a number (%" PRIu64 "..%" PRIu64 ")", opt,
                   s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int
bench_parse_uint(const char *opt, const char *s, unsigned max, unsigned *out)
{
    uint64_t v;

    if (bench_parse_u64(opt, s, 1, max, &v) != 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* BYTES, or MIN-MAX with MIN <= MAX: the sizes of Set values. */
static int
bench_parse_value_size(const char *s, size_t *min, size_t *max)
{
    const char *dash = strchr(s, '-');
    char lo[24];
    uint64_t a, b;

    if (dash == NULL || dash == s) {
        if (bench_parse_u64("--value-size", s, 0, BENCH_MAX_VALUE, &a) != 0)
            return -1;
        *min = *max = (size_t)a;
        return 0;
    }
    if ((size_t)(dash - s) >= sizeof lo)
        goto bad;
    memcpy(lo, s, (size_t)(dash - s));
    lo[dash - s] = '\0';
    if (bench_parse_u64("--value-size", lo, 0, BENCH_MAX_VALUE, &a) != 0 ||
        bench_parse_u64("--value-size", dash + 1, 0, BENCH_MAX_VALUE, &b) != 0)
        return -1;
    if (a > b)
        goto bad;
    *min = (size_t)a;
    *max = (size_t)b;
    return 0;
bad:
    bench_fail("--value-size: '%s' is not BYTES or MIN-MAX (0..%u, MIN <= "
               "MAX)",
               s, BENCH_MAX_VALUE);
    return -1;
}

static int
bench_parse_seconds(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(*out > 0) ||
        *out > BENCH_MAX_DURATION) {
        bench_fail("-d: '%s' is not a number of seconds (0..86400]", s);
        return -1;
    }
    return 0;
}

/*
 * GET:SET[:DEL[:MGET[:MSET]]] (weights left out are 0); at least one
 * weight above zero.
 */
static int
bench_parse_ratio(const char *s, unsigned *ratio)
{
    unsigned long v[BENCH_OP_COUNT] = {0}, sum = 0;
    const char *p = s;
    int n = 0;
    char *end;

    while (n < BENCH_OP_COUNT) {
        errno = 0;
        v[n] = strtoul(p, &end, 10);
        if (errno != 0 || end == p || *p == '-' || v[n] > 1000000)
            goto bad;
        sum += v[n++];
        if (*end != ':')
            break;
        p = end + 1;
    }
    if (*end != '\0' || n < 2 || sum == 0)
        goto bad;
    for (int i = 0; i < BENCH_OP_COUNT; i++)
        ratio[i] = (unsigned)v[i];
    return 0;
bad:
    bench_fail("--ratio: '%s' is not GET:SET[:DEL[:MGET[:MSET]]] (weights "
               "0..1000000, not all 0)",
               s);
    return -1;
}

static int
bench_parse_pattern(const char *s, enum bench_pattern *out)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(bench_pattern_names); i++)
        if (strcmp(s, bench_pattern_names[i]) == 0) {
            *out = (enum bench_pattern)i;
            return 0;
        }
    bench_fail("--pattern: '%s' is not seq, random or zipf", s);
    return -1;
}

enum {
    BENCH_OPT_RATIO = 256,
    BENCH_OPT_VALUE_SIZE,
    BENCH_OPT_KEYSPACE,
    BENCH_OPT_PATTERN,
    BENCH_OPT_KEY_PREFIX,
    BENCH_OPT_SEED,
    BENCH_OPT_FILL,
    BENCH_OPT_JSON,
    BENCH_OPT_TLS,
    BENCH_OPT_CACERT,
    BENCH_OPT_CERT,
    BENCH_OPT_KEY,
    BENCH_OPT_TLS_NAME,
    BENCH_OPT_HELP,
    BENCH_OPT_VERSION,
    BENCH_OPT_BATCH,
    BENCH_OPT_NAMESPACE,
    BENCH_OPT_ROUTE,
    BENCH_OPT_ROUTES,
};

static const struct option bench_long_opts[] = {
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'p'},
    {"connections", required_argument, NULL, 'c'},
    {"calls", required_argument, NULL, 'm'},
    {"threads", required_argument, NULL, 't'},
    {"requests", required_argument, NULL, 'n'},
    {"duration", required_argument, NULL, 'd'},
    {"ratio", required_argument, NULL, BENCH_OPT_RATIO},
    {"batch", required_argument, NULL, BENCH_OPT_BATCH},
    {"namespace", required_argument, NULL, BENCH_OPT_NAMESPACE},
    {"route", required_argument, NULL, BENCH_OPT_ROUTE},
    {"routes", required_argument, NULL, BENCH_OPT_ROUTES},
    {"value-size", required_argument, NULL, BENCH_OPT_VALUE_SIZE},
    {"keyspace", required_argument, NULL, BENCH_OPT_KEYSPACE},
    {"pattern", required_argument, NULL, BENCH_OPT_PATTERN},
    {"key-prefix", required_argument, NULL, BENCH_OPT_KEY_PREFIX},
    {"seed", required_argument, NULL, BENCH_OPT_SEED},
    {"fill", no_argument, NULL, BENCH_OPT_FILL},
    {"json", no_argument, NULL, BENCH_OPT_JSON},
    {"tls", no_argument, NULL, BENCH_OPT_TLS},
    {"cacert", required_argument, NULL, BENCH_OPT_CACERT},
    {"cert", required_argument, NULL, BENCH_OPT_CERT},
    {"key", required_argument, NULL, BENCH_OPT_KEY},
    {"tls-name", required_argument, NULL, BENCH_OPT_TLS_NAME},
    {"help", no_argument, NULL, BENCH_OPT_HELP},
    {"version", no_argument, NULL, BENCH_OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Everything the command line sets, beyond struct bench_opts. */
struct bench_cli {
    struct bench_opts o;
    bool json;
    bool threads_set;
    bool requests_set;
};

/* Options that take numbers. Returns 0, -1 on error, 1 if not one. */
static int
bench_number_opt(struct bench_cli *cli, int c)
{
    struct bench_opts *o = &cli->o;

    switch (c) {
    case 'c':
        return bench_parse_uint("-c", optarg, BENCH_MAX_CONNS, &o->connections);
    case 'm':
        return bench_parse_uint("-m", optarg, BENCH_MAX_CALLS,
                                &o->calls_per_conn);
    case 't':
        cli->threads_set = true;
        return bench_parse_uint("-t", optarg, BENCH_MAX_THREADS, &o->threads);
    case 'n':
        cli->requests_set = true;
        return bench_parse_u64("-n", optarg, 1, UINT64_MAX / 2, &o->requests);
    case 'd':
        return bench_parse_seconds(optarg, &o->duration_s);
    case BENCH_OPT_VALUE_SIZE:
        return bench_parse_value_size(optarg, &o->value_size,
                                      &o->value_size_max);
    case BENCH_OPT_KEYSPACE:
        return bench_parse_u64("--keyspace", optarg, 1, BENCH_KEYSPACE_MAX,
                               &o->keyspace);
    case BENCH_OPT_SEED:
        return bench_parse_u64("--seed", optarg, 0, UINT64_MAX, &o->seed);
    case BENCH_OPT_BATCH:
        return bench_parse_uint("--batch", optarg, BENCH_MAX_BATCH, &o->batch);
    case BENCH_OPT_ROUTES:
        return bench_parse_uint("--routes", optarg, BENCH_MAX_ROUTES,
                                &o->routes);
    default:
        return 1;
    }
}

/* Where and how to connect. Returns 0, or 1 if c is not one of them. */
static int
bench_conn_opt(struct bench_opts *o, int c)
{
    switch (c) {
    case 'H':
        o->conn.host = optarg;
        return 0;
    case 'p':
        o->conn.port = optarg;
        return 0;
    case BENCH_OPT_NAMESPACE:
        o->meta.ns = optarg;
        return 0;
    case BENCH_OPT_ROUTE:
        o->meta.route = optarg;
        return 0;
    case BENCH_OPT_TLS:
        o->conn.tls = true;
        return 0;
    case BENCH_OPT_CACERT:
        o->conn.cacert = optarg;
        return 0;
    case BENCH_OPT_CERT:
        o->conn.cert = optarg;
        return 0;
    case BENCH_OPT_KEY:
        o->conn.key = optarg;
        return 0;
    case BENCH_OPT_TLS_NAME:
        o->conn.tls_name = optarg;
        return 0;
    default:
        return 1;
    }
}

/* Every other option. Returns 0, or -1 on error. */
static int
bench_other_opt(struct bench_cli *cli, int c)
{
    struct bench_opts *o = &cli->o;

    switch (c) {
    case BENCH_OPT_RATIO:
        return bench_parse_ratio(optarg, o->ratio);
    case BENCH_OPT_PATTERN:
        return bench_parse_pattern(optarg, &o->pattern);
    case BENCH_OPT_KEY_PREFIX:
        o->key_prefix = optarg;
        return 0;
    case BENCH_OPT_FILL:
        o->fill = true;
        return 0;
    case BENCH_OPT_JSON:
        cli->json = true;
        return 0;
    default:
        return -1;
    }
}

/* Whether v (NULL: unset) can be sent as the metadata of option opt. */
static bool
bench_metadata_ok(const char *opt, const char *v)
{
    if (v == NULL ||
        grpc_header_nonbin_value_is_legal(grpc_slice_from_static_string(v)))
        return true;
    bench_fail("%s: '%s' is not a valid metadata value", opt, v);
    return false;
}

/* Check the TLS options together, and that the metadata can be sent. */
static int
bench_check_conn(const struct bench_opts *o)
{
    const char *why = client_opts_tls_error(&o->conn);

    if (why != NULL) {
        bench_fail("%s", why);
        return -1;
    }
    if (o->meta.route != NULL && o->routes > 0) {
        bench_fail("--route and --routes exclude each other");
        return -1;
    }
    if (!bench_metadata_ok("--namespace", o->meta.ns) ||
        !bench_metadata_ok("--route", o->meta.route))
        return -1;
    return 0;
}

/* Check what the options say together; fill in the dependent defaults. */
static int
bench_check(struct bench_cli *cli)
{
    struct bench_opts *o = &cli->o;
    uint64_t port;
    long cpus;

    if (bench_parse_u64("-p", o->conn.port, 1, 65535, &port) != 0)
        return -1;
    if (cli->requests_set && o->duration_s > 0) {
        bench_fail("-n and -d exclude each other");
        return -1;
    }
    if (o->duration_s > 0)
        o->requests = 0;
    if (!cli->threads_set) {
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
        o->threads = cpus > 0 ? (unsigned)cpus : 1;
    }
    if (o->threads > o->connections) {
        if (cli->threads_set) {
            bench_fail("-t: more threads (%u) than connections (%u)",
                       o->threads, o->connections);
            return -1;
        }
        o->threads = o->connections;
    }
    if (strlen(o->key_prefix) > BENCH_KEY_PREFIX_MAX) {
        bench_fail("--key-prefix: longer than %d bytes", BENCH_KEY_PREFIX_MAX);
        return -1;
    }
    return bench_check_conn(o);
}

static void
bench_defaults(struct bench_cli *cli)
{
    struct bench_opts *o = &cli->o;

    memset(cli, 0, sizeof *cli);
    o->conn.host = "127.0.0.1";
    o->conn.port = "50051";
    o->connections = 16;
    o->calls_per_conn = 16;
    o->requests = 100000;
    o->ratio[BENCH_GET] = 9;
    o->ratio[BENCH_SET] = 1;
    o->value_size = 100;
    o->value_size_max = 100;
    o->keyspace = 10000;
    o->pattern = BENCH_RANDOM;
    o->key_prefix = "key:";
    o->seed = 1;
    o->batch = 10;
}

/* Parse argv. Returns -1 to go on, else the exit status. */
static int
bench_parse(struct bench_cli *cli, int argc, char **argv)
{
    int c, rc;

    bench_defaults(cli);
    while ((c = getopt_long(argc, argv, "H:p:c:m:t:n:d:", bench_long_opts,
                            NULL)) != -1) {
        if (c == BENCH_OPT_HELP) {
            bench_usage(stdout);
            return BENCH_EXIT_OK;
        }
        if (c == BENCH_OPT_VERSION) {
            printf("tiny-cache-bench %s\n", PACKAGE_VERSION);
            return BENCH_EXIT_OK;
        }
        rc = bench_number_opt(cli, c);
        if (rc == 1)
            rc = bench_conn_opt(&cli->o, c);
        if (rc == 1)
            rc = bench_other_opt(cli, c);
        if (rc != 0)
            goto usage;
    }
    if (optind < argc) {
        bench_fail("unexpected argument '%s'", argv[optind]);
        goto usage;
    }
    if (bench_check(cli) != 0)
        goto usage;
    return -1;
usage:
    bench_usage(stderr);
    return BENCH_EXIT_USAGE;
}

static void
bench_show_progress(uint64_t done, double elapsed_s, void *arg)
{
    struct bench_progress *p = arg;
    double rate = elapsed_s > p->last_s
                      ? (double)(done - p->last_done) / (elapsed_s - p->last_s)
                      : 0;

    fprintf(stderr, "\r\033[K%s: %.0f s, %" PRIu64 " calls, %.0f calls/s",
            p->phase, elapsed_s, done, rate);
    fflush(stderr);
    p->last_done = done;
    p->last_s = elapsed_s;
}

static uint64_t
bench_total(const struct bench_result *r)
{
    uint64_t sum = 0;

    for (int op = 0; op < BENCH_OP_COUNT; op++)
        sum += r->calls[op];
    return sum;
}

/* The keys the calls of r carried: one a call, batch a batch call. */
static uint64_t
bench_keys(const struct bench_result *r, unsigned batch)
{
    return bench_total(r) +
           (r->calls[BENCH_MGET] + r->calls[BENCH_MSET]) * (batch - 1);
}

static double
bench_rate(uint64_t n, double elapsed_s)
{
    return elapsed_s > 0 ? (double)n / elapsed_s : 0.0;
}

static const char *
bench_status_name(int slot)
{
    return slot < BENCH_STATUS_SLOTS - 1 ? status_name(slot) : "OTHER";
}

/* The latencies reported, in order: the JSON key, the text label, and
 * the percentile (negative: the mean). */
static const struct {
    const char *json, *text;
    double p;
} bench_latencies[] = {
    {"mean", "mean", -1}, {"p50", "p50", 50},      {"p90", "p90", 90},
    {"p99", "p99", 99},   {"p999", "p99.9", 99.9}, {"max", "max", 100},
};

/* Latency i of bench_latencies, in microseconds. */
static double
bench_us(const struct bench_result *r, size_t i)
{
    double p = bench_latencies[i].p;

    return (p < 0 ? bench_hist_mean(&r->hist)
                  : (double)bench_hist_percentile(&r->hist, p)) /
           1000.0;
}

static void
bench_json_status(const struct bench_result *r)
{
    const char *sep = "";

    fputc('{', stdout);
    for (int s = 0; s < BENCH_STATUS_SLOTS; s++)
        if (r->status[s] > 0) {
            printf("%s\"%s\":%" PRIu64, sep, bench_status_name(s),
                   r->status[s]);
            sep = ",";
        }
    fputc('}', stdout);
}

/* The run's counts of calls by method, of keys, hits and misses. */
static void
bench_json_counts(const struct bench_result *r, unsigned batch)
{
    uint64_t keys = bench_keys(r, batch);

    printf(",\"gets\":%" PRIu64 ",\"sets\":%" PRIu64 ",\"deletes\":%" PRIu64
           ",\"multi_gets\":%" PRIu64 ",\"multi_sets\":%" PRIu64,
           r->calls[BENCH_GET], r->calls[BENCH_SET], r->calls[BENCH_DEL],
           r->calls[BENCH_MGET], r->calls[BENCH_MSET]);
    printf(",\"batch\":%u,\"keys\":%" PRIu64 ",\"keys_per_second\":%.1f"
           ",\"item_errors\":%" PRIu64 ",\"hits\":%" PRIu64
           ",\"misses\":%" PRIu64,
           batch, keys, bench_rate(keys, r->elapsed_s), r->item_errors, r->hits,
           r->misses);
}

static void
bench_report_json(const struct bench_opts *o, const struct bench_result *r,
                  const struct bench_result *f)
{
    uint64_t total = bench_total(r);

    printf("{\"requests\":%" PRIu64 ",\"elapsed_s\":%.6f,"
           "\"requests_per_second\":%.1f,",
           total, r->elapsed_s, bench_rate(total, r->elapsed_s));
    fputs("\"latency_us\":{", stdout);
    for (size_t i = 0; i < TC_ARRAY_LEN(bench_latencies); i++)
        printf("%s\"%s\":%.1f", i ? "," : "", bench_latencies[i].json,
               bench_us(r, i));
    fputs("},\"status_counts\":", stdout);
    bench_json_status(r);
    bench_json_counts(r, o->batch);
    if (o->fill) {
        printf(",\"fill\":{\"sets\":%" PRIu64 ",\"elapsed_s\":%.6f,"
               "\"status_counts\":",
               f->calls[BENCH_SET], f->elapsed_s);
        bench_json_status(f);
        fputc('}', stdout);
    }
    fputs("}\n", stdout);
}

/* The text report's lines about the load: target, workload, fill. */
static void
bench_text_setup(const struct bench_opts *o, const struct bench_result *f)
{
    const unsigned *w = o->ratio;

    printf("target       %s port %s%s, %u connections x %u calls, %u "
           "threads\n",
           o->conn.host, o->conn.port, o->conn.tls ? " (TLS)" : "",
           o->connections, o->calls_per_conn, o->threads);
    if (o->meta.ns != NULL)
        printf("namespace    %s\n", o->meta.ns);
    if (o->meta.route != NULL)
        printf("route        %s\n", o->meta.route);
    if (o->routes > 0)
        printf("routes       r0 to r%u (key i: r<i mod %u>)\n", o->routes - 1,
               o->routes);
    printf("workload     %u:%u:%u:%u:%u get:set:del:mget:mset, batch %u, %s "
           "over %" PRIu64 " keys, ",
           w[0], w[1], w[2], w[3], w[4], o->batch,
           bench_pattern_names[o->pattern], o->keyspace);
    if (o->value_size == o->value_size_max)
        printf("%zu-byte values\n", o->value_size);
    else
        printf("values of %zu to %zu bytes (log-uniform)\n", o->value_size,
               o->value_size_max);
    if (o->fill)
        printf("fill         %" PRIu64 " sets in %.2f s\n", f->calls[BENCH_SET],
               f->elapsed_s);
}

static void
bench_report_text(const struct bench_opts *o, const struct bench_result *r,
                  const struct bench_result *f)
{
    uint64_t total = bench_total(r), keys = bench_keys(r, o->batch);

    bench_text_setup(o, f);
    printf("requests     %" PRIu64 " in %.2f s: %.1f requests/s\n", total,
           r->elapsed_s, bench_rate(total, r->elapsed_s));
    printf("keys         %" PRIu64 " in %.2f s: %.1f keys/s\n", keys,
           r->elapsed_s, bench_rate(keys, r->elapsed_s));
    printf("calls        gets %" PRIu64 ", sets %" PRIu64 ", deletes %" PRIu64
           ", multi-gets %" PRIu64 ", multi-sets %" PRIu64 "\n",
           r->calls[BENCH_GET], r->calls[BENCH_SET], r->calls[BENCH_DEL],
           r->calls[BENCH_MGET], r->calls[BENCH_MSET]);
    printf("keys read    hits %" PRIu64 ", misses %" PRIu64
           "; failed items %" PRIu64 "\n",
           r->hits, r->misses, r->item_errors);
    fputs("latency us ", stdout);
    for (size_t i = 0; i < TC_ARRAY_LEN(bench_latencies); i++)
        printf("  %s %.1f", bench_latencies[i].text, bench_us(r, i));
    fputc('\n', stdout);
    fputs("status      ", stdout);
    for (int s = 0; s < BENCH_STATUS_SLOTS; s++)
        if (r->status[s] > 0)
            printf(" %s %" PRIu64, bench_status_name(s), r->status[s]);
    fputc('\n', stdout);
}

/* Whether any call of r failed, or any item of a batch call. */
static bool
bench_failed(const struct bench_result *r)
{
    return r->status[GRPC_STATUS_OK] != bench_total(r) || r->item_errors > 0;
}

/* Fill if asked, measure, report. Returns the exit status. */
static int
bench_main(const struct bench_cli *cli, struct bench *b)
{
    struct bench_result *res = calloc(2, sizeof *res);
    struct bench_progress prog = {0, 0, "fill"};
    bench_progress_fn show = isatty(STDERR_FILENO) ? bench_show_progress : NULL;
    bool failed = false;
    char err[256];
    int rc = BENCH_EXIT_OK;

    if (res == NULL) {
        bench_fail("out of memory");
        return BENCH_EXIT_FAILED;
    }
    if (cli->o.fill)
        failed = bench_fill(b, &res[1], show, &prog, err, sizeof err) != 0;
    if (!failed) {
        prog = (struct bench_progress){0, 0, "run"};
        failed = bench_measure(b, &res[0], show, &prog, err, sizeof err) != 0;
    }
    if (failed) {
        bench_fail("%s", err);
        rc = BENCH_EXIT_FAILED;
    }
    if (show != NULL)
        fputs("\r\033[K", stderr);
    if (cli->json)
        bench_report_json(&cli->o, &res[0], &res[1]);
    else
        bench_report_text(&cli->o, &res[0], &res[1]);
    if (bench_failed(&res[0]) || bench_failed(&res[1]))
        rc = BENCH_EXIT_FAILED;
    free(res);
    return rc;
}

int
main(int argc, char **argv)
{
    struct bench_cli cli;
    struct bench *b;
    char err[512];
    int rc;

    if ((rc = bench_parse(&cli, argc, argv)) >= 0)
        return rc;
    client_global_init();
    if ((b = bench_create(&cli.o, err, sizeof err)) == NULL) {
        bench_fail("%s", err);
        rc = BENCH_EXIT_FAILED;
    } else {
        rc = bench_main(&cli, b);
        bench_destroy(b);
    }
    client_global_fini();
    return rc;
}
