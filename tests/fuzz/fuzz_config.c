/*
 * fuzz_config.c: libFuzzer target for the configuration parser,
 * config_load(), fed both of its sources: the environment and argv.
 *
 * Input: lines separated by '\n'. A line "CACHE_<NAME>=<value>" becomes an
 * environment variable; every other line is the next argument after
 * argv[0] ("tiny-cached"). A NUL byte ends its line's text early. Every
 * CACHE_* variable is removed before each run (those of the fuzzer's own
 * environment too) and again after it, so no setting leaks into the next
 * run; the variables are set with putenv() on buffers freed afterwards, so
 * memory does not grow across runs.
 *
 * config_load() never calls exit(): --help and --version print to stdout
 * and return CONFIG_EXIT, so those flags (and their getopt abbreviations)
 * stay in play. stdout goes to /dev/null so the help text does not flood
 * the fuzzer's output, which is on stderr.
 *
 * Checked: CONFIG_OK gives a config within every bound README.md documents;
 * CONFIG_INVALID gives one line of printable text naming the setting (the
 * value escaped) and owns nothing, so LeakSanitizer sees any leak.
 */
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define FUZZ_ENV_PREFIX "CACHE_"
#define FUZZ_MB         UINT64_C(1048576)
#define FUZZ_VALUE_CAP  (INT32_MAX - 4096)

extern char **environ;

/* The input cut into lines, each its own NUL-terminated copy. */
struct fuzz_lines {
    char **argv; /* "tiny-cached", then the argument lines, then NULL */
    int argc;
    char **env; /* the "CACHE_..." lines, each put into the environment */
    size_t nenv;
};

/* Removes every CACHE_* variable from the environment. */
static void
fuzz_clear_env(void)
{
    char *name;
    size_t i;

    for (i = 0; environ[i] != NULL;) {
        if (strncmp(environ[i], FUZZ_ENV_PREFIX, strlen(FUZZ_ENV_PREFIX))) {
            i++;
            continue;
        }
        name = strndup(environ[i], strcspn(environ[i], "="));
        FUZZ_CHECK(name != NULL);
        FUZZ_CHECK(unsetenv(name) == 0);
        free(name);
        i = 0; /* unsetenv() moved the entries after it */
    }
}

static char *
fuzz_copy(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);

    FUZZ_CHECK(s != NULL);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static bool
fuzz_is_env(const char *line)
{
    return strncmp(line, FUZZ_ENV_PREFIX, strlen(FUZZ_ENV_PREFIX)) == 0 &&
           strchr(line, '=') != NULL;
}

/* Splits data into lines: argv and environment entries (put in place). */
static void
fuzz_split(const uint8_t *data, size_t size, struct fuzz_lines *l)
{
    const uint8_t *p = data, *end = data + size, *nl;
    size_t nlines = 1;
    char *s;

    for (nl = data; (nl = memchr(nl, '\n', (size_t)(end - nl))); nl++)
        nlines++;
    l->argv = calloc(nlines + 2, sizeof *l->argv);
    l->env = calloc(nlines, sizeof *l->env);
    FUZZ_CHECK(l->argv != NULL && l->env != NULL);
    l->argv[0] = fuzz_copy((const uint8_t *)"tiny-cached", 11);
    l->argc = 1;
    l->nenv = 0;
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        s = fuzz_copy(p, (size_t)(nl - p));
        if (fuzz_is_env(s)) {
            FUZZ_CHECK(putenv(s) == 0);
            l->env[l->nenv++] = s;
        } else {
            l->argv[l->argc++] = s;
        }
        p = nl + 1;
    }
}

static void
fuzz_free_lines(struct fuzz_lines *l)
{
    size_t i;

    fuzz_clear_env(); /* before the buffers environ points into go */
    for (i = 0; i < l->nenv; i++)
        free(l->env[i]);
    for (i = 0; i < (size_t)l->argc; i++)
        free(l->argv[i]);
    free(l->env);
    free(l->argv);
}

static bool
fuzz_host_ok(const char *h)
{
    size_t n = strnlen(h, CONFIG_HOST_MAX);

    return n > 0 && n < CONFIG_HOST_MAX;
}

/* Every field of a loaded config is within its documented bounds. */
static void
fuzz_check_config(const struct config *c)
{
    uint64_t cap = c->max_memory_bytes < FUZZ_VALUE_CAP ? c->max_memory_bytes
                                                        : FUZZ_VALUE_CAP;

    FUZZ_CHECK(c->max_items >= 1 && c->max_items <= INT32_MAX);
    FUZZ_CHECK(c->max_memory_mb >= 1 && c->max_memory_mb <= 1048576);
    FUZZ_CHECK(c->max_memory_bytes == c->max_memory_mb * FUZZ_MB);
    FUZZ_CHECK(c->max_value_bytes >= 1 && c->max_value_bytes <= cap);
    FUZZ_CHECK(c->cleanup_interval_s >= 1 && c->cleanup_interval_s <= 86400);
    FUZZ_CHECK(fuzz_host_ok(c->host) && fuzz_host_ok(c->health_host));
    FUZZ_CHECK(c->port >= 0 && c->port <= 65535);
    FUZZ_CHECK(c->health_port >= 0 && c->health_port <= 65535);
    FUZZ_CHECK(c->log_level >= LOG_DEBUG && c->log_level <= LOG_ERROR);
    FUZZ_CHECK(c->log_format == LOG_FORMAT_TEXT ||
               c->log_format == LOG_FORMAT_JSON);
    FUZZ_CHECK(!c->tls_enabled ||
               (c->tls_cert_path != NULL && c->tls_key_path != NULL));
    FUZZ_CHECK(!c->tls_enabled || !c->tls_require_client_auth ||
               c->tls_client_ca_path != NULL);
    FUZZ_CHECK(c->workers >= 1 && c->workers <= 256);
    FUZZ_CHECK(c->shards >= 1 && c->shards <= 1024);
    FUZZ_CHECK((c->shards & (c->shards - 1)) == 0);
    FUZZ_CHECK(c->shutdown_delay_s <= 3600 && c->shutdown_grace_s <= 3600);
    FUZZ_CHECK(c->idle_timeout_s >= 1 && c->idle_timeout_s <= 86400);
}

/* An error is one non-empty line of printable ASCII, "<setting>: ...". */
static void
fuzz_check_error(const char *err, size_t errlen)
{
    size_t n = strnlen(err, errlen), i;

    FUZZ_CHECK(n > 0 && n < errlen);
    FUZZ_CHECK(strstr(err, ": ") != NULL);
    for (i = 0; i < n; i++)
        FUZZ_CHECK(err[i] >= 0x20 && err[i] < 0x7f);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    FUZZ_CHECK(freopen("/dev/null", "w", stdout) != NULL);
    fuzz_clear_env();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_lines l;
    struct config cfg;
    char err[512];

    fuzz_clear_env();
    fuzz_split(data, size, &l);
    memset(err, 'x', sizeof err);
    switch (config_load(&cfg, l.argc, l.argv, err, sizeof err)) {
    case CONFIG_OK:
        fuzz_check_config(&cfg);
        config_fini(&cfg);
        break;
    case CONFIG_INVALID:
        fuzz_check_error(err, sizeof err);
        FUZZ_CHECK(cfg.tls_cert_path == NULL && cfg.tls_key_path == NULL &&
                   cfg.tls_client_ca_path == NULL);
        break;
    case CONFIG_EXIT:
        FUZZ_CHECK(l.argc > 1);
        break;
    default:
        FUZZ_CHECK(!"config_load returned no config_result");
    }
    fuzz_free_lines(&l);
    return 0;
}
