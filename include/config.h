/*
 * config.h: tiny-cached's configuration (README, Configuration; OPTIONS in
 * tiny-cached(8)), immutable after startup.
 *
 * config_load() reads the environment, then argv (a flag beats its variable,
 * the variable beats the default), checks every value and the TLS files, and
 * fills a struct config that nothing writes afterwards. Host settings are
 * checked as an IP address or host name (not resolved); an IPv6 address is
 * kept in brackets ("[::1]"). TLS paths are read and parsed only when TLS
 * is enabled (config_tls.h).
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARNING, LOG_ERROR };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

#define CONFIG_HOST_MAX 256

struct config {
    uint64_t max_items;          /* CACHE_MAX_ITEMS */
    uint64_t max_memory_mb;      /* CACHE_MAX_MEMORY_MB */
    uint64_t max_memory_bytes;   /* max_memory_mb * 1048576 */
    uint64_t max_value_bytes;    /* CACHE_MAX_VALUE_BYTES, resolved default */
    uint32_t cleanup_interval_s; /* CACHE_CLEANUP_INTERVAL */
    char host[CONFIG_HOST_MAX];  /* CACHE_HOST */
    int port;                    /* CACHE_PORT, 0 = pick */
    char health_host[CONFIG_HOST_MAX]; /* CACHE_HEALTH_HOST */
    int health_port;                   /* CACHE_HEALTH_PORT, 0 = pick */
    enum log_level log_level;          /* CACHE_LOG_LEVEL */
    enum log_format log_format;        /* CACHE_LOG_FORMAT */
    bool tls_enabled;                  /* CACHE_TLS_ENABLED */
    char *tls_cert_path;               /* CACHE_TLS_CERT_PATH, owned, or NULL */
    char *tls_key_path;                /* CACHE_TLS_KEY_PATH, owned, or NULL */
    bool tls_require_client_auth;      /* CACHE_TLS_REQUIRE_CLIENT_AUTH */
    char *tls_client_ca_path;     /* CACHE_TLS_CLIENT_CA_PATH, owned, or NULL */
    uint32_t workers;             /* CACHE_WORKERS, 0 made half the CPUs */
    uint32_t shards;              /* CACHE_SHARDS */
    uint32_t shutdown_delay_s;    /* CACHE_SHUTDOWN_DELAY */
    uint32_t shutdown_grace_s;    /* CACHE_SHUTDOWN_GRACE */
    uint32_t max_batch;           /* CACHE_MAX_BATCH: items per batch call */
    uint32_t idle_timeout_s;      /* CACHE_IDLE_TIMEOUT: gRPC connections */
    char *snapshot_path;          /* CACHE_SNAPSHOT_PATH, owned, or NULL: off */
    uint32_t snapshot_interval_s; /* CACHE_SNAPSHOT_INTERVAL, 0: at exit */
};

enum config_result {
    CONFIG_OK = 0,  /* cfg filled: go on */
    CONFIG_EXIT,    /* --help or --version printed: exit 0 */
    CONFIG_INVALID, /* err holds one line naming the setting: exit 2 */
};

/* Fills cfg from the environment and argv. On CONFIG_INVALID, err holds a
 * line like "--max-items: 'abc' is not a number (1..2147483647)" and cfg
 * owns nothing. On CONFIG_OK, release with config_fini(). */
enum config_result config_load(struct config *cfg, int argc, char **argv,
                               char *err, size_t errlen);
void config_fini(struct config *cfg);
/* Logs the effective configuration at INFO, one line. */
void config_log(const struct config *cfg);

#endif
