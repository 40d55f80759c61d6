/*
 * cli.c: tiny-cache-cli, one call to a tiny-cached server per run.
 *
 * Global options come before the command; each command takes its own.
 * The exit status tells a script what happened (see tiny-cache-cli(1)):
 * 0 success, 1 key not found, NOT_SERVING or an item of a batch failed,
 * 2 usage or local error, 3 any other error from the server, 4 no answer
 * (UNAVAILABLE or DEADLINE_EXCEEDED), 5 the condition of add or cas did
 * not hold. The commands of the second part of the API are in
 * cli_batch.c and cli_update.c.
 */
#include "tc_autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/slice.h>

#include "cache_wire.pb-c.h"
#include "cli.h"
#include "client.h"
#include "grpc/health/v1/health.pb-c.h"
#include "status_name.h"
#include "tc.h"

#define CLI_DEFAULT_TIMEOUT_S 5.0

static int cli_get(struct cli *, struct client *);
static int cli_set(struct cli *, struct client *);
static int cli_del(struct cli *, struct client *);
static int cli_stats(struct cli *, struct client *);
static int cli_health(struct cli *, struct client *);

static const struct cli_cmd cli_cmds[] = {
    {"get", "KEY", 1, 1, 1, 0, -1, cli_get},
    {"set", "KEY VALUE [--ttl S]", 2, 2, 1, CLI_CMD_TTL, 1, cli_set},
    {"del", "KEY", 1, 1, 1, 0, -1, cli_del},
    {"mget", "KEY...", 1, -1, 1, 0, -1, cli_batch_mget},
    {"mset", "KEY VALUE [KEY VALUE...] [--ttl S]", 2, -1, 2, CLI_CMD_TTL, -1,
     cli_batch_mset},
    {"mdel", "KEY...", 1, -1, 1, 0, -1, cli_batch_mdel},
    {"add", "KEY VALUE [--ttl S]", 2, 2, 1, CLI_CMD_TTL, 1, cli_update_add},
    {"cas", "KEY EXPECTED NEW [--ttl S]", 3, 3, 1, CLI_CMD_TTL, 2,
     cli_update_cas},
    {"incr", "KEY [DELTA] [--ttl S]", 1, 2, 1, CLI_CMD_TTL, -1,
     cli_update_incr},
    {"touch", "KEY TTL", 2, 2, 1, 0, -1, cli_update_touch},
    {"flush", "", 0, 0, 1, 0, -1, cli_update_flush},
    {"stats", "[--json]", 0, 0, 1, CLI_CMD_JSON, -1, cli_stats},
    {"health", "[SERVICE]", 0, 1, 1, 0, -1, cli_health},
};

static void
cli_usage(FILE *f)
{
    fprintf(f, "usage: tiny-cache-cli [-H host] [-p port] [--tls [--cacert "
               "file] [--cert file --key file]\n"
               "                      [--tls-name name]] [--timeout s] "
               "[--request-id id]\n"
               "                      [--namespace ns] [--route key] "
               "command\n"
               "commands (--namespace and --route may also follow the "
               "command):\n");
    for (size_t i = 0; i < TC_ARRAY_LEN(cli_cmds); i++)
        fprintf(f, "  %s%s%s\n", cli_cmds[i].name,
                cli_cmds[i].args[0] != '\0' ? " " : "", cli_cmds[i].args);
}

void
cli_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("tiny-cache-cli: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Report a usage error and return the usage exit status. */
static int
cli_bad_usage(void)
{
    cli_usage(stderr);
    return CLI_EXIT_USAGE;
}

static int
cli_parse_timeout(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(*out > 0) ||
        *out > 86400.0) {
        cli_fail("--timeout: '%s' is not a number of seconds (0..86400]", s);
        return -1;
    }
    return 0;
}

