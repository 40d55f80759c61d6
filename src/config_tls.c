/*
 * config_tls.c: the TLS files are readable PEM, the key matches the
 * certificate and OpenSSL takes the pair for a TLS context (its security
 * level refuses, e.g., an RSA key under 2048 bits), so a bad file stops
 * startup with exit 2 before anything binds instead of failing later
 * inside gRPC. The daemon and the clients (client.c) check alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config_tls.h"
#include "log.h"

#define TLS_SHOW_MAX 128 /* path bytes quoted in an error */
#define TLS_SHOW_LEN (TLS_SHOW_MAX * 4 + 4)

/* Writes "<name>: '<path>' <message>" into err. */
static TC_PRINTF(4, 5) void config_tls_fail(char *err, size_t errlen,
                                            const struct config_tls_file *f,
                                            const char *fmt, ...)
{
    char show[TLS_SHOW_LEN];
    va_list ap;
    int n;

    log_escape(f->path, strlen(f->path), TLS_SHOW_MAX, show, sizeof show);
    n = snprintf(err, errlen, "%s: '%s' ", f->name, show);
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Opens f's path for reading as a BIO; NULL with err filled on failure. */
static BIO *
config_tls_open(const struct config_tls_file *f, char *err, size_t errlen)
{
    struct stat st;
    FILE *fp;
    BIO *bio;
    /* O_NONBLOCK: a FIFO is refused below, not waited on */
    int fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0) {
        config_tls_fail(err, errlen, f, "cannot be read: %s", strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        config_tls_fail(err, errlen, f, "is not a regular file");
        close(fd);
        return NULL;
    }
    if ((fp = fdopen(fd, "r")) == NULL) {
        config_tls_fail(err, errlen, f, "cannot be read: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    bio = BIO_new_fp(fp, BIO_CLOSE);
    if (bio == NULL) {
        config_tls_fail(err, errlen, f, "cannot be read: out of memory");
        fclose(fp);
    }
    return bio;
}

/* Never asks for a passphrase: an encrypted key is refused. */
static int
config_tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* Reads the first PEM certificate of f; NULL with err filled. The caller
 * frees the certificate. */
static X509 *
config_tls_read_cert(const struct config_tls_file *f, char *err, size_t errlen)
{
    BIO *bio = config_tls_open(f, err, errlen);
    X509 *x;

    if (bio == NULL)
        return NULL;
    x = PEM_read_bio_X509(bio, NULL, config_tls_no_passphrase, NULL);
    BIO_free(bio);
    if (x == NULL)
        config_tls_fail(err, errlen, f, "holds no PEM certificate");
    return x;
}

/* Reads the first unencrypted PEM private key of f; NULL with err filled.
 * The caller frees the key. */
static EVP_PKEY *
config_tls_read_key(const struct config_tls_file *f, char *err, size_t errlen)
{
    BIO *bio = config_tls_open(f, err, errlen);
    EVP_PKEY *k;

    if (bio == NULL)
        return NULL;
    k = PEM_read_bio_PrivateKey(bio, NULL, config_tls_no_passphrase, NULL);
    BIO_free(bio);
    if (k == NULL)
        config_tls_fail(err, errlen, f, "holds no unencrypted PEM private key");
    return k;
}

/* The reason of OpenSSL's last error, for a message. */
static const char *
config_tls_reason(void)
{
    const char *r = ERR_reason_error_string(ERR_peek_last_error());

    return r != NULL ? r : "no reason given";
}

/* OpenSSL takes cert and key into a TLS context, as gRPC's use of it
 * will: the checks of its security level (key sizes, signature digests)
 * are made there, not by parsing. */
static bool
config_tls_check_use(X509 *cert, EVP_PKEY *key,
                     const struct config_tls_file *cf,
                     const struct config_tls_file *kf, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    bool ok = false;

    if (ctx == NULL)
        config_tls_fail(err, errlen, cf, "cannot be checked: out of memory");
    else if (SSL_CTX_use_certificate(ctx, cert) != 1)
        config_tls_fail(err, errlen, cf, "is refused by OpenSSL: %s",
                        config_tls_reason());
    else if (SSL_CTX_use_PrivateKey(ctx, key) != 1)
        config_tls_fail(err, errlen, kf, "is refused by OpenSSL: %s",
                        config_tls_reason());
    else
        ok = true;
    SSL_CTX_free(ctx);
    return ok;
}

/* Certificate and key parse, belong together and are usable. */
static bool
config_tls_check_pair(const struct config_tls_file *cf,
                      const struct config_tls_file *kf, char *err,
                      size_t errlen)
{
    EVP_PKEY *key = NULL;
    X509 *cert;
    bool ok = false;

    cert = config_tls_read_cert(cf, err, errlen);
    if (cert != NULL)
        key = config_tls_read_key(kf, err, errlen);
    if (key != NULL) {
        ok = X509_check_private_key(cert, key) == 1;
        if (!ok)
            config_tls_fail(err, errlen, kf, "does not match the certificate");
        else
            ok = config_tls_check_use(cert, key, cf, kf, err, errlen);
    }
    EVP_PKEY_free(key);
    X509_free(cert);
    return ok;
}

/* False with err filled when f has no path. */
static bool
config_tls_present(const struct config_tls_file *f, const char *why, char *err,
                   size_t errlen)
{
    if (f->path == NULL)
        snprintf(err, errlen, "%s: required when %s", f->name, why);
    return f->path != NULL;
}

bool
config_tls_check_files(const struct config_tls_file *cert,
                       const struct config_tls_file *key,
                       const struct config_tls_file *ca, char *err,
                       size_t errlen)
{
    X509 *x;
    bool ok = true;

    if (cert->path != NULL)
        ok = config_tls_present(key, "a certificate is given", err, errlen) &&
             config_tls_check_pair(cert, key, err, errlen);
    if (ok && ca != NULL && ca->path != NULL) {
        x = config_tls_read_cert(ca, err, errlen);
        ok = x != NULL;
        X509_free(x);
    }
    ERR_clear_error();
    return ok;
}

bool
config_tls_check(const struct config_tls_file *cert,
                 const struct config_tls_file *key,
                 const struct config_tls_file *ca, char *err, size_t errlen)
{
    return config_tls_present(cert, "TLS is enabled", err, errlen) &&
           config_tls_present(key, "TLS is enabled", err, errlen) &&
           (ca == NULL ||
            config_tls_present(ca, "client auth is required", err, errlen)) &&
           config_tls_check_files(cert, key, ca, err, errlen);
}
