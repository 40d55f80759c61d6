/*
 * config.c: tiny-cached's settings (README, Configuration), from one option
 * table.
 *
 * Each row of config_options names a setting once: its flag, its variable,
 * its type, its bounds, its default and its help. The same rows drive the
 * environment pass, the getopt_long pass (a flag replaces what the variable
 * gave), parsing and range checks, --help and the startup log line.
 *
 * Strictness: numbers are decimal digits only (no sign, no space, no
 * trailing junk, no overflow); booleans are 1/0, true/false, yes/no, y/n or
 * on/off in any case; log levels and formats any case. An empty variable is
 * an invalid value, except for the paths (TLS, snapshot) where it means
 * unset. Every
 * error is one line naming the flag or variable the value came from.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_tls.h"
#include "cpus.h"
#include "log.h"
#include "tc_autoconf.h"

/* CACHE_MAX_VALUE_BYTES is at most this: a gRPC message (value plus 4 KiB of
 * framing) must stay below 2^31. */
#define CONFIG_VALUE_CAP (INT32_MAX - 4096)
#define CONFIG_MB        UINT64_C(1048576)
#define CONFIG_SHOW_MAX  64 /* value bytes quoted in an error */

enum opt_type {
    OPT_U64,    /* uint64_t, decimal in [min, max] */
    OPT_U32,    /* uint32_t, decimal in [min, max] */
    OPT_INT,    /* int, decimal in [min, max] */
    OPT_BOOL,   /* bool */
    OPT_HOST,   /* char[CONFIG_HOST_MAX]: address or host name */
    OPT_PATH,   /* char *, owned; empty means unset */
    OPT_LEVEL,  /* enum log_level */
    OPT_FORMAT, /* enum log_format */
};

struct opt_entry {
    const char *flag; /* "--max-items" */
    const char *env;  /* "CACHE_MAX_ITEMS" */
    enum opt_type type;
    uint64_t min, max;
    const char *def;      /* default, parsed like any value; NULL: none */
    const char *def_help; /* the default as --help shows it when def is NULL */
    size_t offset;        /* of the field in struct config */
    const char *arg;      /* argument name in --help */
    const char *help;
};

#define OPT(f, e, t, lo, hi, d, field, a, h)                                   \
    {                                                                          \
        f, e, t, lo, hi, d, "unset", offsetof(struct config, field), a, h      \
    }