int
cli_parse_ttl(const char *what, const char *s, int32_t *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < INT32_MIN ||
        v > INT32_MAX) {
        cli_fail("%s: '%s' is not a number of seconds (%" PRId32 "..%" PRId32
                 ")",
                 what, s, INT32_MIN, INT32_MAX);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

enum {
    CLI_OPT_TLS = 256,
    CLI_OPT_CACERT,
    CLI_OPT_CERT,
    CLI_OPT_KEY,
    CLI_OPT_TLS_NAME,
    CLI_OPT_TIMEOUT,
    CLI_OPT_REQUEST_ID,
    CLI_OPT_HELP,
    CLI_OPT_VERSION,
    CLI_OPT_TTL,
    CLI_OPT_JSON,
    CLI_OPT_NAMESPACE,
    CLI_OPT_ROUTE,
};

static const struct option cli_global_opts[] = {
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'p'},
    {"tls", no_argument, NULL, CLI_OPT_TLS},
    {"cacert", required_argument, NULL, CLI_OPT_CACERT},
    {"cert", required_argument, NULL, CLI_OPT_CERT},
    {"key", required_argument, NULL, CLI_OPT_KEY},
    {"tls-name", required_argument, NULL, CLI_OPT_TLS_NAME},
    {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},
    {"request-id", required_argument, NULL, CLI_OPT_REQUEST_ID},
    {"namespace", required_argument, NULL, CLI_OPT_NAMESPACE},
    {"route", required_argument, NULL, CLI_OPT_ROUTE},
    {"help", no_argument, NULL, CLI_OPT_HELP},
    {"version", no_argument, NULL, CLI_OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/*
 * Apply one global option. Returns -1 to go on, else the exit status
 * main() returns at once.
 */
static int
cli_global_opt(struct cli *cli, int c)
{
    switch (c) {
    case 'H':
        cli->conn.host = optarg;
        return -1;
    case 'p':
        cli->conn.port = optarg;
        return -1;
    case CLI_OPT_TLS:
        cli->conn.tls = true;
        return -1;
    case CLI_OPT_CACERT:
        cli->conn.cacert = optarg;
        return -1;
    case CLI_OPT_CERT:
        cli->conn.cert = optarg;
        return -1;
    case CLI_OPT_KEY:
        cli->conn.key = optarg;
        return -1;
    case CLI_OPT_TLS_NAME:
        cli->conn.tls_name = optarg;
        return -1;
    case CLI_OPT_TIMEOUT:
        return cli_parse_timeout(optarg, &cli->timeout_s) ? CLI_EXIT_USAGE : -1;
    case CLI_OPT_REQUEST_ID:
        cli->meta.request_id = optarg;
        return -1;
    case CLI_OPT_NAMESPACE:
        cli->meta.ns = optarg;
        return -1;
    case CLI_OPT_ROUTE:
        cli->meta.route = optarg;
        return -1;
    case CLI_OPT_HELP:
        cli_usage(stdout);
        return CLI_EXIT_OK;
    case CLI_OPT_VERSION:
        printf("tiny-cache-cli %s\n", PACKAGE_VERSION);
        return CLI_EXIT_OK;
    default:
        return cli_bad_usage();
    }
}

/* Whether v (NULL: unset) can be sent as the metadata of option opt. */
static bool
cli_metadata_ok(const char *opt, const char *v)
{
    if (v == NULL ||
        grpc_header_nonbin_value_is_legal(grpc_slice_from_static_string(v)))
        return true;
    cli_fail("%s: '%s' is not a valid metadata value", opt, v);
    return false;
}

/* Check the global options that depend on each other. */
static int
cli_check_globals(const struct cli *cli)
{
    const char *why;
    char *end;
    long port;

    errno = 0;
    port = strtol(cli->conn.port, &end, 10);
    if (errno != 0 || end == cli->conn.port || *end != '\0' || port < 1 ||
        port > 65535) {
        cli_fail("-p: '%s' is not a port (1..65535)", cli->conn.port);
        return -1;
    }
    if ((why = client_opts_tls_error(&cli->conn)) != NULL) {
        cli_fail("%s", why);
        return -1;
    }
    if (!cli_metadata_ok("--request-id", cli->meta.request_id) ||
        !cli_metadata_ok("--namespace", cli->meta.ns) ||
        !cli_metadata_ok("--route", cli->meta.route))
        return -1;
    return 0;
}

static const struct cli_cmd *
cli_find_cmd(const char *name)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(cli_cmds); i++)
        if (strcmp(cli_cmds[i].name, name) == 0)
            return &cli_cmds[i];
    return NULL;
}

