/*
 * check_config.c: config_load() against the README's Configuration:
 * defaults, precedence, every class of invalid value, the TLS file checks,
 * --help, --version and the startup log line.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "config.h"
#include "cpus.h"
#include "fd_capture.h"
#include "log.h"
#include "tc_autoconf.h"

#define MAX_ARGS 16

static const char *const cache_vars[] = {
    "CACHE_MAX_ITEMS",
    "CACHE_MAX_MEMORY_MB",
    "CACHE_MAX_VALUE_BYTES",
    "CACHE_CLEANUP_INTERVAL",
    "CACHE_HOST",
    "CACHE_PORT",
    "CACHE_HEALTH_HOST",
    "CACHE_HEALTH_PORT",
    "CACHE_LOG_LEVEL",
    "CACHE_LOG_FORMAT",
    "CACHE_TLS_ENABLED",
    "CACHE_TLS_CERT_PATH",
    "CACHE_TLS_KEY_PATH",
    "CACHE_TLS_REQUIRE_CLIENT_AUTH",
    "CACHE_TLS_CLIENT_CA_PATH",
    "CACHE_WORKERS",
    "CACHE_SHARDS",
    "CACHE_SHUTDOWN_DELAY",
    "CACHE_SHUTDOWN_GRACE",
    "CACHE_MAX_BATCH",
    "CACHE_IDLE_TIMEOUT",
};

static struct config cfg;
static char err[512];

static void
clean_env(void)
{
    size_t i;

    for (i = 0; i < sizeof cache_vars / sizeof cache_vars[0]; i++)
        unsetenv(cache_vars[i]);
    memset(&cfg, 0, sizeof cfg);
    err[0] = '\0';
}

static void
release(void)
{
    config_fini(&cfg);
}

/* config_load() with argv = tiny-cached followed by the NULL-terminated
 * arguments. */