static const struct opt_entry config_options[] = {
    OPT("--max-items", "CACHE_MAX_ITEMS", OPT_U64, 1, INT32_MAX, "1000",
        max_items, "N", "most entries the cache holds"),
    OPT("--max-memory-mb", "CACHE_MAX_MEMORY_MB", OPT_U64, 1, 1048576, "100",
        max_memory_mb, "MB", "most accounted memory, in MiB"),
    {"--max-value-bytes", "CACHE_MAX_VALUE_BYTES", OPT_U64, 1, CONFIG_VALUE_CAP,
     NULL, "max memory in bytes, at most 2147479551",
     offsetof(struct config, max_value_bytes), "N",
     "largest value accepted; above max memory is an error"},
    OPT("--cleanup-interval", "CACHE_CLEANUP_INTERVAL", OPT_U32, 1, 86400, "10",
        cleanup_interval_s, "SECONDS", "expiry sweep period"),
    OPT("--host", "CACHE_HOST", OPT_HOST, 0, 0, "[::]", host, "HOST",
        "gRPC listen address or host name"),
    OPT("--port", "CACHE_PORT", OPT_INT, 0, 65535, "50051", port, "PORT",
        "gRPC port; 0 picks a free one"),
    OPT("--health-host", "CACHE_HEALTH_HOST", OPT_HOST, 0, 0, "0.0.0.0",
        health_host, "HOST", "HTTP listen address or host name"),
    OPT("--health-port", "CACHE_HEALTH_PORT", OPT_INT, 0, 65535, "8080",
        health_port, "PORT", "HTTP port; 0 picks a free one"),
    OPT("--log-level", "CACHE_LOG_LEVEL", OPT_LEVEL, 0, 0, "INFO", log_level,
        "LEVEL", "DEBUG, INFO, WARNING or ERROR"),
    OPT("--log-format", "CACHE_LOG_FORMAT", OPT_FORMAT, 0, 0, "text",
        log_format, "FORMAT", "text or json"),
    OPT("--tls-enabled", "CACHE_TLS_ENABLED", OPT_BOOL, 0, 0, "false",
        tls_enabled, "BOOL", "serve gRPC over TLS"),
    OPT("--tls-cert-path", "CACHE_TLS_CERT_PATH", OPT_PATH, 0, 0, NULL,
        tls_cert_path, "FILE", "PEM certificate (chain); required with TLS"),
    OPT("--tls-key-path", "CACHE_TLS_KEY_PATH", OPT_PATH, 0, 0, NULL,
        tls_key_path, "FILE", "PEM private key; required with TLS"),
    OPT("--tls-require-client-auth", "CACHE_TLS_REQUIRE_CLIENT_AUTH", OPT_BOOL,
        0, 0, "false", tls_require_client_auth, "BOOL",
        "require and verify client certificates (mTLS)"),
    OPT("--tls-client-ca-path", "CACHE_TLS_CLIENT_CA_PATH", OPT_PATH, 0, 0,
        NULL, tls_client_ca_path, "FILE",
        "PEM CA certificates for client auth; required with it"),
    OPT("--workers", "CACHE_WORKERS", OPT_U32, 0, 256, "0", workers, "N",
        "gRPC worker threads; 0: half the usable CPUs, at least 1"),
    OPT("--shards", "CACHE_SHARDS", OPT_U32, 1, 1024, "16", shards, "N",
        "independently locked shards; a power of two"),
    OPT("--shutdown-delay", "CACHE_SHUTDOWN_DELAY", OPT_U32, 0, 3600, "0",
        shutdown_delay_s, "SECONDS",
        "keep serving this long after SIGTERM, health already failing"),
    OPT("--shutdown-grace", "CACHE_SHUTDOWN_GRACE", OPT_U32, 0, 3600, "5",
        shutdown_grace_s, "SECONDS", "time in-flight calls get to finish"),
    OPT("--max-batch", "CACHE_MAX_BATCH", OPT_U32, 1, 1000000, "10000",
        max_batch, "N",
        "items at most in one MultiGet, MultiSet or MultiDelete"),
    OPT("--idle-timeout", "CACHE_IDLE_TIMEOUT", OPT_U32, 1, 86400, "300",
        idle_timeout_s, "SECONDS",
        "close a gRPC connection after this long without a call"),
    OPT("--snapshot-path", "CACHE_SNAPSHOT_PATH", OPT_PATH, 0, 0, NULL,
        snapshot_path, "FILE",
        "save the cache to FILE at exit and load it at start; its folder "
        "must exist and be writable"),
    OPT("--snapshot-interval", "CACHE_SNAPSHOT_INTERVAL", OPT_U32, 0, 86400,
        "0", snapshot_interval_s, "SECONDS",
        "also save every SECONDS in the background; 0: only at exit"),
};

#define CONFIG_NOPTS TC_ARRAY_LEN(config_options)

/* Where one setting's text came from: a flag, a variable, or the default
 * (origin NULL). text is borrowed from argv, environ or the table. */
struct opt_value {
    const char *text;
    const char *origin;
};

static const char *const config_level_names[] = {"DEBUG", "INFO", "WARNING",
                                                 "ERROR"};
static const char *const config_bool_true[] = {"1", "true", "yes", "y", "on"};
static const char *const config_bool_false[] = {"0", "false", "no", "n", "off"};