static const struct option cli_cmd_opts[] = {
    {"ttl", required_argument, NULL, CLI_OPT_TTL},
    {"json", no_argument, NULL, CLI_OPT_JSON},
    {"namespace", required_argument, NULL, CLI_OPT_NAMESPACE},
    {"route", required_argument, NULL, CLI_OPT_ROUTE},
    {NULL, 0, NULL, 0},
};

/*
 * Name the option that getopt_long() answered c for, in a usage error: a
 * known option by its long name, an unknown letter by itself, an unknown
 * long option as written (arg).
 */
static void
cli_bad_cmd_opt(const struct cli *cli, int c, const char *arg)
{
    int val = c == '?' || c == ':' ? optopt : c;

    for (const struct option *o = cli_cmd_opts; o->name != NULL; o++) {
        if (o->val != val)
            continue;
        if (c == ':')
            cli_fail("%s: option '--%s' needs a value", cli->cmd->name,
                     o->name);
        else
            cli_fail("%s: bad option '--%s'", cli->cmd->name, o->name);
        return;
    }
    if (val != 0)
        cli_fail("%s: bad option '-%c'", cli->cmd->name, val);
    else
        cli_fail("%s: bad option '%s'", cli->cmd->name, arg);
}

/* Apply one option of the command. Returns 0 or -1 (usage error). */
static int
cli_cmd_opt(struct cli *cli, int c, const char *arg)
{
    unsigned allowed = cli->cmd->opts;

    if (c == CLI_OPT_TTL && (allowed & CLI_CMD_TTL))
        return cli_parse_ttl("--ttl", optarg, &cli->ttl_s);
    if (c == CLI_OPT_JSON && (allowed & CLI_CMD_JSON)) {
        cli->json = true;
        return 0;
    }
    if (c == CLI_OPT_NAMESPACE) {
        cli->meta.ns = optarg;
        return 0;
    }
    if (c == CLI_OPT_ROUTE) {
        cli->meta.route = optarg;
        return 0;
    }
    cli_bad_cmd_opt(cli, c, arg);
    return -1;
}

/* Parse "COMMAND ARGS..." in argv. Returns 0 or -1 (usage error). */
static int
cli_parse_cmd(struct cli *cli, int argc, char **argv)
{
    const struct cli_cmd *cmd;
    int c, n;

    if (argc < 1 || (cli->cmd = cli_find_cmd(argv[0])) == NULL) {
        if (argc >= 1)
            cli_fail("unknown command '%s'", argv[0]);
        return -1;
    }
    cmd = cli->cmd;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":", cli_cmd_opts, NULL)) != -1)
        if (cli_cmd_opt(cli, c, argv[optind - 1]) != 0)
            return -1;
    n = argc - optind;
    if (n < cmd->min_args || (cmd->max_args >= 0 && n > cmd->max_args) ||
        n % cmd->arg_step != 0) {
        cli_fail("usage: %s %s", cmd->name, cmd->args);
        return -1;
    }
    cli->arg = argv + optind;
    cli->nargs = n;
    return 0;
}