static enum config_result
load(const char *first, ...)
{
    char *argv[MAX_ARGS + 2] = {"tiny-cached"};
    const char *a;
    va_list ap;
    int argc = 1;

    va_start(ap, first);
    for (a = first; a != NULL && argc <= MAX_ARGS; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return config_load(&cfg, argc, argv, err, sizeof err);
}

static void
expect_invalid(enum config_result r, const char *want)
{
    ck_assert_int_eq(r, CONFIG_INVALID);
    ck_assert_str_eq(err, want);
}

/* ---- defaults and precedence ------------------------------------------ */

START_TEST(test_config_defaults_match_spec)
{
    ck_assert_int_eq(load(NULL), CONFIG_OK);
    ck_assert_uint_eq(cfg.max_items, 1000);
    ck_assert_uint_eq(cfg.max_memory_mb, 100);
    ck_assert_uint_eq(cfg.max_memory_bytes, 100u * 1048576u);
    ck_assert_uint_eq(cfg.max_value_bytes, 100u * 1048576u);
    ck_assert_uint_eq(cfg.cleanup_interval_s, 10);
    ck_assert_str_eq(cfg.host, "[::]");
    ck_assert_int_eq(cfg.port, 50051);
    ck_assert_str_eq(cfg.health_host, "0.0.0.0");
    ck_assert_int_eq(cfg.health_port, 8080);
    ck_assert_int_eq(cfg.log_level, LOG_INFO);
    ck_assert_int_eq(cfg.log_format, LOG_FORMAT_TEXT);
    ck_assert(!cfg.tls_enabled);
    ck_assert_ptr_null(cfg.tls_cert_path);
    ck_assert_ptr_null(cfg.tls_key_path);
    ck_assert(!cfg.tls_require_client_auth);
    ck_assert_ptr_null(cfg.tls_client_ca_path);
    ck_assert_uint_ge(cfg.workers, 1);
    ck_assert_uint_eq(cfg.shards, 16);
    ck_assert_uint_eq(cfg.shutdown_delay_s, 0);
    ck_assert_uint_eq(cfg.shutdown_grace_s, 5);
    ck_assert_uint_eq(cfg.idle_timeout_s, 300);
}
END_TEST

START_TEST(test_config_flag_beats_env_beats_default)
{
    setenv("CACHE_MAX_ITEMS", "77", 1);
    setenv("CACHE_SHARDS", "4", 1);
    ck_assert_int_eq(load("--max-items", "55", NULL), CONFIG_OK);
    ck_assert_uint_eq(cfg.max_items, 55);
    ck_assert_uint_eq(cfg.shards, 4);
    ck_assert_uint_eq(cfg.cleanup_interval_s, 10);
}
END_TEST

START_TEST(test_config_flag_beats_invalid_env)
{
    setenv("CACHE_MAX_ITEMS", "abc", 1);
    ck_assert_int_eq(load("--max-items=9", NULL), CONFIG_OK);
    ck_assert_uint_eq(cfg.max_items, 9);
}
END_TEST

START_TEST(test_config_flag_with_equals_or_separate_value)
{
    ck_assert_int_eq(load("--port=0", "--health-port", "0", "--workers=3",
                          "--log-format", "JSON", NULL),
                     CONFIG_OK);
    ck_assert_int_eq(cfg.port, 0);
    ck_assert_int_eq(cfg.health_port, 0);
    ck_assert_uint_eq(cfg.workers, 3);
    ck_assert_int_eq(cfg.log_format, LOG_FORMAT_JSON);
}
END_TEST

START_TEST(test_config_every_variable_is_read)
{
    setenv("CACHE_MAX_ITEMS", "2", 1);
    setenv("CACHE_MAX_MEMORY_MB", "3", 1);
    setenv("CACHE_MAX_VALUE_BYTES", "1000", 1);
    setenv("CACHE_CLEANUP_INTERVAL", "86400", 1);
    setenv("CACHE_HOST", "localhost", 1);
    setenv("CACHE_PORT", "65535", 1);
    setenv("CACHE_HEALTH_HOST", "::1", 1);
    setenv("CACHE_HEALTH_PORT", "1", 1);
    setenv("CACHE_LOG_LEVEL", "warning", 1);
    setenv("CACHE_LOG_FORMAT", "Json", 1);
    setenv("CACHE_WORKERS", "256", 1);
    setenv("CACHE_SHARDS", "1024", 1);
    setenv("CACHE_SHUTDOWN_DELAY", "3600", 1);
    setenv("CACHE_SHUTDOWN_GRACE", "0", 1);
    ck_assert_int_eq(load(NULL), CONFIG_OK);
    ck_assert_uint_eq(cfg.max_items, 2);
    ck_assert_uint_eq(cfg.max_memory_bytes, 3u * 1048576u);
    ck_assert_uint_eq(cfg.max_value_bytes, 1000);
    ck_assert_uint_eq(cfg.cleanup_interval_s, 86400);
    ck_assert_str_eq(cfg.host, "localhost");
    ck_assert_int_eq(cfg.port, 65535);
    ck_assert_str_eq(cfg.health_host, "[::1]");
    ck_assert_int_eq(cfg.health_port, 1);
    ck_assert_int_eq(cfg.log_level, LOG_WARNING);
    ck_assert_int_eq(cfg.log_format, LOG_FORMAT_JSON);
    ck_assert_uint_eq(cfg.workers, 256);
    ck_assert_uint_eq(cfg.shards, 1024);
    ck_assert_uint_eq(cfg.shutdown_delay_s, 3600);
    ck_assert_uint_eq(cfg.shutdown_grace_s, 0);
}
END_TEST

START_TEST(test_config_workers_zero_is_half_the_usable_cpus)
{
    unsigned cpus = cpus_usable();

    ck_assert_int_eq(load("--workers", "0", NULL), CONFIG_OK);
    ck_assert_uint_eq(cfg.workers, cpus / 2 < 1 ? 1 : cpus / 2);
}
END_TEST

START_TEST(test_config_max_value_bytes_default_capped_below_2g)
{
    ck_assert_int_eq(load("--max-memory-mb", "4096", NULL), CONFIG_OK);
    ck_assert_uint_eq(cfg.max_memory_bytes, UINT64_C(4096) * 1048576);
    ck_assert_uint_eq(cfg.max_value_bytes, INT32_MAX - 4096);
}
END_TEST

START_TEST(test_config_max_value_bytes_equal_to_max_memory_accepted)
{
    ck_assert_int_eq(
        load("--max-memory-mb", "1", "--max-value-bytes", "1048576", NULL),
        CONFIG_OK);
    ck_assert_uint_eq(cfg.max_value_bytes, 1048576);
}
END_TEST

/* ---- invalid numbers --------------------------------------------------- */

START_TEST(test_config_not_a_number_names_flag)
{
    expect_invalid(load("--max-items", "abc", NULL),
                   "--max-items: 'abc' is not a number (1..2147483647)");
}
END_TEST

START_TEST(test_config_not_a_number_names_variable)
{
    setenv("CACHE_MAX_ITEMS", "abc", 1);
    expect_invalid(load(NULL),
                   "CACHE_MAX_ITEMS: 'abc' is not a number (1..2147483647)");
}
END_TEST

START_TEST(test_config_empty_value_is_not_a_number)
{
    setenv("CACHE_PORT", "", 1);
    expect_invalid(load(NULL), "CACHE_PORT: '' is not a number (0..65535)");
}
END_TEST

START_TEST(test_config_trailing_junk_refused)
{
    expect_invalid(load("--cleanup-interval=10s", NULL),
                   "--cleanup-interval: '10s' has junk after the number "
                   "(1..86400)");
    expect_invalid(load("--port", "80 ", NULL),
                   "--port: '80 ' has junk after the number (0..65535)");
    expect_invalid(load("--port", "0x50", NULL),
                   "--port: '0x50' has junk after the number (0..65535)");
}
END_TEST

START_TEST(test_config_signs_and_spaces_refused)
{
    expect_invalid(load("--port", "+80", NULL),
                   "--port: '+80' is not a number (0..65535)");
    expect_invalid(load("--port", " 80", NULL),
                   "--port: ' 80' is not a number (0..65535)");
    expect_invalid(load("--port", "-1", NULL),
                   "--port: '-1' is out of range (0..65535)");
    expect_invalid(load("--port", "-0", NULL),
                   "--port: '-0' is out of range (0..65535)");
}
END_TEST

START_TEST(test_config_out_of_range_low)
{
    expect_invalid(load("--max-items", "0", NULL),
                   "--max-items: '0' is out of range (1..2147483647)");
    setenv("CACHE_CLEANUP_INTERVAL", "0", 1);
    expect_invalid(load(NULL),
                   "CACHE_CLEANUP_INTERVAL: '0' is out of range (1..86400)");
}
END_TEST

START_TEST(test_config_out_of_range_high)
{
    expect_invalid(load("--max-items", "2147483648", NULL),
                   "--max-items: '2147483648' is out of range "
                   "(1..2147483647)");
    expect_invalid(load("--max-memory-mb", "1048577", NULL),
                   "--max-memory-mb: '1048577' is out of range (1..1048576)");
    expect_invalid(load("--port", "65536", NULL),
                   "--port: '65536' is out of range (0..65535)");
    expect_invalid(load("--workers", "257", NULL),
                   "--workers: '257' is out of range (0..256)");
    expect_invalid(load("--shutdown-grace", "3601", NULL),
                   "--shutdown-grace: '3601' is out of range (0..3600)");
}
END_TEST

START_TEST(test_config_overflow_is_out_of_range)
{
    expect_invalid(load("--max-items", "99999999999999999999999", NULL),
                   "--max-items: '99999999999999999999999' is out of range "
                   "(1..2147483647)");
    expect_invalid(load("--port", "18446744073709551616", NULL),
                   "--port: '18446744073709551616' is out of range "
                   "(0..65535)");
}
END_TEST

START_TEST(test_config_max_value_bytes_above_max_memory)
{
    expect_invalid(
        load("--max-memory-mb", "1", "--max-value-bytes", "1048577", NULL),
        "--max-value-bytes: '1048577' is above max memory (1..1048576)");
}
END_TEST

START_TEST(test_config_max_value_bytes_above_cap)
{
    setenv("CACHE_MAX_MEMORY_MB", "4096", 1);
    setenv("CACHE_MAX_VALUE_BYTES", "2147479552", 1);
    expect_invalid(load(NULL), "CACHE_MAX_VALUE_BYTES: '2147479552' is out of "
                               "range (1..2147479551)");
}
END_TEST

START_TEST(test_config_shards_not_power_of_two)
{
    expect_invalid(load("--shards", "12", NULL),
                   "--shards: '12' is not a power of two (1, 2, 4, ... 1024)");
    setenv("CACHE_SHARDS", "3", 1);
    expect_invalid(
        load(NULL),
        "CACHE_SHARDS: '3' is not a power of two (1, 2, 4, ... 1024)");
    expect_invalid(load("--shards", "2048", NULL),
                   "--shards: '2048' is out of range (1..1024)");
    ck_assert_int_eq(load("--shards", "1", NULL), CONFIG_OK);
    ck_assert_uint_eq(cfg.shards, 1);
}
END_TEST

START_TEST(test_config_value_shown_escaped_on_one_line)
{
    expect_invalid(load("--port", "8\n0", NULL),
                   "--port: '8\\x0a0' has junk after the number (0..65535)");
}
END_TEST

/* ---- words --------------------------------------------------------------- */

START_TEST(test_config_booleans_any_case)
{
    static const char *const on[] = {"1", "true", "TRUE", "Yes",
                                     "y", "Y",    "on",   "ON"};
    static const char *const off[] = {"0", "false", "False", "NO",
                                      "n", "off",   "Off"};
    char want[128];
    size_t i;

    /* true with TLS off is refused (see below): the refusal shows the
     * word was read as true */
    for (i = 0; i < sizeof on / sizeof on[0]; i++) {
        snprintf(want, sizeof want,
                 "--tls-require-client-auth: '%s' needs TLS enabled; "
                 "--tls-enabled (CACHE_TLS_ENABLED) is off",
                 on[i]);
        expect_invalid(load("--tls-require-client-auth", on[i], NULL), want);
    }
    for (i = 0; i < sizeof off / sizeof off[0]; i++) {
        ck_assert_int_eq(load("--tls-require-client-auth", off[i], NULL),
                         CONFIG_OK);
        ck_assert_msg(!cfg.tls_require_client_auth, "%s", off[i]);
    }
}
END_TEST

START_TEST(test_config_client_auth_needs_tls)
{
    setenv("CACHE_TLS_REQUIRE_CLIENT_AUTH", "true", 1);
    expect_invalid(load(NULL), "CACHE_TLS_REQUIRE_CLIENT_AUTH: 'true' needs "
                               "TLS enabled; --tls-enabled (CACHE_TLS_ENABLED) "
                               "is off");
    setenv("CACHE_TLS_ENABLED", "false", 1);
    expect_invalid(load(NULL), "CACHE_TLS_REQUIRE_CLIENT_AUTH: 'true' needs "
                               "TLS enabled; CACHE_TLS_ENABLED is off");
    expect_invalid(
        load("--tls-enabled", "no", "--tls-require-client-auth", "yes", NULL),
        "--tls-require-client-auth: 'yes' needs TLS enabled; "
        "--tls-enabled is off");
    unsetenv("CACHE_TLS_REQUIRE_CLIENT_AUTH");
    ck_assert_int_eq(load("--tls-require-client-auth", "off", NULL), CONFIG_OK);
}
END_TEST

START_TEST(test_config_unknown_boolean_word)
{
    setenv("CACHE_TLS_ENABLED", "maybe", 1);
    expect_invalid(load(NULL), "CACHE_TLS_ENABLED: 'maybe' is not a boolean "
                               "(1/0, true/false, yes/no, y/n, on/off)");
    expect_invalid(load("--tls-enabled", "2", NULL),
                   "--tls-enabled: '2' is not a boolean "
                   "(1/0, true/false, yes/no, y/n, on/off)");
}
END_TEST

START_TEST(test_config_log_level_any_case)
{
    ck_assert_int_eq(load("--log-level", "debug", NULL), CONFIG_OK);
    ck_assert_int_eq(cfg.log_level, LOG_DEBUG);
    ck_assert_int_eq(load("--log-level", "Error", NULL), CONFIG_OK);
    ck_assert_int_eq(cfg.log_level, LOG_ERROR);
}
END_TEST

START_TEST(test_config_unknown_log_level_or_format)
{
    expect_invalid(load("--log-level", "verbose", NULL),
                   "--log-level: 'verbose' is not one of DEBUG, INFO, WARNING, "
                   "ERROR");
    setenv("CACHE_LOG_FORMAT", "xml", 1);
    expect_invalid(load(NULL),
                   "CACHE_LOG_FORMAT: 'xml' is not one of text, json");
}
END_TEST

START_TEST(test_config_hosts)
{
    ck_assert_int_eq(load("--host", "::", "--health-host", "[::1]", NULL),
                     CONFIG_OK);
    ck_assert_str_eq(cfg.host, "[::]");
    ck_assert_str_eq(cfg.health_host, "[::1]");
    ck_assert_int_eq(load("--host", "cache-0.cache.svc", NULL), CONFIG_OK);
    ck_assert_str_eq(cfg.host, "cache-0.cache.svc");
    expect_invalid(load("--host", "bad host", NULL),
                   "--host: 'bad host' is not an IP address or host name");
    expect_invalid(load("--host", "[1.2.3.4]", NULL),
                   "--host: '[1.2.3.4]' is not an IP address or host name");
    setenv("CACHE_HEALTH_HOST", "", 1);
    expect_invalid(load(NULL),
                   "CACHE_HEALTH_HOST: '' is not an IP address or host name");
}
END_TEST

/* ---- argv shape, --help, --version ----------------------------------------
 */

START_TEST(test_config_unknown_option)
{
    expect_invalid(load("--max-itemz", "5", NULL),
                   "--max-itemz: unknown option (see --help)");
}
END_TEST

START_TEST(test_config_flag_without_value)
{
    expect_invalid(load("--max-items", NULL),
                   "--max-items: needs a value (see --help)");
}
END_TEST

START_TEST(test_config_positional_argument_refused)
{
    expect_invalid(load("serve", NULL),
                   "serve: unexpected argument (see --help)");
}
END_TEST

START_TEST(test_config_help_lists_every_flag_and_exits)
{
    struct fd_capture c;
    static char out[16384];

    setenv("CACHE_MAX_ITEMS", "abc", 1);
    fd_capture_start(&c, STDOUT_FILENO);
    ck_assert_int_eq(load("--help", NULL), CONFIG_EXIT);
    fd_capture_end(&c, out, sizeof out);
    ck_assert_ptr_nonnull(
        strstr(out, "--max-items=N  (CACHE_MAX_ITEMS)\n      most entries the "
                    "cache holds\n      1..2147483647, default: 1000\n"));
    ck_assert_ptr_nonnull(strstr(out, "--shards=N  (CACHE_SHARDS)"));
    ck_assert_ptr_nonnull(strstr(out, "--tls-client-ca-path=FILE"));
    ck_assert_ptr_nonnull(strstr(out, "--shutdown-grace=SECONDS"));
    ck_assert_ptr_nonnull(strstr(out, "--version"));
}
END_TEST

START_TEST(test_config_version_prints_package_version)
{
    struct fd_capture c;
    char out[256];

    fd_capture_start(&c, STDOUT_FILENO);
    ck_assert_int_eq(load("--version", NULL), CONFIG_EXIT);
    fd_capture_end(&c, out, sizeof out);
    ck_assert_str_eq(out, "tiny-cached " PACKAGE_VERSION "\n");
}
END_TEST

START_TEST(test_config_log_line_shows_effective_settings)
{
    struct fd_capture c;
    char out[4096];

    log_init(LOG_INFO, LOG_FORMAT_TEXT);
    ck_assert_int_eq(load("--max-items", "42", "--host", "127.0.0.1", NULL),
                     CONFIG_OK);
    fd_capture_start(&c, STDERR_FILENO);
    config_log(&cfg);
    fd_capture_end(&c, out, sizeof out);
    ck_assert_ptr_nonnull(strstr(out, " INFO [-] config: max-items=42 "));
    ck_assert_ptr_nonnull(strstr(out, " shards=16 "));
    ck_assert_ptr_nonnull(strstr(out, " tls-cert-path=unset "));
    ck_assert_ptr_null(strstr(out, "WARNING"));
}
END_TEST

/* ---- TLS ------------------------------------------------------------------
 */

/* Made once per tcase in the parent (an unchecked fixture), before the
 * forked tests read them. */
static char tls_dir[64];
static char cert_a[128], key_a[128], cert_b[128], key_b[128], junk[128];

static void
tls_path(char *out, const char *name)
{
    snprintf(out, 128, "%s/%s", tls_dir, name);
}

static void
make_pair(const char *cert, const char *key)
{
    char cmd[512];

    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost "
             "-keyout '%s' -out '%s' >/dev/null 2>&1",
             key, cert);
    ck_assert_int_eq(system(cmd), 0);
}