/* Writes "<origin>: <message>" into err. */
static TC_PRINTF(4, 5) void config_fail(char *err, size_t errlen,
                                        const char *origin, const char *fmt,
                                        ...)
{
    va_list ap;
    int n;

    n = snprintf(err, errlen, "%s: ", origin);
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* The value as it may appear inside quotes in an error line. */
static const char *
config_show(const char *text, char *buf, size_t buflen)
{
    return log_escape(text, strlen(text), CONFIG_SHOW_MAX, buf, buflen);
}

/* Parses decimal digits into *out within [e->min, e->max]. */
static bool
config_parse_number(const struct opt_entry *e, const struct opt_value *v,
                    uint64_t *out, char *err, size_t errlen)
{
    const char *p = v->text;
    uint64_t n = 0;
    bool over = false;
    char show[CONFIG_SHOW_MAX * 4 + 4];

    config_show(v->text, show, sizeof show);
    if (*p == '-' && isdigit((unsigned char)p[1]))
        over = true, p++;
    if (!isdigit((unsigned char)*p)) {
        config_fail(err, errlen, v->origin,
                    "'%s' is not a number (%" PRIu64 "..%" PRIu64 ")", show,
                    e->min, e->max);
        return false;
    }
    for (; isdigit((unsigned char)*p); p++) {
        if (n > (UINT64_MAX - 9) / 10)
            over = true;
        else
            n = n * 10 + (uint64_t)(*p - '0');
    }
    if (*p != '\0') {
        config_fail(err, errlen, v->origin,
                    "'%s' has junk after the number (%" PRIu64 "..%" PRIu64 ")",
                    show, e->min, e->max);
        return false;
    }
    if (over || n < e->min || n > e->max) {
        config_fail(err, errlen, v->origin,
                    "'%s' is out of range (%" PRIu64 "..%" PRIu64 ")", show,
                    e->min, e->max);
        return false;
    }
    *out = n;
    return true;
}

/* Index of text in words (any case), or -1. */
static int
config_word(const char *text, const char *const *words, size_t nwords)
{
    size_t i;

    for (i = 0; i < nwords; i++) {
        if (strcasecmp(text, words[i]) == 0)
            return (int)i;
    }
    return -1;
}

static bool
config_parse_bool(const struct opt_value *v, bool *out, char *err,
                  size_t errlen)
{
    char show[CONFIG_SHOW_MAX * 4 + 4];

    if (config_word(v->text, config_bool_true,
                    TC_ARRAY_LEN(config_bool_true)) >= 0) {
        *out = true;
        return true;
    }
    if (config_word(v->text, config_bool_false,
                    TC_ARRAY_LEN(config_bool_false)) >= 0) {
        *out = false;
        return true;
    }
    config_fail(err, errlen, v->origin,
                "'%s' is not a boolean (1/0, true/false, yes/no, y/n, on/off)",
                config_show(v->text, show, sizeof show));
    return false;
}

/* True for a host name of RFC 1123 labels: letters, digits, '-' inside. */
static bool
config_host_name_ok(const char *s)
{
    size_t label = 0, len = strlen(s);

    if (len == 0 || len > 253)
        return false;
    for (; *s; s++) {
        if (*s == '.') {
            if (label == 0 || s[-1] == '-')
                return false;
            label = 0;
        } else if (isalnum((unsigned char)*s) || (*s == '-' && label > 0)) {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && s[-1] != '-';
}

/* Checks an address or host name and stores it; IPv6 addresses are kept
 * in brackets ("[::1]"), ready for "host:port". */
static bool
config_parse_host(const struct opt_value *v, char *out, char *err,
                  size_t errlen)
{
    const char *t = v->text;
    size_t len = strlen(t);
    char inner[CONFIG_HOST_MAX], show[CONFIG_SHOW_MAX * 4 + 4];
    struct in6_addr a6;
    struct in_addr a4;

    if (len >= 2 && len < CONFIG_HOST_MAX && t[0] == '[' && t[len - 1] == ']') {
        memcpy(inner, t + 1, len - 2);
        inner[len - 2] = '\0';
        if (inet_pton(AF_INET6, inner, &a6) == 1) {
            memcpy(out, t, len + 1);
            return true;
        }
    } else if (len + 2 < CONFIG_HOST_MAX && inet_pton(AF_INET6, t, &a6) == 1) {
        snprintf(out, CONFIG_HOST_MAX, "[%s]", t);
        return true;
    } else if (inet_pton(AF_INET, t, &a4) == 1 || config_host_name_ok(t)) {
        memcpy(out, t, len + 1);
        return true;
    }
    config_fail(err, errlen, v->origin,
                "'%s' is not an IP address or host name",
                config_show(t, show, sizeof show));
    return false;
}

static bool
config_parse_path(const struct opt_value *v, char **out, char *err,
                  size_t errlen)
{
    if (v->text[0] == '\0')
        return true;
    *out = strdup(v->text);
    if (*out == NULL) {
        config_fail(err, errlen, v->origin, "out of memory");
        return false;
    }
    return true;
}

static bool
config_parse_enum(const struct opt_value *v, const char *const *words,
                  size_t nwords, const char *allowed, int *out, char *err,
                  size_t errlen)
{
    char show[CONFIG_SHOW_MAX * 4 + 4];
    int i = config_word(v->text, words, nwords);

    if (i < 0) {
        config_fail(err, errlen, v->origin, "'%s' is not one of %s",
                    config_show(v->text, show, sizeof show), allowed);
        return false;
    }
    *out = i;
    return true;
}

/* Parses v for e into its field of cfg. */
static bool
config_parse_one(const struct opt_entry *e, const struct opt_value *v,
                 struct config *cfg, char *err, size_t errlen)
{
    static const char *const formats[] = {"text", "json"};
    char *field = (char *)cfg + e->offset;
    uint64_t n;
    int w;

    switch (e->type) {
    case OPT_U64:
    case OPT_U32:
    case OPT_INT:
        if (!config_parse_number(e, v, &n, err, errlen))
            return false;
        if (e->type == OPT_U64)
            *(uint64_t *)field = n;
        else if (e->type == OPT_U32)
            *(uint32_t *)field = (uint32_t)n;
        else
            *(int *)field = (int)n;
        return true;
    case OPT_BOOL:
        return config_parse_bool(v, (bool *)field, err, errlen);
    case OPT_HOST:
        return config_parse_host(v, field, err, errlen);
    case OPT_PATH:
        return config_parse_path(v, (char **)field, err, errlen);
    case OPT_LEVEL:
        if (!config_parse_enum(v, config_level_names, 4,
                               "DEBUG, INFO, WARNING, ERROR", &w, err, errlen))
            return false;
        *(enum log_level *)field = (enum log_level)w;
        return true;
    case OPT_FORMAT:
        if (!config_parse_enum(v, formats, 2, "text, json", &w, err, errlen))
            return false;
        *(enum log_format *)field = (enum log_format)w;
        return true;
    }
    return false;
}

static void
config_read_env(struct opt_value *vals)
{
    const char *s;
    size_t i;

    for (i = 0; i < CONFIG_NOPTS; i++) {
        s = getenv(config_options[i].env);
        if (s != NULL) {
            vals[i].text = s;
            vals[i].origin = config_options[i].env;
        }
    }
}

static void
config_print_help(void)
{
    const struct opt_entry *e;
    char range[64];
    size_t i;

    printf("Usage: tiny-cached [OPTION]...\n"
           "In-memory key/value cache served over gRPC.\n"
           "Each option may also be set by its environment variable;\n"
           "a flag beats the variable, the variable beats the default.\n\n");
    for (i = 0; i < CONFIG_NOPTS; i++) {
        e = &config_options[i];
        range[0] = '\0';
        if (e->type == OPT_U64 || e->type == OPT_U32 || e->type == OPT_INT)
            snprintf(range, sizeof range, "%" PRIu64 "..%" PRIu64 ", ", e->min,
                     e->max);
        printf("  %s=%s  (%s)\n      %s\n      %sdefault: %s\n", e->flag,
               e->arg, e->env, e->help, range, e->def ? e->def : e->def_help);
    }
    printf("  -h, --help\n      print this help and exit\n"
           "  -V, --version\n      print the version and exit\n");
}

enum { CONFIG_OPT_HELP = 'h', CONFIG_OPT_VERSION = 'V', CONFIG_OPT_BASE = 256 };

static void
config_long_options(struct option *lo)
{
    size_t i;

    for (i = 0; i < CONFIG_NOPTS; i++) {
        lo[i] = (struct option){config_options[i].flag + 2, required_argument,
                                NULL, CONFIG_OPT_BASE + (int)i};
    }
    lo[i++] = (struct option){"help", no_argument, NULL, CONFIG_OPT_HELP};
    lo[i++] = (struct option){"version", no_argument, NULL, CONFIG_OPT_VERSION};
    lo[i] = (struct option){NULL, 0, NULL, 0};
}

/* Reports the argv error getopt_long just met. */
static void
config_argv_error(int c, int argc, char **argv, char *err, size_t errlen)
{
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
    char show[CONFIG_SHOW_MAX * 4 + 4];

    config_show(arg, show, sizeof show);
    if (c == ':' && optopt >= CONFIG_OPT_BASE)
        config_fail(err, errlen, config_options[optopt - CONFIG_OPT_BASE].flag,
                    "needs a value (see --help)");
    else
        config_fail(err, errlen, show, "unknown option (see --help)");
}

/* Applies argv over vals; returns CONFIG_OK, CONFIG_EXIT or
 * CONFIG_INVALID. */
static enum config_result
config_read_argv(struct opt_value *vals, int argc, char **argv, char *err,
                 size_t errlen)
{
    struct option lo[CONFIG_NOPTS + 3];
    char show[CONFIG_SHOW_MAX * 4 + 4];
    int c;

    config_long_options(lo);
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+:hV", lo, NULL)) != -1) {
        if (c == CONFIG_OPT_HELP) {
            config_print_help();
            return CONFIG_EXIT;
        } else if (c == CONFIG_OPT_VERSION) {
            printf("tiny-cached %s\n", PACKAGE_VERSION);
            return CONFIG_EXIT;
        } else if (c >= CONFIG_OPT_BASE) {
            vals[c - CONFIG_OPT_BASE].text = optarg;
            vals[c - CONFIG_OPT_BASE].origin =
                config_options[c - CONFIG_OPT_BASE].flag;
        } else {
            config_argv_error(c, argc, argv, err, errlen);
            return CONFIG_INVALID;
        }
    }
    if (optind < argc) {
        config_fail(err, errlen, config_show(argv[optind], show, sizeof show),
                    "unexpected argument (see --help)");
        return CONFIG_INVALID;
    }
    return CONFIG_OK;
}

/* Name of a setting for an error about it: where its value came from, or
 * "--flag (VARIABLE)" when it has none. */
static const char *
config_origin(const struct opt_value *vals, size_t i, char *buf, size_t buflen)
{
    if (vals[i].origin != NULL)
        return vals[i].origin;
    snprintf(buf, buflen, "%s (%s)", config_options[i].flag,
             config_options[i].env);
    return buf;
}

/* Row of the setting stored at offset (every caller names a real field). */
static size_t
config_index(size_t offset)
{
    size_t i;

    for (i = 0; i < CONFIG_NOPTS; i++) {
        if (config_options[i].offset == offset)
            break;
    }
    return i;
}

#define CONFIG_IDX(field) config_index(offsetof(struct config, field))

/* Client auth is part of TLS: asking for it with TLS off is an error, not
 * a server that silently accepts every client. */
static bool
config_check_client_auth(const struct config *cfg, const struct opt_value *vals,
                         char *err, size_t errlen)
{
    const struct opt_value *v = &vals[CONFIG_IDX(tls_require_client_auth)];
    char show[CONFIG_SHOW_MAX * 4 + 4], name[96];

    if (cfg->tls_enabled || !cfg->tls_require_client_auth)
        return true;
    config_fail(
        err, errlen, v->origin, "'%s' needs TLS enabled; %s is off",
        config_show(v->text, show, sizeof show),
        config_origin(vals, CONFIG_IDX(tls_enabled), name, sizeof name));
    return false;
}

/* With TLS on, the TLS files must be usable (config_tls.c); with TLS off
 * they are not read. */
static bool
config_check_tls(const struct config *cfg, const struct opt_value *vals,
                 char *err, size_t errlen)
{
    char names[3][96];
    struct config_tls_file cert, key, ca;

    if (!cfg->tls_enabled)
        return config_check_client_auth(cfg, vals, err, errlen);
    cert.path = cfg->tls_cert_path;
    cert.name = config_origin(vals, CONFIG_IDX(tls_cert_path), names[0],
                              sizeof names[0]);
    key.path = cfg->tls_key_path;
    key.name = config_origin(vals, CONFIG_IDX(tls_key_path), names[1],
                             sizeof names[1]);
    ca.path = cfg->tls_client_ca_path;
    ca.name = config_origin(vals, CONFIG_IDX(tls_client_ca_path), names[2],
                            sizeof names[2]);
    return config_tls_check(
        &cert, &key, cfg->tls_require_client_auth ? &ca : NULL, err, errlen);
}

/* CACHE_MAX_VALUE_BYTES: default max memory capped at CONFIG_VALUE_CAP;
 * a value above max memory is an error. */
static bool
config_resolve_value_bytes(struct config *cfg, const struct opt_value *vals,
                           char *err, size_t errlen)
{
    const struct opt_value *v = &vals[CONFIG_IDX(max_value_bytes)];
    char show[CONFIG_SHOW_MAX * 4 + 4];

    cfg->max_memory_bytes = cfg->max_memory_mb * CONFIG_MB;
    if (v->text == NULL) {
        cfg->max_value_bytes = cfg->max_memory_bytes < CONFIG_VALUE_CAP
                                   ? cfg->max_memory_bytes
                                   : CONFIG_VALUE_CAP;
        return true;
    }
    if (cfg->max_value_bytes > cfg->max_memory_bytes) {
        config_fail(
            err, errlen, v->origin, "'%s' is above max memory (1..%" PRIu64 ")",
            config_show(v->text, show, sizeof show), cfg->max_memory_bytes);
        return false;
    }
    return true;
}

static bool
config_check_shards(const struct config *cfg, const struct opt_value *vals,
                    char *err, size_t errlen)
{
    const struct opt_value *v = &vals[CONFIG_IDX(shards)];
    char show[CONFIG_SHOW_MAX * 4 + 4];

    if ((cfg->shards & (cfg->shards - 1)) == 0)
        return true;
    config_fail(err, errlen, v->origin,
                "'%s' is not a power of two (1, 2, 4, ... 1024)",
                config_show(v->text, show, sizeof show));
    return false;
}

/* Why what is at the snapshot path p cannot be the snapshot file, or NULL:
 * nothing there (a dangling link included), or a regular file. Anything
 * else (a folder, a FIFO, a device, a loop of links, what this process
 * cannot look at) would be refused at load and replaced at the first save. */
static const char *
config_snapshot_target_why(const char *p)
{
    struct stat sb;

    if (stat(p, &sb) != 0)
        return errno == ENOENT ? NULL
                               : "cannot be looked at (a loop of links, or "
                                 "no permission)";
    if (S_ISREG(sb.st_mode))
        return NULL;
    return S_ISDIR(sb.st_mode) ? "names a folder, not a file"
                               : "names something other than a regular file";
}

/* The snapshot file's folder must exist and be writable, and the path
 * must name a file in it (its .tmp and .bad siblings included), or
 * nothing yet. */
static bool
config_check_snapshot(const struct config *cfg, const struct opt_value *vals,
                      char *err, size_t errlen)
{
    const struct opt_value *v = &vals[CONFIG_IDX(snapshot_path)];
    const char *p = cfg->snapshot_path, *slash, *why = NULL;
    char show[CONFIG_SHOW_MAX * 4 + 4], dir[PATH_MAX];
    struct stat sb;

    if (p == NULL)
        return true;
    slash = strrchr(p, '/');
    if (strlen(p) + 5 > PATH_MAX)
        why = "is too long";
    else if (slash != NULL && slash[1] == '\0')
        why = "names a folder, not a file";
    if (why == NULL) {
        snprintf(dir, sizeof dir, "%.*s",
                 slash == NULL ? 1
                 : slash == p  ? 1
                               : (int)(slash - p),
                 slash == NULL ? "." : p);
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            why = "is in a folder that does not exist";
        else if (access(dir, W_OK | X_OK) != 0)
            why = "is in a folder this process cannot write";
        else
            why = config_snapshot_target_why(p);
    }
    if (why == NULL)
        return true;
    config_fail(err, errlen, v->origin, "'%s' %s",
                config_show(p, show, sizeof show), why);
    return false;
}

/* Workers 0: half the CPUs the process can use (cpus.h), at least one.
 * The other half is left to gRPC's own threads and to the application the
 * cache runs beside: on a shared machine more workers than that trade
 * their scheduler time slices for tail latency (docs/benchmarks.md, "Tail
 * latency"). */
static void
config_resolve_workers(struct config *cfg)
{
    unsigned n;

    if (cfg->workers != 0)
        return;
    n = cpus_usable() / 2;
    cfg->workers = n < 1 ? 1 : n > 256 ? 256 : n;
}

/* Parses every setting (its default when neither flag nor variable gave
 * one), then the checks that involve several settings. */
static bool
config_apply(struct config *cfg, struct opt_value *vals, char *err,
             size_t errlen)
{
    size_t i;

    for (i = 0; i < CONFIG_NOPTS; i++) {
        if (vals[i].text == NULL)
            vals[i].text = config_options[i].def;
        if (vals[i].text != NULL &&
            !config_parse_one(&config_options[i], &vals[i], cfg, err, errlen))
            return false;
    }
    if (vals[CONFIG_IDX(max_value_bytes)].origin == NULL)
        vals[CONFIG_IDX(max_value_bytes)].text = NULL;
    if (!config_resolve_value_bytes(cfg, vals, err, errlen) ||
        !config_check_shards(cfg, vals, err, errlen) ||
        !config_check_snapshot(cfg, vals, err, errlen) ||
        !config_check_tls(cfg, vals, err, errlen))
        return false;
    config_resolve_workers(cfg);
    return true;
}

enum config_result
config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    struct opt_value vals[CONFIG_NOPTS];
    enum config_result r;
    size_t i;

    memset(cfg, 0, sizeof *cfg);
    if (errlen > 0)
        err[0] = '\0';
    for (i = 0; i < CONFIG_NOPTS; i++)
        vals[i] = (struct opt_value){NULL, NULL};
    config_read_env(vals);
    r = config_read_argv(vals, argc, argv, err, errlen);
    if (r == CONFIG_OK && !config_apply(cfg, vals, err, errlen))
        r = CONFIG_INVALID;
    if (r != CONFIG_OK)
        config_fini(cfg);
    return r;
}

void
config_fini(struct config *cfg)
{
    free(cfg->tls_cert_path);
    free(cfg->tls_key_path);
    free(cfg->tls_client_ca_path);
    free(cfg->snapshot_path);
    cfg->snapshot_path = NULL;
    cfg->tls_cert_path = NULL;
    cfg->tls_key_path = NULL;
    cfg->tls_client_ca_path = NULL;
}

/* Appends " name=value" for row e of cfg to out. */
static void
config_log_one(const struct opt_entry *e, const struct config *cfg, char *out,
               size_t outlen)
{
    static const char *const formats[] = {"text", "json"};
    const char *field = (const char *)cfg + e->offset;
    size_t len = strlen(out);
    char val[96];
    const char *path;

    switch (e->type) {
    case OPT_U64:
        snprintf(val, sizeof val, "%" PRIu64, *(const uint64_t *)field);
        break;
    case OPT_U32:
        snprintf(val, sizeof val, "%" PRIu32, *(const uint32_t *)field);
        break;
    case OPT_INT:
        snprintf(val, sizeof val, "%d", *(const int *)field);
        break;
    case OPT_BOOL:
        snprintf(val, sizeof val, "%s", *(const bool *)field ? "on" : "off");
        break;
    case OPT_HOST:
        snprintf(val, sizeof val, "%s", field);
        break;
    case OPT_PATH:
        path = *(char *const *)field;
        if (path == NULL)
            snprintf(val, sizeof val, "unset");
        else
            log_escape(path, strlen(path), 64, val, sizeof val);
        break;
    case OPT_LEVEL:
        snprintf(val, sizeof val, "%s",
                 config_level_names[*(const enum log_level *)field]);
        break;
    case OPT_FORMAT:
        snprintf(val, sizeof val, "%s",
                 formats[*(const enum log_format *)field]);
        break;
    }
    snprintf(out + len, outlen - len, " %s=%s", e->flag + 2, val);
}

void
config_log(const struct config *cfg)
{
    char line[2048] = "config:";
    size_t i;

    for (i = 0; i < CONFIG_NOPTS; i++)
        config_log_one(&config_options[i], cfg, line, sizeof line);
    log_info(NULL, "%s max-memory-bytes=%" PRIu64, line, cfg->max_memory_bytes);
}