/* Read all of standard input into cli->value. Returns 0 or -1. */
static int
cli_read_stdin(struct cli *cli)
{
    size_t cap = 0;

    for (;;) {
        if (cap - cli->value_len < 65536) {
            uint8_t *nv = realloc(cli->value, cap = cap * 2 + 65536);
            if (nv == NULL) {
                cli_fail("standard input: out of memory");
                return -1;
            }
            cli->value = nv;
        }
        size_t got =
            fread(cli->value + cli->value_len, 1, cap - cli->value_len, stdin);
        cli->value_len += got;
        if (got == 0)
            break;
    }
    if (ferror(stdin)) {
        cli_fail("standard input: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Take the command's VALUE from argv or standard input. Returns 0 or -1. */
static int
cli_load_value(struct cli *cli)
{
    const char *v = cli->arg[cli->cmd->value_arg];

    if (strcmp(v, "-") == 0)
        return cli_read_stdin(cli);
    cli->value_len = strlen(v);
    if ((cli->value = malloc(cli->value_len + 1)) == NULL) {
        cli_fail("out of memory");
        return -1;
    }
    memcpy(cli->value, v, cli->value_len);
    return 0;
}

/* Parse argv into cli. Returns -1 to go on, else an exit status. */
static int
cli_parse(struct cli *cli, int argc, char **argv)
{
    int c, rc;

    cli->conn.host = "127.0.0.1";
    cli->conn.port = "50051";
    cli->timeout_s = CLI_DEFAULT_TIMEOUT_S;
    while ((c = getopt_long(argc, argv, "+H:p:", cli_global_opts, NULL)) != -1)
        if ((rc = cli_global_opt(cli, c)) >= 0)
            return rc;
    if (cli_parse_cmd(cli, argc - optind, argv + optind) != 0 ||
        cli_check_globals(cli) != 0)
        return cli_bad_usage();
    if (cli->cmd->value_arg >= 0 && cli_load_value(cli) != 0)
        return CLI_EXIT_USAGE;
    return -1;
}

/*
 * Make the call and map a failed status to an exit status (the message on
 * stderr). Returns 0 when the server answered OK with a body in reply.
 */
static int
cli_call(struct cli *cli, struct client *c, enum rpc_method m,
         const uint8_t *req, size_t req_len, struct client_reply *reply)
{
    client_unary(c, m, req, req_len, &cli->meta, cli->timeout_s, reply);
    cli->status = reply->status;
    if (reply->status == GRPC_STATUS_OK)
        return 0;
    fprintf(stderr, "tiny-cache-cli: %s (%d): %s", status_name(reply->status),
            (int)reply->status, reply->details ? reply->details : "");
    if (reply->request_id[0] != '\0')
        fprintf(stderr, " [request_id=%s]", reply->request_id);
    fputc('\n', stderr);
    if (reply->status == GRPC_STATUS_UNAVAILABLE ||
        reply->status == GRPC_STATUS_DEADLINE_EXCEEDED)
        return CLI_EXIT_UNREACHABLE;
    return CLI_EXIT_SERVER;
}

/* cli_call(), then unpack the answer as a message of d into *out. */
static int
cli_call_unpack(struct cli *cli, struct client *c, enum rpc_method m,
                const uint8_t *req, size_t len,
                const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    struct client_reply reply;
    int rc = cli_call(cli, c, m, req, len, &reply);

    if (rc == 0 && (*out = protobuf_c_message_unpack(d, NULL, reply.body_len,
                                                     reply.body)) == NULL) {
        cli_fail("the server's response does not decode");
        rc = CLI_EXIT_SERVER;
    }
    client_reply_fini(&reply);
    return rc;
}

int
cli_request(struct cli *cli, struct client *c, enum rpc_method m, uint8_t *req,
            size_t len, const ProtobufCMessageDescriptor *d,
            ProtobufCMessage **out)
{
    int rc;

    if (req == NULL) {
        cli_fail("out of memory");
        return CLI_EXIT_USAGE;
    }
    rc = cli_call_unpack(cli, c, m, req, len, d, out);
    free(req);
    return rc;
}

int
cli_request_empty(struct cli *cli, struct client *c, enum rpc_method m,
                  const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    return cli_call_unpack(cli, c, m, NULL, 0, d, out);
}

int
cli_flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_fail("standard output: %s", strerror(errno));
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int
cli_write_stdout(const uint8_t *p, size_t n)
{
    if (n > 0 && fwrite(p, 1, n, stdout) != n) {
        cli_fail("standard output: %s", strerror(errno));
        return CLI_EXIT_USAGE;
    }
    return cli_flush_stdout();
}

static int
cli_get(struct cli *cli, struct client *c)
{
    ProtobufCMessage *msg;
    const Cache__CacheValue *v;
    size_t len;
    uint8_t *req = client_encode_key(cli->arg[0], strlen(cli->arg[0]), &len);
    int rc = cli_request(cli, c, RPC_GET, req, len,
                         &cache__cache_value__descriptor, &msg);

    if (rc != 0)
        return rc;
    v = (const Cache__CacheValue *)msg;
    if (v->found)
        rc = cli_write_stdout(v->value.data, v->value.len);
    else
        rc = CLI_EXIT_MISS;
    protobuf_c_message_free_unpacked(msg, NULL);
    return rc;
}

/* Set and Delete answer CacheResponse; check it says OK. */
static int
cli_status_call(struct cli *cli, struct client *c, enum rpc_method m,
                uint8_t *req, size_t len)
{
    ProtobufCMessage *msg;
    int rc = cli_request(cli, c, m, req, len,
                         &cache__cache_response__descriptor, &msg);

    if (rc != 0)
        return rc;
    if (((const Cache__CacheResponse *)msg)->status !=
        CACHE__CACHE_STATUS__OK) {
        cli_fail("the server answered status %d",
                 (int)((const Cache__CacheResponse *)msg)->status);
        rc = CLI_EXIT_SERVER;
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    return rc;
}

static int
cli_set(struct cli *cli, struct client *c)
{
    size_t len;
    uint8_t *req =
        client_encode_item(cli->arg[0], strlen(cli->arg[0]), cli->value,
                           cli->value_len, cli->ttl_s, &len);

    return cli_status_call(cli, c, RPC_SET, req, len);
}

static int
cli_del(struct cli *cli, struct client *c)
{
    size_t len;
    uint8_t *req = client_encode_key(cli->arg[0], strlen(cli->arg[0]), &len);

    return cli_status_call(cli, c, RPC_DELETE, req, len);
}

/* Print a double field: %.6g, or in JSON null when it is not finite (a
 * NaN or an infinity, which JSON has no number for). */
static void
cli_print_double(double v, bool json)
{
    if (json && !isfinite(v))
        fputs("null", stdout);
    else
        printf("%.6g", v);
}

/* Print every CacheStats field by its proto name, as text or JSON. */
static void
cli_print_stats(const Cache__CacheStats *s, bool json)
{
    const ProtobufCMessageDescriptor *d = &cache__cache_stats__descriptor;

    if (json)
        fputc('{', stdout);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *p = (const char *)s + f->offset;
        const char *sep = i + 1 < d->n_fields ? "," : "";

        if (json)
            printf("\"%s\":", f->name);
        else
            printf("%-18s ", f->name);
        if (f->type == PROTOBUF_C_TYPE_DOUBLE)
            cli_print_double(*(const double *)(const void *)p, json);
        else
            printf("%" PRId64, *(const int64_t *)(const void *)p);
        fputs(json ? sep : "\n", stdout);
    }
    if (json)
        fputs("}\n", stdout);
}

static int
cli_stats(struct cli *cli, struct client *c)
{
    ProtobufCMessage *msg;
    int rc = cli_request_empty(cli, c, RPC_STATS,
                               &cache__cache_stats__descriptor, &msg);

    if (rc != 0)
        return rc;
    cli_print_stats((const Cache__CacheStats *)msg, cli->json);
    protobuf_c_message_free_unpacked(msg, NULL);
    return cli_flush_stdout();
}

static const char *
cli_serving_name(Grpc__Health__V1__HealthCheckResponse__ServingStatus st)
{
    switch (st) {
    case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING:
        return "SERVING";
    case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING:
        return "NOT_SERVING";
    case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN:
        return "SERVICE_UNKNOWN";
    default:
        return "UNKNOWN";
    }
}

static int
cli_health(struct cli *cli, struct client *c)
{
    const Grpc__Health__V1__HealthCheckResponse *h;
    ProtobufCMessage *msg;
    size_t len;
    uint8_t *req =
        client_encode_health(cli->nargs > 0 ? cli->arg[0] : "", &len);
    int rc =
        cli_request(cli, c, RPC_HEALTH_CHECK, req, len,
                    &grpc__health__v1__health_check_response__descriptor, &msg);

    if (rc != 0)
        return rc;
    h = (const Grpc__Health__V1__HealthCheckResponse *)msg;
    printf("%s\n", cli_serving_name(h->status));
    rc =
        h->status ==
                GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
            ? CLI_EXIT_OK
            : CLI_EXIT_MISS;
    protobuf_c_message_free_unpacked(msg, NULL);
    return cli_flush_stdout() != CLI_EXIT_OK ? CLI_EXIT_USAGE : rc;
}

int
main(int argc, char **argv)
{
    struct cli cli = {0};
    struct client *c;
    char err[512];
    int rc;

    if ((rc = cli_parse(&cli, argc, argv)) >= 0) {
        free(cli.value);
        return rc;
    }
    client_global_init();
    if ((c = client_create(&cli.conn, err, sizeof err)) == NULL) {
        cli_fail("%s", err);
        rc = CLI_EXIT_USAGE;
    } else {
        rc = cli.cmd->exec(&cli, c);
        client_destroy(c);
    }
    client_global_fini();
    free(cli.value);
    return rc;
}