static void
tls_setup(void)
{
    FILE *f;

    snprintf(tls_dir, sizeof tls_dir, "/tmp/check_config.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tls_dir));
    tls_path(cert_a, "a.crt");
    tls_path(key_a, "a.key");
    tls_path(cert_b, "b.crt");
    tls_path(key_b, "b.key");
    tls_path(junk, "junk.pem");
    make_pair(cert_a, key_a);
    make_pair(cert_b, key_b);
    f = fopen(junk, "w");
    ck_assert_ptr_nonnull(f);
    fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n", f);
    fclose(f);
}

static void
tls_teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tls_dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_config_tls_valid_pair_and_ca)
{
    ck_assert_int_eq(load("--tls-enabled", "on", "--tls-cert-path", cert_a,
                          "--tls-key-path", key_a, "--tls-require-client-auth",
                          "yes", "--tls-client-ca-path", cert_b, NULL),
                     CONFIG_OK);
    ck_assert(cfg.tls_enabled);
    ck_assert(cfg.tls_require_client_auth);
    ck_assert_str_eq(cfg.tls_cert_path, cert_a);
    ck_assert_str_eq(cfg.tls_key_path, key_a);
    ck_assert_str_eq(cfg.tls_client_ca_path, cert_b);
}
END_TEST

START_TEST(test_config_tls_on_without_cert_or_key)
{
    setenv("CACHE_TLS_ENABLED", "true", 1);
    expect_invalid(load(NULL), "--tls-cert-path (CACHE_TLS_CERT_PATH): "
                               "required when TLS is enabled");
    setenv("CACHE_TLS_CERT_PATH", cert_a, 1);
    expect_invalid(load(NULL), "--tls-key-path (CACHE_TLS_KEY_PATH): "
                               "required when TLS is enabled");
    setenv("CACHE_TLS_KEY_PATH", "", 1);
    expect_invalid(load(NULL), "CACHE_TLS_KEY_PATH: "
                               "required when TLS is enabled");
}
END_TEST

