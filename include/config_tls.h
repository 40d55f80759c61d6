/*
 * config_tls.h: the TLS files (README, Configuration), checked before
 * anything binds.
 *
 * Each file must be a readable regular file holding PEM: the certificate
 * (its first certificate is the server's or the client's), an unencrypted
 * private key that belongs to that certificate, the two taken by OpenSSL
 * for a TLS context at its security level, and, with client auth or a
 * client's own roots, at least one CA certificate. OpenSSL parses them;
 * nothing is kept.
 */
#ifndef CONFIG_TLS_H
#define CONFIG_TLS_H

#include <stdbool.h>
#include <stddef.h>

/* One file setting: borrowed path (NULL: unset) and the name an error gives
 * it ("--tls-cert-path", "CACHE_TLS_CERT_PATH", ...). */
struct config_tls_file {
    const char *path;
    const char *name;
};

/* Checks cert and key, and ca unless it is NULL (client auth off). Returns
 * true, or false with one line in err naming the setting at fault. */
bool config_tls_check(const struct config_tls_file *cert,
                      const struct config_tls_file *key,
                      const struct config_tls_file *ca, char *err,
                      size_t errlen);

/* Checks the files that have a path: cert with key (which must have one
 * then), and ca unless it is NULL. The clients' check, where each is
 * optional. Same results as config_tls_check(). */
bool config_tls_check_files(const struct config_tls_file *cert,
                            const struct config_tls_file *key,
                            const struct config_tls_file *ca, char *err,
                            size_t errlen);

#endif