START_TEST(test_config_client_auth_without_ca)
{
    expect_invalid(load("--tls-enabled", "1", "--tls-cert-path", cert_a,
                        "--tls-key-path", key_a, "--tls-require-client-auth",
                        "1", NULL),
                   "--tls-client-ca-path (CACHE_TLS_CLIENT_CA_PATH): "
                   "required when client auth is required");
}
END_TEST

START_TEST(test_config_tls_unreadable_file)
{
    char missing[160], want[320];

    snprintf(missing, sizeof missing, "%s/missing.crt", tls_dir);
    snprintf(want, sizeof want,
             "--tls-cert-path: '%s' cannot be read: No such file or "
             "directory",
             missing);
    expect_invalid(load("--tls-enabled", "y", "--tls-cert-path", missing,
                        "--tls-key-path", key_a, NULL),
                   want);
    snprintf(want, sizeof want, "--tls-key-path: '%s' is not a regular file",
             tls_dir);
    expect_invalid(load("--tls-enabled", "y", "--tls-cert-path", cert_a,
                        "--tls-key-path", tls_dir, NULL),
                   want);
    /* a FIFO is refused at once, not waited on for a writer */
    snprintf(missing, sizeof missing, "%s/fifo.key", tls_dir);
    ck_assert_int_eq(mkfifo(missing, 0600), 0);
    snprintf(want, sizeof want, "--tls-key-path: '%s' is not a regular file",
             missing);
    expect_invalid(load("--tls-enabled", "y", "--tls-cert-path", cert_a,
                        "--tls-key-path", missing, NULL),
                   want);
    unlink(missing);
}
END_TEST

START_TEST(test_config_tls_file_not_pem)
{
    char want[320];

    setenv("CACHE_TLS_ENABLED", "yes", 1);
    setenv("CACHE_TLS_CERT_PATH", junk, 1);
    setenv("CACHE_TLS_KEY_PATH", key_a, 1);
    snprintf(want, sizeof want,
             "CACHE_TLS_CERT_PATH: '%s' holds no PEM certificate", junk);
    expect_invalid(load(NULL), want);
    snprintf(want, sizeof want,
             "--tls-key-path: '%s' holds no unencrypted PEM private key",
             cert_a);
    expect_invalid(
        load("--tls-cert-path", cert_a, "--tls-key-path", cert_a, NULL), want);
    snprintf(want, sizeof want,
             "--tls-client-ca-path: '%s' holds no PEM certificate", key_b);
    expect_invalid(load("--tls-cert-path", cert_a, "--tls-require-client-auth",
                        "on", "--tls-client-ca-path", key_b, NULL),
                   want);
}
END_TEST

START_TEST(test_config_tls_key_not_matching_cert)
{
    char want[320];

    snprintf(want, sizeof want,
             "--tls-key-path: '%s' does not match the certificate", key_b);
    expect_invalid(load("--tls-enabled", "true", "--tls-cert-path", cert_a,
                        "--tls-key-path", key_b, NULL),
                   want);
}
END_TEST

START_TEST(test_config_tls_off_ignores_paths)
{
    ck_assert_int_eq(load("--tls-cert-path", junk, "--tls-key-path", key_b,
                          "--tls-client-ca-path", junk, NULL),
                     CONFIG_OK);
    ck_assert(!cfg.tls_enabled);
}
END_TEST

static void
add(Suite *s, const char *name, const TTest *t)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, clean_env, release);
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

static TCase *
tls_case(void)
{
    TCase *tc = tcase_create("tls_files");

    tcase_set_timeout(tc, 30);
    tcase_add_unchecked_fixture(tc, tls_setup, tls_teardown);
    tcase_add_checked_fixture(tc, clean_env, release);
    tcase_add_test(tc, test_config_tls_valid_pair_and_ca);
    tcase_add_test(tc, test_config_tls_on_without_cert_or_key);
    tcase_add_test(tc, test_config_client_auth_without_ca);
    tcase_add_test(tc, test_config_tls_unreadable_file);
    tcase_add_test(tc, test_config_tls_file_not_pem);
    tcase_add_test(tc, test_config_tls_key_not_matching_cert);
    tcase_add_test(tc, test_config_tls_off_ignores_paths);
    return tc;
}

static Suite *
config_suite(void)
{
    Suite *s = suite_create("config");

    add(s, "defaults", test_config_defaults_match_spec);
    add(s, "precedence", test_config_flag_beats_env_beats_default);
    add(s, "precedence_invalid_env", test_config_flag_beats_invalid_env);
    add(s, "flag_forms", test_config_flag_with_equals_or_separate_value);
    add(s, "every_variable", test_config_every_variable_is_read);
    add(s, "workers_zero", test_config_workers_zero_is_half_the_usable_cpus);
    add(s, "value_cap", test_config_max_value_bytes_default_capped_below_2g);
    add(s, "value_equal_memory",
        test_config_max_value_bytes_equal_to_max_memory_accepted);
    add(s, "not_a_number_flag", test_config_not_a_number_names_flag);
    add(s, "not_a_number_env", test_config_not_a_number_names_variable);
    add(s, "empty_number", test_config_empty_value_is_not_a_number);
    add(s, "trailing_junk", test_config_trailing_junk_refused);
    add(s, "signs", test_config_signs_and_spaces_refused);
    add(s, "range_low", test_config_out_of_range_low);
    add(s, "range_high", test_config_out_of_range_high);
    add(s, "overflow", test_config_overflow_is_out_of_range);
    add(s, "value_above_memory", test_config_max_value_bytes_above_max_memory);
    add(s, "value_above_cap", test_config_max_value_bytes_above_cap);
    add(s, "shards_power_of_two", test_config_shards_not_power_of_two);
    add(s, "value_escaped", test_config_value_shown_escaped_on_one_line);
    add(s, "booleans", test_config_booleans_any_case);
    add(s, "boolean_unknown", test_config_unknown_boolean_word);
    add(s, "client_auth_needs_tls", test_config_client_auth_needs_tls);
    add(s, "log_level_case", test_config_log_level_any_case);
    add(s, "word_unknown", test_config_unknown_log_level_or_format);
    add(s, "hosts", test_config_hosts);
    add(s, "unknown_option", test_config_unknown_option);
    add(s, "missing_value", test_config_flag_without_value);
    add(s, "positional", test_config_positional_argument_refused);
    add(s, "help", test_config_help_lists_every_flag_and_exits);
    add(s, "version", test_config_version_prints_package_version);
    add(s, "log_line", test_config_log_line_shows_effective_settings);
    suite_add_tcase(s, tls_case());
    return s;
}

int
main(void)
{
    return check_run(config_suite());
}
